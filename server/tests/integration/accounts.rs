//! Sign-in, sessions and rights, through the real server over HTTP, on both backends.

use crate::support;

use app::error::AppError;
use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, Client, TestApp};

const PASSWORD: &str = "a long enough password";

/// root → A (→ A1) and B; logins with each kind of reach.
struct World {
    a: i64,
    a1: i64,
    b: i64,
    a_admin: i64,
    a_pda: i64,
}

async fn create_login(admin: &Client, institution: i64, login: &str, rights: Value) -> i64 {
    admin
        .call("create_login", json!({"institution": institution, "login": login, "password": PASSWORD, "rights": rights}))
        .await
        .unwrap_or_else(|e| panic!("create {login}: {e}"))
        .as_i64()
        .expect("login id")
}

async fn create_institution(client: &Client, parent: i64, name: &str) -> i64 {
    client
        .call("create_institution", json!({"parent": parent, "name": name}))
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"))["id"]
        .as_i64()
        .expect("institution id")
}

async fn world(app: &TestApp) -> World {
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id.0;
    let a = create_institution(&admin, root, "Arena A").await;
    let a1 = create_institution(&admin, a, "Hall A1").await;
    let b = create_institution(&admin, root, "Club B").await;
    let a_admin = create_login(&admin, a, "a.admin", json!({"admin": true, "pda": false, "backoffice": true})).await;
    let a_pda = create_login(&admin, a, "a.pda", json!({"admin": false, "pda": true, "backoffice": false})).await;
    create_login(&admin, a, "a.office", json!({"admin": false, "pda": false, "backoffice": true})).await;
    create_login(&admin, b, "b.admin", json!({"admin": true, "pda": true, "backoffice": true})).await;
    let b_master = create_login(&admin, b, "b.master", json!({"admin": false, "pda": false, "backoffice": false})).await;
    admin.call("set_master", json!({"login_id": b_master, "branch": b})).await.expect("grant master");
    World { a, a1, b, a_admin, a_pda }
}

async fn sign_in_and_one_live_session(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let anonymous = app.client();
    assert_eq!(anonymous.call("whoami", json!({})).await, Err(AppError::NotSignedIn));
    assert_eq!(
        anonymous.call("sign_in", json!({"login": "admin", "password": "wrong password!"})).await,
        Err(AppError::WrongCredentials)
    );
    assert_eq!(
        anonymous.call("sign_in", json!({"login": "nobody", "password": "wrong password!"})).await,
        Err(AppError::WrongCredentials),
        "an unknown login looks like a wrong password"
    );

    let first = app.signed_in("Admin", ADMIN_PASSWORD).await;
    let me = first.call("whoami", json!({})).await.expect("whoami");
    assert_eq!((me["login"].as_str(), me["root_master"].as_bool()), (Some("admin"), Some(true)));

    let second = app.signed_in("admin", ADMIN_PASSWORD).await;
    assert_eq!(first.call("whoami", json!({})).await, Err(AppError::SignedInElsewhere));
    assert!(second.call("whoami", json!({})).await.is_ok());

    second.call("sign_out", json!({})).await.expect("sign out");
    assert_eq!(second.call("whoami", json!({})).await, Err(AppError::NotSignedIn));
}
on_both_backends!(sign_in_and_one_live_session);

async fn sign_in_attempts_are_throttled(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let client = app.client();
    for _ in 0..5 {
        assert_eq!(
            client.call("sign_in", json!({"login": "admin", "password": "not the password"})).await,
            Err(AppError::WrongCredentials)
        );
    }
    assert_eq!(
        client.call("sign_in", json!({"login": "admin", "password": ADMIN_PASSWORD})).await,
        Err(AppError::TooManyAttempts { retry_after_secs: 1 }),
        "even the right password waits out the delay"
    );
    // The delay is a second, not a quarter of an hour: a steward who mistyped gets in.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    client.call("sign_in", json!({"login": "admin", "password": ADMIN_PASSWORD})).await.expect("signed in after the delay");
    // And a success forgets the failures.
    for _ in 0..5 {
        assert_eq!(
            client.call("sign_in", json!({"login": "admin", "password": "not the password"})).await,
            Err(AppError::WrongCredentials)
        );
    }
}
on_both_backends!(sign_in_attempts_are_throttled);

/// Finding 2 of the security review: 40 concurrent guesses all had their password checked.
async fn a_burst_of_guesses_gets_five_checks(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..40 {
        let client = app.client();
        guesses.spawn(async move { client.call("sign_in", json!({"login": "admin", "password": format!("guess number {i}")})).await });
    }
    let answers = guesses.join_all().await;
    let checked = answers.iter().filter(|a| **a == Err(AppError::WrongCredentials)).count();
    let delayed = answers.iter().filter(|a| matches!(a, Err(AppError::TooManyAttempts { .. }))).count();
    assert_eq!((checked, delayed), (5, 35), "{answers:?}");
}
on_both_backends!(a_burst_of_guesses_gets_five_checks);

/// Finding 9: a guesser at one address must not keep the login's owner out at another, and
/// behind a proxy the address is the one the proxy saw, not one the client wrote.
async fn a_guesser_elsewhere_delays_nobody_else(backend: support::Backend) {
    let trust = app::backend::client::ClientTrust {
        proxies: app::backend::client::ClientTrust::parse_proxies("127.0.0.1").expect("proxy"),
        ..Default::default()
    };
    let Some(app) = support::spawn_app_trusting(backend, trust).await else { return };
    let guesser = app.client_with_headers(&[("x-forwarded-for", "203.0.113.9")]);
    for i in 0..12 {
        let _ = guesser.call("sign_in", json!({"login": "admin", "password": format!("guess number {i}")})).await;
    }
    assert!(matches!(
        guesser.call("sign_in", json!({"login": "admin", "password": ADMIN_PASSWORD})).await,
        Err(AppError::TooManyAttempts { .. })
    ));
    let owner = app.client_with_headers(&[("x-forwarded-for", "198.51.100.7")]);
    owner.call("sign_in", json!({"login": "admin", "password": ADMIN_PASSWORD})).await.expect("the owner, at another address, signs in");

    // Without a trusted proxy the header is the client's own words: every guess counts on the
    // socket's address, whatever address it claims.
    let Some(app) = support::spawn_app(backend).await else { return };
    for i in 0..5 {
        let forger = app.client_with_headers(&[("x-forwarded-for", "10.9.9.9")]);
        let claimed = format!("192.0.2.{i}");
        let forger = if i % 2 == 0 { app.client_with_headers(&[("x-forwarded-for", &claimed)]) } else { forger };
        let _ = forger.call("sign_in", json!({"login": "admin", "password": "not the password"})).await;
    }
    let forger = app.client_with_headers(&[("x-forwarded-for", "192.0.2.200")]);
    assert!(matches!(
        forger.call("sign_in", json!({"login": "admin", "password": "not the password"})).await,
        Err(AppError::TooManyAttempts { .. })
    ));
}
on_both_backends!(a_guesser_elsewhere_delays_nobody_else);

/// A Master lifts a login's delays; an admin who is not Master may not.
async fn a_master_clears_a_logins_delays(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = world(&app).await;
    let guesser = app.client();
    for _ in 0..12 {
        let _ = guesser.call("sign_in", json!({"login": "a.pda", "password": "not the password"})).await;
    }
    assert!(matches!(
        app.client().call("sign_in", json!({"login": "a.pda", "password": PASSWORD})).await,
        Err(AppError::TooManyAttempts { .. })
    ));
    let a_admin = app.signed_in("a.admin", PASSWORD).await;
    assert_eq!(a_admin.call("clear_signin_delays", json!({"login_id": w.a_pda})).await, Err(AppError::Forbidden));
    let b_master = app.signed_in("b.master", PASSWORD).await;
    assert_eq!(b_master.call("clear_signin_delays", json!({"login_id": w.a_pda})).await, Err(AppError::Forbidden));
    let root = app.signed_in("admin", ADMIN_PASSWORD).await;
    assert_eq!(root.call("clear_signin_delays", json!({"login_id": w.a_pda})).await, Ok(json!(1)));
    app.signed_in("a.pda", PASSWORD).await;
}
on_both_backends!(a_master_clears_a_logins_delays);

/// Finding 18: the cookie is `Secure` when a trusted proxy says the browser came over https,
/// and only then.
async fn the_session_cookie_is_secure_behind_https(backend: support::Backend) {
    async fn cookie(app: &TestApp, proto: &str) -> String {
        let response = reqwest::Client::new()
            .post(format!("{}/api/sign_in", app.base_url))
            .header("x-forwarded-proto", proto)
            .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("sign in");
        assert!(response.status().is_success());
        response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }
    let trust = app::backend::client::ClientTrust {
        proxies: app::backend::client::ClientTrust::parse_proxies("127.0.0.1").expect("proxy"),
        ..Default::default()
    };
    let Some(behind_proxy) = support::spawn_app_trusting(backend, trust).await else { return };
    assert!(cookie(&behind_proxy, "https").await.contains("; Secure"));
    assert!(!cookie(&behind_proxy, "http").await.contains("; Secure"));
    let Some(direct) = support::spawn_app(backend).await else { return };
    assert!(!cookie(&direct, "https").await.contains("; Secure"), "an unproxied client cannot ask for it");
}
on_both_backends!(the_session_cookie_is_secure_behind_https);

async fn disabled_logins_and_replaced_passwords(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = world(&app).await;
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let pda = app.signed_in("a.pda", PASSWORD).await;

    admin.call("set_login_disabled", json!({"login_id": w.a_pda, "disabled": true})).await.expect("disable");
    assert_eq!(pda.call("whoami", json!({})).await, Err(AppError::NotSignedIn));
    assert_eq!(
        app.client().call("sign_in", json!({"login": "a.pda", "password": PASSWORD})).await,
        Err(AppError::WrongCredentials),
        "a disabled login answers as a wrong password does: the guesser learns nothing"
    );
    admin.call("set_login_disabled", json!({"login_id": w.a_pda, "disabled": false})).await.expect("enable");

    let a_admin = app.signed_in("a.admin", PASSWORD).await;
    a_admin
        .call("reset_password", json!({"login_id": w.a_pda, "password": "a brand new password"}))
        .await
        .expect("an admin of A replaces the password of a login of A");
    assert_eq!(
        app.client().call("sign_in", json!({"login": "a.pda", "password": PASSWORD})).await,
        Err(AppError::WrongCredentials)
    );
    app.signed_in("a.pda", "a brand new password").await;
    assert!(matches!(
        a_admin.call("reset_password", json!({"login_id": w.a_pda, "password": "short"})).await,
        Err(AppError::InvalidInput { .. })
    ));
}
on_both_backends!(disabled_logins_and_replaced_passwords);

async fn the_back_office_reopens_where_it_was_left(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = world(&app).await;
    let admin = app.signed_in("a.admin", PASSWORD).await;
    admin.call("open_institution", json!({"id": w.a})).await.expect("open");
    let again = app.signed_in("a.admin", PASSWORD).await;
    assert_eq!(again.call("whoami", json!({})).await.expect("whoami")["last_institution"], json!(w.a));
    let listed = again.call("list_institutions", json!({})).await.expect("list");
    let ids: Vec<i64> = listed.as_array().expect("list").iter().filter_map(|i| i["id"].as_i64()).collect();
    assert_eq!(ids, vec![w.a], "an admin of A sees A only, not B nor root");
    let _ = (w.a1, w.b, w.a_admin);
}
on_both_backends!(the_back_office_reopens_where_it_was_left);

/// Everything an administrator of A could see: compared before and after refused calls.
async fn snapshot(admin: &Client, w: &World) -> Value {
    json!({
        "institutions": admin.call("list_institutions", json!({})).await.expect("list"),
        "members_a": admin.call("list_members", json!({"institution": w.a})).await.expect("members"),
        "members_a1": admin.call("list_members", json!({"institution": w.a1})).await.expect("members"),
    })
}

/// Every server function that acts on A, called by a login of another branch and by logins of
/// A without the needed flag: each is refused and nothing changes.
async fn authorization_matrix(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = world(&app).await;
    let root_admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let before = snapshot(&root_admin, &w).await;

    let calls: Vec<(&str, Value)> = vec![
        ("create_institution", json!({"parent": w.a, "name": "Intruder"})),
        ("rename_institution", json!({"id": w.a, "name": "Renamed"})),
        ("rename_institution", json!({"id": w.a1, "name": "Renamed"})),
        ("open_institution", json!({"id": w.a1})),
        ("list_members", json!({"institution": w.a})),
        ("add_member", json!({"institution": w.a, "login": "b.admin", "rights": {"admin": true, "pda": true, "backoffice": true}})),
        ("create_login", json!({"institution": w.a, "login": "intruder", "password": PASSWORD, "rights": {"admin": true, "pda": true, "backoffice": true}})),
        ("set_rights", json!({"institution": w.a, "login_id": w.a_pda, "rights": {"admin": true, "pda": true, "backoffice": true}})),
        ("set_login_disabled", json!({"login_id": w.a_pda, "disabled": true})),
        ("reset_password", json!({"login_id": w.a_pda, "password": "taken over password"})),
        ("set_master", json!({"login_id": w.a_admin, "branch": w.a})),
    ];
    // Other branch: B's administrator and B's Master. Missing flag: A's scanner-only login and
    // A's back-office login without admin (it may open A, so `open_institution` on A1 is the
    // one it is refused there).
    let outsiders = ["b.admin", "b.master", "a.pda", "a.office"];
    for who in outsiders {
        let client = app.signed_in(who, PASSWORD).await;
        for (function, args) in &calls {
            let answer = client.call(function, args.clone()).await;
            assert_eq!(answer, Err(AppError::Forbidden), "{who} calling {function}({args})");
        }
        if who.starts_with("b.") {
            let seen = client.call("list_institutions", json!({})).await.expect("list");
            let ids: Vec<i64> = seen.as_array().expect("list").iter().filter_map(|i| i["id"].as_i64()).collect();
            assert!(!ids.contains(&w.a) && !ids.contains(&w.a1), "{who} must not see A: {ids:?}");
        }
    }
    assert_eq!(snapshot(&root_admin, &w).await, before, "refused calls changed nothing");
    assert_eq!(
        app.client().call("list_members", json!({"institution": w.a})).await,
        Err(AppError::NotSignedIn)
    );

    // And the same calls succeed for those who hold the right, so the refusals above are not
    // refusals of everything.
    let a_admin = app.signed_in("a.admin", PASSWORD).await;
    a_admin.call("list_members", json!({"institution": w.a})).await.expect("admin of A lists A's users");
    a_admin
        .call("set_rights", json!({"institution": w.a, "login_id": w.a_pda, "rights": {"admin": false, "pda": true, "backoffice": true}}))
        .await
        .expect("admin of A sets rights in A");
    create_institution(&root_admin, w.a, "Allowed").await;
}
on_both_backends!(authorization_matrix);

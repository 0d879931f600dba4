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
    assert!(matches!(
        client.call("sign_in", json!({"login": "admin", "password": ADMIN_PASSWORD})).await,
        Err(AppError::TooManyAttempts { .. })
    ), "even the right password waits once the login is throttled");
}
on_both_backends!(sign_in_attempts_are_throttled);

async fn disabled_logins_and_replaced_passwords(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = world(&app).await;
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let pda = app.signed_in("a.pda", PASSWORD).await;

    admin.call("set_login_disabled", json!({"login_id": w.a_pda, "disabled": true})).await.expect("disable");
    assert_eq!(pda.call("whoami", json!({})).await, Err(AppError::NotSignedIn));
    assert_eq!(
        app.client().call("sign_in", json!({"login": "a.pda", "password": PASSWORD})).await,
        Err(AppError::LoginDisabled)
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

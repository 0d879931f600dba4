//! Sign-in, sessions and rights, through the real server over HTTP, on both backends.

use crate::support;

use app::domain::{InstitutionId, LoginId, Rights};
use app::engine::{Mode, PerformanceId};
use app::error::AppError;
use app::sync::protocol::{Door, ScanRequest};
use serde_json::{Value, json};
use support::api::{
    AddMember, AddableLogins, ChangePassword, ClearSigninDelays, CreateInstitution, CreateLogin, ListInstitutions,
    ListMembers, OpenInstitution, RemoveMember, ResetPassword, Scan, ScanDeadline, SetLoginDisabled, SetMaster, SetRights,
    SetScanDeadline, SignIn, SignOut, SyncSnapshot, Whoami,
};
use support::world::{CLERK, DOOR};
use support::{ADMIN_PASSWORD, Client, PASSWORD, TestApp};

/// root → A (→ A1) and B; logins with each kind of reach.
struct Branches {
    a: InstitutionId,
    a1: InstitutionId,
    b: InstitutionId,
    a_admin: LoginId,
    a_pda: LoginId,
}

const ALL_RIGHTS: Rights = Rights { admin: true, pda: true, backoffice: true };
const PDA_ONLY: Rights = DOOR;
const ADMIN_AND_OFFICE: Rights = Rights { admin: true, pda: false, backoffice: true };
const NO_RIGHTS: Rights = Rights { admin: false, pda: false, backoffice: false };

async fn create_login(admin: &Client, institution: InstitutionId, login: &str, rights: Rights) -> LoginId {
    admin
        .call(CreateLogin { institution, login: login.into(), password: PASSWORD.into(), rights })
        .await
        .unwrap_or_else(|e| panic!("create {login}: {e}"))
}

async fn create_institution(client: &Client, parent: InstitutionId, name: &str) -> InstitutionId {
    client
        .call(CreateInstitution { parent, name: name.into() })
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"))
        .id
}

async fn branches(app: &TestApp) -> Branches {
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let a = create_institution(&admin, root, "Arena A").await;
    let a1 = create_institution(&admin, a, "Hall A1").await;
    let b = create_institution(&admin, root, "Club B").await;
    let a_admin = create_login(&admin, a, "a.admin", ADMIN_AND_OFFICE).await;
    let a_pda = create_login(&admin, a, "a.pda", PDA_ONLY).await;
    create_login(&admin, a, "a.office", CLERK).await;
    create_login(&admin, b, "b.admin", ALL_RIGHTS).await;
    let b_master = create_login(&admin, b, "b.master", NO_RIGHTS).await;
    admin.call(SetMaster { login_id: b_master, branch: Some(b) }).await.expect("grant master");
    Branches { a, a1, b, a_admin, a_pda }
}

async fn sign_in_and_one_live_session(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let anonymous = app.client();
    assert_eq!(anonymous.call(Whoami {}).await, Err(AppError::NotSignedIn));
    assert_eq!(
        anonymous.call(SignIn { login: "admin".into(), password: "wrong password!".into() }).await,
        Err(AppError::WrongCredentials)
    );
    assert_eq!(
        anonymous.call(SignIn { login: "nobody".into(), password: "wrong password!".into() }).await,
        Err(AppError::WrongCredentials),
        "an unknown login looks like a wrong password"
    );

    let first = app.signed_in("Admin", ADMIN_PASSWORD).await;
    let me = first.call(Whoami {}).await.expect("whoami");
    assert_eq!((me.login.as_str(), me.root_master), ("admin", true));

    let second = app.signed_in("admin", ADMIN_PASSWORD).await;
    assert_eq!(first.call(Whoami {}).await, Err(AppError::SignedInElsewhere));
    assert!(second.call(Whoami {}).await.is_ok());

    second.call(SignOut {}).await.expect("sign out");
    assert_eq!(second.call(Whoami {}).await, Err(AppError::NotSignedIn));
}
on_both_backends!(sign_in_and_one_live_session);

async fn sign_in_attempts_are_throttled(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let client = app.client();
    for _ in 0..5 {
        assert_eq!(
            client.call(SignIn { login: "admin".into(), password: "not the password".into() }).await,
            Err(AppError::WrongCredentials)
        );
    }
    assert_eq!(
        client.call(SignIn { login: "admin".into(), password: ADMIN_PASSWORD.into() }).await,
        Err(AppError::TooManyAttempts { retry_after_secs: 1 }),
        "even the right password waits out the delay"
    );
    // The delay is a second, not a quarter of an hour: a steward who mistyped gets in.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    client.call(SignIn { login: "admin".into(), password: ADMIN_PASSWORD.into() }).await.expect("signed in after the delay");
    // And a success forgets the failures.
    for _ in 0..5 {
        assert_eq!(
            client.call(SignIn { login: "admin".into(), password: "not the password".into() }).await,
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
        guesses.spawn(async move { client.call(SignIn { login: "admin".into(), password: format!("guess number {i}") }).await });
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
    let trust = app::ssr::client::ClientTrust {
        proxies: app::ssr::client::ClientTrust::parse_proxies("127.0.0.1").expect("proxy"),
        ..Default::default()
    };
    let Some(app) = support::spawn_app_trusting(backend, trust).await else { return };
    let guesser = app.client_with_headers(&[("x-forwarded-for", "203.0.113.9")]);
    for i in 0..12 {
        let _ = guesser.call(SignIn { login: "admin".into(), password: format!("guess number {i}") }).await;
    }
    assert!(matches!(
        guesser.call(SignIn { login: "admin".into(), password: ADMIN_PASSWORD.into() }).await,
        Err(AppError::TooManyAttempts { .. })
    ));
    let owner = app.client_with_headers(&[("x-forwarded-for", "198.51.100.7")]);
    owner.call(SignIn { login: "admin".into(), password: ADMIN_PASSWORD.into() }).await.expect("the owner, at another address, signs in");

    // Without a trusted proxy the header is the client's own words: every guess counts on the
    // socket's address, whatever address it claims.
    let Some(app) = support::spawn_app(backend).await else { return };
    for i in 0..5 {
        let forger = app.client_with_headers(&[("x-forwarded-for", "10.9.9.9")]);
        let claimed = format!("192.0.2.{i}");
        let forger = if i % 2 == 0 { app.client_with_headers(&[("x-forwarded-for", &claimed)]) } else { forger };
        let _ = forger.call(SignIn { login: "admin".into(), password: "not the password".into() }).await;
    }
    let forger = app.client_with_headers(&[("x-forwarded-for", "192.0.2.200")]);
    assert!(matches!(
        forger.call(SignIn { login: "admin".into(), password: "not the password".into() }).await,
        Err(AppError::TooManyAttempts { .. })
    ));
}
on_both_backends!(a_guesser_elsewhere_delays_nobody_else);

/// A Master lifts a login's delays; an admin who is not Master may not.
async fn a_master_clears_a_logins_delays(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = branches(&app).await;
    let guesser = app.client();
    for _ in 0..12 {
        let _ = guesser.call(SignIn { login: "a.pda".into(), password: "not the password".into() }).await;
    }
    assert!(matches!(
        app.client().call(SignIn { login: "a.pda".into(), password: PASSWORD.into() }).await,
        Err(AppError::TooManyAttempts { .. })
    ));
    let a_admin = app.signed_in("a.admin", PASSWORD).await;
    assert_eq!(a_admin.call(ClearSigninDelays { login_id: w.a_pda }).await, Err(AppError::Forbidden));
    let b_master = app.signed_in("b.master", PASSWORD).await;
    assert_eq!(b_master.call(ClearSigninDelays { login_id: w.a_pda }).await, Err(AppError::Forbidden));
    let root = app.signed_in("admin", ADMIN_PASSWORD).await;
    assert_eq!(root.call(ClearSigninDelays { login_id: w.a_pda }).await, Ok(1));
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
    let trust = app::ssr::client::ClientTrust {
        proxies: app::ssr::client::ClientTrust::parse_proxies("127.0.0.1").expect("proxy"),
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
    let w = branches(&app).await;
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let pda = app.signed_in("a.pda", PASSWORD).await;

    admin.call(SetLoginDisabled { login_id: w.a_pda, disabled: true }).await.expect("disable");
    assert_eq!(pda.call(Whoami {}).await, Err(AppError::NotSignedIn));
    assert_eq!(
        app.client().call(SignIn { login: "a.pda".into(), password: PASSWORD.into() }).await,
        Err(AppError::WrongCredentials),
        "a disabled login answers as a wrong password does: the guesser learns nothing"
    );
    admin.call(SetLoginDisabled { login_id: w.a_pda, disabled: false }).await.expect("enable");

    let a_admin = app.signed_in("a.admin", PASSWORD).await;
    a_admin
        .call(ResetPassword { login_id: w.a_pda, password: "a brand new password".into() })
        .await
        .expect("an admin of A replaces the password of a login of A");
    assert_eq!(
        app.client().call(SignIn { login: "a.pda".into(), password: PASSWORD.into() }).await,
        Err(AppError::WrongCredentials)
    );
    app.signed_in("a.pda", "a brand new password").await;
    assert!(matches!(
        a_admin.call(ResetPassword { login_id: w.a_pda, password: "short".into() }).await,
        Err(AppError::InvalidInput { .. })
    ));
}
on_both_backends!(disabled_logins_and_replaced_passwords);

async fn the_back_office_reopens_where_it_was_left(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = branches(&app).await;
    let admin = app.signed_in("a.admin", PASSWORD).await;
    admin.call(OpenInstitution { id: w.a }).await.expect("open");
    let again = app.signed_in("a.admin", PASSWORD).await;
    assert_eq!(again.call(Whoami {}).await.expect("whoami").last_institution, Some(w.a));
    let listed = again.call(ListInstitutions {}).await.expect("list");
    let ids: Vec<InstitutionId> = listed.iter().map(|i| i.id).collect();
    assert_eq!(ids, vec![w.a], "an admin of A sees A only, not B nor root");
    let _ = (w.a1, w.b, w.a_admin);
}
on_both_backends!(the_back_office_reopens_where_it_was_left);

/// Everything an administrator of A could see: compared before and after refused calls.
async fn snapshot(admin: &Client, w: &Branches) -> impl PartialEq + std::fmt::Debug {
    (
        admin.call(ListInstitutions {}).await.expect("list"),
        admin.call(ListMembers { institution: w.a }).await.expect("members"),
        admin.call(ListMembers { institution: w.a1 }).await.expect("members"),
    )
}

/// Every server function that acts on A, called by a login of another branch and by logins of
/// A without the needed flag: each is refused and nothing changes.
async fn authorization_matrix(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = branches(&app).await;
    let root_admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let before = snapshot(&root_admin, &w).await;

    // Written as the wire has them: one list for every function, whatever its arguments.
    let calls: Vec<(&str, Value)> = vec![
        ("create_institution", json!({"parent": w.a, "name": "Intruder"})),
        ("rename_institution", json!({"id": w.a, "name": "Renamed"})),
        ("rename_institution", json!({"id": w.a1, "name": "Renamed"})),
        ("open_institution", json!({"id": w.a1})),
        ("list_members", json!({"institution": w.a})),
        ("add_member", json!({"institution": w.a, "login": "b.admin", "rights": {"admin": true, "pda": true, "backoffice": true}})),
        ("addable_logins", json!({"institution": w.a})),
        ("remove_member", json!({"institution": w.a, "login_id": w.a_pda})),
        ("create_login", json!({"institution": w.a, "login": "intruder", "password": PASSWORD, "rights": {"admin": true, "pda": true, "backoffice": true}})),
        ("set_rights", json!({"institution": w.a, "login_id": w.a_pda, "rights": {"admin": true, "pda": true, "backoffice": true}})),
        ("set_login_disabled", json!({"login_id": w.a_pda, "disabled": true})),
        ("reset_password", json!({"login_id": w.a_pda, "password": "taken over password"})),
        ("set_master", json!({"login_id": w.a_admin, "branch": w.a})),
        ("clear_signin_delays", json!({"login_id": w.a_pda})),
        ("set_scan_deadline", json!({"institution": w.a, "deadline_ms": 200})),
    ];
    // Other branch: B's administrator and B's Master. Missing flag: A's scanner-only login and
    // A's back-office login without admin (it may open A, so `open_institution` on A1 is the
    // one it is refused there).
    let outsiders = ["b.admin", "b.master", "a.pda", "a.office"];
    for who in outsiders {
        let client = app.signed_in(who, PASSWORD).await;
        for (function, args) in &calls {
            let answer = client.call_json(function, args.clone()).await;
            assert_eq!(answer, Err(AppError::Forbidden), "{who} calling {function}({args})");
        }
        if who.starts_with("b.") {
            let seen = client.call(ListInstitutions {}).await.expect("list");
            let ids: Vec<InstitutionId> = seen.iter().map(|i| i.id).collect();
            assert!(!ids.contains(&w.a) && !ids.contains(&w.a1), "{who} must not see A: {ids:?}");
        }
    }
    assert_eq!(snapshot(&root_admin, &w).await, before, "refused calls changed nothing");
    let anonymous = app.client();
    assert_eq!(anonymous.call(ListMembers { institution: w.a }).await, Err(AppError::NotSignedIn));
    assert_eq!(anonymous.call(AddableLogins { institution: w.a }).await, Err(AppError::NotSignedIn));
    assert_eq!(
        anonymous.call(ChangePassword { current: PASSWORD.into(), new: "taken over password".into() }).await,
        Err(AppError::NotSignedIn)
    );
    // Each may change only their own password, and only knowing it.
    for who in outsiders {
        let client = app.signed_in(who, PASSWORD).await;
        let answer = client.call(ChangePassword { current: "a guessed password".into(), new: "taken over password".into() }).await;
        assert_eq!(answer, Err(AppError::WrongCredentials), "{who}");
    }

    // And the same calls succeed for those who hold the right, so the refusals above are not
    // refusals of everything.
    let a_admin = app.signed_in("a.admin", PASSWORD).await;
    a_admin.call(ListMembers { institution: w.a }).await.expect("admin of A lists A's users");
    a_admin.call(AddableLogins { institution: w.a }).await.expect("admin of A lists the logins to add");
    a_admin
        .call(SetRights { institution: w.a, login_id: w.a_pda, rights: Rights { admin: false, pda: true, backoffice: true } })
        .await
        .expect("admin of A sets rights in A");
    root_admin.call(AddMember { institution: w.a1, login: "a.pda".into(), rights: PDA_ONLY }).await.expect("add to A1");
    a_admin.call(RemoveMember { institution: w.a, login_id: w.a_pda }).await.expect("admin of A removes from A");
    create_institution(&root_admin, w.a, "Allowed").await;
    // The scanners' deadline: A's admin sets it, within bounds.
    assert_eq!(a_admin.call(ScanDeadline { institution: w.a }).await, Ok(400), "the default");
    assert!(matches!(
        a_admin.call(SetScanDeadline { institution: w.a, deadline_ms: 10 }).await,
        Err(AppError::InvalidInput { .. })
    ));
    a_admin.call(SetScanDeadline { institution: w.a, deadline_ms: 250 }).await.expect("admin of A sets A's deadline");
    assert_eq!(a_admin.call(ScanDeadline { institution: w.a }).await, Ok(250));
}
on_both_backends!(authorization_matrix);

fn names(listed: Vec<app::domain::LoginName>) -> Vec<String> {
    listed.iter().map(|n| n.as_str().to_owned()).collect()
}

/// An administrator adds only logins already within their reach, and cannot tell a login of
/// another institution from a name that does not exist.
async fn logins_stay_with_their_owners(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = branches(&app).await;
    let root_admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let b_pda = create_login(&root_admin, w.b, "b.pda", PDA_ONLY).await;
    let a_admin = app.signed_in("a.admin", PASSWORD).await;

    let missing = a_admin.call(AddMember { institution: w.a, login: "nobody-here".into(), rights: ALL_RIGHTS }).await;
    assert_eq!(missing, Err(AppError::NotFound));
    for foreign in ["b.pda", "b.admin", "b.master", "admin"] {
        let answer = a_admin.call(AddMember { institution: w.a, login: foreign.into(), rights: PDA_ONLY }).await;
        assert_eq!(answer, missing, "{foreign} answers as a missing name");
    }
    let b_admin = app.signed_in("b.admin", PASSWORD).await;
    b_admin
        .call(ResetPassword { login_id: b_pda, password: "b's own new password".into() })
        .await
        .expect("B still manages its login");
    b_admin.call(SetLoginDisabled { login_id: b_pda, disabled: true }).await.expect("B disables it");
    assert_eq!(
        root_admin.call(AddMember { institution: w.a, login: "b.master".into(), rights: PDA_ONLY }).await,
        Err(AppError::NotFound),
        "a Master of B is never attached to A, not even by root"
    );

    // A Master of A reaches every login of A, and may give them rights in A1.
    let a_master = create_login(&root_admin, w.a, "a.master", PDA_ONLY).await;
    root_admin.call(SetMaster { login_id: a_master, branch: Some(w.a) }).await.expect("grant master");
    let a_master = app.signed_in("a.master", PASSWORD).await;
    let addable = names(a_master.call(AddableLogins { institution: w.a1 }).await.expect("addable"));
    assert_eq!(addable, vec!["a.admin", "a.master", "a.office", "a.pda"]);
    a_master.call(AddMember { institution: w.a1, login: "A.PDA".into(), rights: PDA_ONLY }).await.expect("add a.pda to A1");
    let addable = names(a_master.call(AddableLogins { institution: w.a1 }).await.expect("addable"));
    assert_eq!(addable, vec!["a.admin", "a.master", "a.office"], "members are not offered again");
    let addable = names(root_admin.call(AddableLogins { institution: w.a }).await.expect("addable"));
    assert!(addable.contains(&"b.pda".to_owned()) && !addable.contains(&"b.master".to_owned()), "{addable:?}");
    let addable = names(a_admin.call(AddableLogins { institution: w.a }).await.expect("addable"));
    assert_eq!(addable, Vec::<String>::new(), "every login A's admin reaches is already in A");
}
on_both_backends!(logins_stay_with_their_owners);

async fn members_are_removed_by_their_administrators(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = branches(&app).await;
    let root_admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    root_admin.call(AddMember { institution: w.a1, login: "a.pda".into(), rights: PDA_ONLY }).await.expect("add");
    let a_admin = app.signed_in("a.admin", PASSWORD).await;
    let b_admin = app.signed_in("b.admin", PASSWORD).await;
    let remove = RemoveMember { institution: w.a, login_id: w.a_pda };
    assert_eq!(b_admin.call(remove.clone()).await, Err(AppError::Forbidden));
    assert_eq!(
        a_admin.call(RemoveMember { institution: w.a1, login_id: w.a_pda }).await,
        Err(AppError::Forbidden),
        "A's admin does not administer A1"
    );
    let pda = app.signed_in("a.pda", PASSWORD).await;
    a_admin.call(remove.clone()).await.expect("A's admin removes a.pda from A");
    let members = a_admin.call(ListMembers { institution: w.a }).await.expect("members");
    assert!(!members.iter().any(|m| m.login == "a.pda"), "{members:?}");
    assert_eq!(a_admin.call(remove).await, Err(AppError::NotFound), "no longer a member");
    let snapshot_of_a = pda.call(ListMembers { institution: w.a }).await;
    assert_eq!(snapshot_of_a, Err(AppError::Forbidden));
    assert_eq!(
        root_admin.call(RemoveMember { institution: w.a1, login_id: w.a_pda }).await,
        Err(AppError::Forbidden),
        "a login keeps its last institution, so someone can still disable it"
    );
}
on_both_backends!(members_are_removed_by_their_administrators);

fn scan(performance: PerformanceId, id: &str) -> Scan {
    let door = Door { performances: vec![performance], mode: Mode::SinglePass, gate: None };
    Scan { request: ScanRequest { scan_id: id.into(), barcode: "0123456789".into(), device: "door-1".into(), client_time: 0, door } }
}

async fn a_password_reset_ends_the_old_session(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = branches(&app).await;
    let performance = support::undated_performance(app.storage.as_ref(), w.a, "Tonight").await;
    app.storage.set_pda_open(performance, true).await.expect("open");
    let thief = app.signed_in("a.pda", PASSWORD).await;
    thief.call(SyncSnapshot { performance }).await.expect("the door works");
    thief.call(scan(performance, "before")).await.expect("the door's session is now cached");
    let a_admin = app.signed_in("a.admin", PASSWORD).await;
    a_admin
        .call(ResetPassword { login_id: w.a_pda, password: "a brand new password".into() })
        .await
        .expect("reset");
    assert_eq!(thief.call(Whoami {}).await, Err(AppError::NotSignedIn));
    assert_eq!(thief.call(SyncSnapshot { performance }).await, Err(AppError::NotSignedIn));
    assert_eq!(thief.call(scan(performance, "after")).await.err(), Some(AppError::NotSignedIn), "the doors' cache forgot it");
}
on_both_backends!(a_password_reset_ends_the_old_session);

/// Sessions end after an idle time and after a lifetime, whatever the activity.
async fn sessions_expire(backend: support::Backend) {
    use app::ssr::storage::{SessionActor, SessionEnd, SessionLimits};
    let Some(storage) = support::fresh_storage(backend).await else { return };
    let name = app::domain::LoginName::parse("dora").expect("name");
    let dora = storage.create_login(&name, "hash").await.expect("create");
    let limits = SessionLimits::default();
    const HOUR: i64 = 3600 * 1000;
    let live = |seen: SessionActor| matches!(seen, SessionActor::Live(actor) if actor.login_id == dora);
    let seen = |now: i64| {
        let storage = storage.clone();
        async move { storage.session_actor("idle", now, limits).await.expect("lookup") }
    };

    storage.start_session(dora, "idle", 0).await.expect("start");
    assert!(live(seen(30_000).await));
    // Seen 30 s after the start, not written (at most once a minute): idle since the start.
    assert_eq!(seen(12 * HOUR + 10_000).await, SessionActor::Ended(SessionEnd::Expired));

    storage.start_session(dora, "busy", 0).await.expect("start");
    let busy = |now: i64| {
        let storage = storage.clone();
        async move { storage.session_actor("busy", now, limits).await.expect("lookup") }
    };
    let mut now = 0;
    while now + 11 * HOUR < 7 * 24 * HOUR {
        now += 11 * HOUR;
        assert!(live(busy(now).await), "used every 11 hours, alive at {now}");
    }
    assert_eq!(busy(7 * 24 * HOUR + 1).await, SessionActor::Ended(SessionEnd::Expired), "a week at most");
}
on_both_backends!(sessions_expire);

async fn everyone_changes_their_own_password(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    branches(&app).await;
    assert_eq!(
        app.client().call(ChangePassword { current: PASSWORD.into(), new: "my very own password".into() }).await,
        Err(AppError::NotSignedIn)
    );
    let pda = app.signed_in("a.pda", PASSWORD).await;
    assert_eq!(
        pda.call(ChangePassword { current: "not my password".into(), new: "my very own password".into() }).await,
        Err(AppError::WrongCredentials)
    );
    assert!(matches!(
        pda.call(ChangePassword { current: PASSWORD.into(), new: "short".into() }).await,
        Err(AppError::InvalidInput { .. })
    ));
    pda.call(ChangePassword { current: PASSWORD.into(), new: "my very own password".into() }).await.expect("change");
    assert_eq!(pda.call(Whoami {}).await.expect("still signed in").login.as_str(), "a.pda");
    assert_eq!(
        app.client().call(SignIn { login: "a.pda".into(), password: PASSWORD.into() }).await,
        Err(AppError::WrongCredentials)
    );
    app.signed_in("a.pda", "my very own password").await;
    assert_eq!(pda.call(Whoami {}).await.err(), Some(AppError::SignedInElsewhere));
}
on_both_backends!(everyone_changes_their_own_password);

async fn look_alike_login_names_are_refused(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let w = branches(&app).await;
    let a_admin = app.signed_in("a.admin", PASSWORD).await;
    let answer = a_admin
        .call(CreateLogin { institution: w.a, login: "\u{430}dmin".into(), password: PASSWORD.into(), rights: PDA_ONLY })
        .await;
    assert_eq!(
        answer,
        Err(AppError::InvalidInput { field: "login".into(), reason: app::domain::ParseFailure::BadCharacters })
    );
}
on_both_backends!(look_alike_login_names_are_refused);

/// The browser keeps the cookie as long as the session may live, and no longer.
async fn the_session_cookie_lasts_the_session_lifetime(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let response = reqwest::Client::new()
        .post(format!("{}/api/sign_in", app.base_url))
        .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("sign in");
    let cookie = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(cookie.contains(&format!("Max-Age={}", 7 * 24 * 3600)), "{cookie}");
}
on_both_backends!(the_session_cookie_lasts_the_session_lifetime);

/// A stolen session cannot guess its way to the password: guesses of the current password
/// count as sign-in attempts.
async fn guessing_the_current_password_is_throttled(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    branches(&app).await;
    let thief = app.signed_in("a.pda", PASSWORD).await;
    for guess in 0..5 {
        let answer = thief.call(ChangePassword { current: format!("guess number {guess}"), new: "taken over password".into() }).await;
        assert_eq!(answer, Err(AppError::WrongCredentials));
    }
    assert!(matches!(
        thief.call(ChangePassword { current: PASSWORD.into(), new: "taken over password".into() }).await,
        Err(AppError::TooManyAttempts { .. })
    ));
}
on_both_backends!(guessing_the_current_password_is_throttled);

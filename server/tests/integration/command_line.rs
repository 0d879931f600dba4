//! The `billetix` binary's commands, run as an operator runs them, against the database of a
//! running server: `admin reset-password`, `admin create-master`, `admin unlock`, `migrate`,
//! and `--help` on each.

use crate::support;

use app::domain::{InstitutionName, LoginName, Password, Rights};
use app::error::AppError;
use app::ssr::signin_throttle::{Reservation, ThrottleKey};
use support::api::SignIn;
use support::{ADMIN_PASSWORD, PASSWORD};

/// What a run of the binary said and how it ended.
pub struct Ran {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `billetix ARGS` on the database at `url`, to its end.
pub async fn billetix(url: &str, args: &[&str]) -> Ran {
    let (url, args): (String, Vec<String>) = (url.to_owned(), args.iter().map(|a| a.to_string()).collect());
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_billetix"))
            .args(&args)
            .env("DATABASE_URL", &url)
            .env("BILLETIX_DATA_DIR", std::env::temp_dir().join("billetix-command-line"))
            .env("RUST_LOG", "warn")
            .output()
            .expect("run billetix");
        Ran {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .expect("billetix ran")
}

/// The password a command printed: its standard output, one line.
fn printed_password(ran: &Ran) -> String {
    assert!(ran.success, "{}", ran.stderr);
    let password = ran.stdout.trim().to_owned();
    assert!(!password.contains('\n') && password.len() >= 20, "one password alone on the output: {:?}", ran.stdout);
    password
}

async fn sign_in(app: &support::TestApp, login: &str, password: &str) -> Result<app::me::Me, AppError> {
    app.client().call(SignIn { login: login.to_owned(), password: password.to_owned() }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_its_help() {
    let url = support::fresh_database_url(support::Backend::Sqlite).await.expect("SQLite");
    for command in [
        &["--help"][..],
        &["admin", "--help"],
        &["admin", "reset-password", "--help"],
        &["admin", "create-master", "--help"],
        &["admin", "unlock", "--help"],
        &["migrate", "--help"],
    ] {
        let ran = billetix(&url, command).await;
        assert!(ran.success && ran.stdout.contains("Usage: billetix"), "{command:?}: {}{}", ran.stdout, ran.stderr);
    }
    let ran = billetix(&url, &["--help"]).await;
    for command in ["admin", "migrate"] {
        assert!(ran.stdout.contains(command), "{command} listed: {}", ran.stdout);
    }
    let ran = billetix(&url, &["admin", "reset-password"]).await;
    assert!(!ran.success && ran.stderr.contains("<LOGIN>"), "a missing login is said: {}", ran.stderr);
}

async fn migrate_brings_a_new_database_up_to_date(backend: support::Backend) {
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let ran = billetix(&url, &["migrate"]).await;
    assert!(ran.success, "{}", ran.stderr);
    let opened = server::storage::open(&url).await.expect("open");
    assert_eq!(opened.storage.schema_state().await.expect("schema"), app::ssr::storage::SchemaState::Current);
    assert!(opened.storage.root_institution().await.expect("root").is_none(), "migrate creates nobody");
    assert!(billetix(&url, &["migrate"]).await.success, "twice is the same");
}
on_both_backends!(migrate_brings_a_new_database_up_to_date);

/// The first Master's password lost: reset from the command line, the old one no longer works
/// and the new one, printed once, does.
async fn reset_password_prints_a_password_that_signs_in(backend: support::Backend) {
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let app = support::spawn_app_on(&url).await;
    let before = app.signed_in("admin", ADMIN_PASSWORD).await;
    let password = printed_password(&billetix(&url, &["admin", "reset-password", "admin"]).await);
    assert!(matches!(sign_in(&app, "admin", ADMIN_PASSWORD).await, Err(AppError::WrongCredentials)));
    assert!(sign_in(&app, "admin", &password).await.expect("the new password signs in").root_master);
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert!(before.call(support::api::Whoami {}).await.is_err(), "the old session ended");

    let unknown = billetix(&url, &["admin", "reset-password", "nobody"]).await;
    assert!(!unknown.success && unknown.stderr.contains("there is no login nobody"), "{}", unknown.stderr);
    assert!(unknown.stdout.is_empty());
}
on_both_backends!(reset_password_prints_a_password_that_signs_in);

/// A Master over a branch made from the command line, named by its institution.
async fn create_master_makes_a_master_of_the_branch(backend: support::Backend) {
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let app = support::spawn_app_on(&url).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists");
    let arena = app.storage.create_institution(Some(root.id), &InstitutionName::parse("Arena").expect("name")).await.expect("Arena");
    let password = printed_password(&billetix(&url, &["admin", "create-master", "chief", "--branch", "Arena"]).await);
    let me = sign_in(&app, "chief", &password).await.expect("the printed password signs in");
    assert_eq!(me.master_of, Some(arena.id));
    assert!(!me.root_master);

    let again = billetix(&url, &["admin", "create-master", "chief", "--branch", "Arena"]).await;
    assert!(!again.success && again.stderr.contains("exists already"), "{}", again.stderr);
    let nowhere = billetix(&url, &["admin", "create-master", "chief2", "--branch", "Nowhere"]).await;
    assert!(!nowhere.success && nowhere.stderr.contains("no institution"), "{}", nowhere.stderr);
    let by_number = billetix(&url, &["admin", "create-master", "chief2", "--branch", &root.id.0.to_string()]).await;
    assert!(sign_in(&app, "chief2", &printed_password(&by_number)).await.expect("signs in").root_master);
}
on_both_backends!(create_master_makes_a_master_of_the_branch);

/// A steward locked out by wrong passwords (delays of minutes) and then disabled: `unlock`
/// lifts the delays, and `--enable` enables the login again.
async fn unlock_lets_a_locked_login_sign_in(backend: support::Backend) {
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let app = support::spawn_app_on(&url).await;
    let hash = app::ssr::password::hash(&Password::parse(PASSWORD).expect("password")).await.expect("hash");
    let steward = app.storage.create_login(&LoginName::parse("steward").expect("login"), &hash).await.expect("login");
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    app.storage.set_membership(steward, root, Rights { pda: true, ..Rights::default() }).await.expect("member");
    // Wrong passwords from the tests' address, one as soon as each delay allowed it, until the
    // next must wait minutes.
    let key = ThrottleKey::login_at_address("steward", "127.0.0.1");
    let mut at = app::ssr::now_millis();
    loop {
        match app.storage.reserve_signin_attempt(std::slice::from_ref(&key), at).await.expect("attempt") {
            Reservation::Granted => {}
            Reservation::Wait { retry_after_ms } if retry_after_ms > 120_000 => break,
            Reservation::Wait { retry_after_ms } => at += retry_after_ms,
        }
    }
    assert!(matches!(sign_in(&app, "steward", PASSWORD).await, Err(AppError::TooManyAttempts { retry_after_secs }) if retry_after_secs > 60));

    let ran = billetix(&url, &["admin", "unlock", "steward"]).await;
    assert!(ran.success, "{}", ran.stderr);
    sign_in(&app, "steward", PASSWORD).await.expect("unlocked, the steward signs in");

    app.storage.set_login_disabled(steward, true, app::ssr::now_millis()).await.expect("disable");
    let ran = billetix(&url, &["admin", "unlock", "steward"]).await;
    assert!(ran.success && ran.stderr.contains("steward is disabled"), "{}", ran.stderr);
    assert!(matches!(sign_in(&app, "steward", PASSWORD).await, Err(AppError::WrongCredentials)));
    assert!(billetix(&url, &["admin", "unlock", "steward", "--enable"]).await.success);
    sign_in(&app, "steward", PASSWORD).await.expect("enabled, the steward signs in");
}
on_both_backends!(unlock_lets_a_locked_login_sign_in);

//! The `billetix` binary's commands, run as an operator runs them, against the database of a
//! running server: `admin reset-password`, `admin create-master`, `admin unlock`, `migrate`,
//! `backup` and `restore`, and `--help` on each.

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
        &["backup", "--help"],
        &["restore", "--help"],
    ] {
        let ran = billetix(&url, command).await;
        assert!(ran.success && ran.stdout.contains("Usage: billetix"), "{command:?}: {}{}", ran.stdout, ran.stderr);
    }
    let ran = billetix(&url, &["--help"]).await;
    for command in ["admin", "migrate", "backup", "restore"] {
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

/// A performance's report as its CSV export, from the server at `base_url`, signed in as the
/// first Master.
async fn report_csv(base_url: &str, performance: app::engine::PerformanceId) -> String {
    let admin = support::Client::of(base_url).signing_in("admin", ADMIN_PASSWORD).await;
    let answer = admin.request(reqwest::Method::GET, &format!("/export/report?performance={performance}&format=csv")).send().await.expect("export");
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.text().await.expect("CSV")
}

/// The numbers the report shows as having passed (its `passes` column above 0).
fn passed(csv: &str) -> std::collections::BTreeSet<String> {
    let mut lines = csv.lines();
    let header = lines.next().expect("a header");
    let separator = if header.contains(';') { ';' } else { ',' };
    let passes = header.split(separator).position(|c| c == "passes").expect("a passes column");
    lines
        .map(|line| line.split(separator).collect::<Vec<_>>())
        .filter(|cells| cells.get(passes).and_then(|p| p.parse::<u32>().ok()).is_some_and(|p| p > 0))
        .map(|cells| cells[0].to_owned())
        .collect()
}

/// `billetix backup` while 4 doors scan a running server: the copy holds every scan answered
/// before it began and only scans that were answered, and restored into a fresh place it serves
/// a report whose figures are its scans'. Once the doors stop, a backup restored elsewhere
/// serves the very report the live server does. A restore refuses a newer schema and a database
/// a server has open; PostgreSQL is sent to pg_dump.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_while_doors_scan_restores_into_a_server_with_the_same_report() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    use app::engine::{Barcode, Mode, TicketState};
    use app::ssr::storage::NewTicket;
    use app::sync::protocol::{Door, ScanRequest};
    const TICKETS: usize = 4_000;
    const DOORS: usize = 4;

    let url = support::fresh_database_url(support::Backend::Sqlite).await.expect("SQLite");
    let opened = server::storage::open(&url).await.expect("open");
    let storage = opened.storage.as_ref();
    server::bootstrap::ensure_root(storage, Some(ADMIN_PASSWORD)).await.expect("bootstrap");
    let root = storage.root_institution().await.expect("root").expect("exists");
    let institution = storage.create_institution(Some(root.id), &InstitutionName::parse("Arena").expect("name")).await.expect("Arena").id;
    let performance = support::undated_performance(storage, institution, "Tonight").await;
    let tickets: Vec<NewTicket> = (0..TICKETS)
        .map(|i| NewTicket { barcode: Barcode::parse(&format!("B{i:05}")).expect("code"), state: TicketState::Valid, category: "g".into(), holder: None })
        .collect();
    storage.upsert_tickets(performance, &tickets, 1).await.expect("tickets");
    storage.set_pda_open(performance, true).await.expect("open");
    let hash = app::ssr::password::hash(&Password::parse(PASSWORD).expect("password")).await.expect("hash");
    let door = storage.create_login(&LoginName::parse("door").expect("login"), &hash).await.expect("login");
    storage.set_membership(door, institution, Rights { pda: true, ..Rights::default() }).await.expect("member");

    let (live, live_url) = support::start_process(&url).await;
    let client = Arc::new(support::Client::of(&live_url).signing_in("door", PASSWORD).await);
    let (stop, answered) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::<(String, Instant)>::new())));
    let mut doors = tokio::task::JoinSet::new();
    for gate in 0..DOORS {
        let (client, stop, answered) = (client.clone(), stop.clone(), answered.clone());
        doors.spawn(async move {
            for n in 0..TICKETS / DOORS {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let barcode = format!("B{:05}", gate + n * DOORS);
                let door = Door { performances: vec![performance], mode: Mode::SinglePass, gate: None };
                let request = ScanRequest { scan_id: format!("b{gate}-{n}"), barcode: barcode.clone(), device: format!("gate-{gate}"), client_time: 0, door };
                let outcome = client.call(support::api::Scan { request }).await.expect("scan answered");
                assert!(outcome.verdict.is_accepted());
                answered.lock().expect("answers").push((barcode, Instant::now()));
            }
        });
    }
    let count = || answered.lock().expect("answers").len();
    while count() < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dir = std::env::temp_dir().join(format!("billetix-backups-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).expect("backup folder");
    let during = dir.join("during.db");
    let began = Instant::now();
    let ran = billetix(&url, &["backup", &during.to_string_lossy()]).await;
    assert!(ran.success, "{}", ran.stderr);
    let at_end = count();
    while count() < at_end + 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    doors.join_all().await;
    let answered = answered.lock().expect("answers").clone();
    eprintln!("{} scans answered; backup taken after {} of them, {} more during it", answered.len(), answered.iter().filter(|(_, at)| *at < began).count(), at_end - answered.iter().filter(|(_, at)| *at < began).count());
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&during).expect("backup").permissions()) & 0o077, 0, "the backup is its owner's only");
    let again = billetix(&url, &["backup", &during.to_string_lossy()]).await;
    assert!(!again.success && again.stderr.contains("exists already"), "{}", again.stderr);

    let restored_url = support::fresh_database_url(support::Backend::Sqlite).await.expect("SQLite");
    let ran = billetix(&restored_url, &["restore", &during.to_string_lossy()]).await;
    assert!(ran.success, "{}", ran.stderr);
    let (_restored, restored_base) = support::start_process(&restored_url).await;
    let restored_passed = passed(&report_csv(&restored_base, performance).await);
    let all: std::collections::BTreeSet<String> = answered.iter().map(|(barcode, _)| barcode.clone()).collect();
    for (barcode, at) in &answered {
        assert!(*at > began || restored_passed.contains(barcode), "{barcode}, answered before the backup began, is not in it");
    }
    assert!(restored_passed.is_subset(&all), "only answered scans are in the backup");
    assert!(restored_passed.len() < all.len(), "the doors scanned on after the backup");
    let restored = server::storage::open(&restored_url).await.expect("open the restored database");
    let scans = restored.storage.scans_since(&[performance], 0).await.expect("scans");
    let scanned: std::collections::BTreeSet<String> = scans.iter().map(|s| s.barcode.clone()).collect();
    assert_eq!(scanned, restored_passed, "the restored report counts the restored scans");
    assert_eq!(restored.storage.admission_counts(performance).await.expect("counts").0, scans.len() as u64);

    // The doors stopped: a backup now restores into a server answering the live one's report.
    let quiet = dir.join("quiet.db");
    assert!(billetix(&url, &["backup", &quiet.to_string_lossy()]).await.success);
    let elsewhere_url = support::fresh_database_url(support::Backend::Sqlite).await.expect("SQLite");
    assert!(billetix(&elsewhere_url, &["restore", &quiet.to_string_lossy()]).await.success);
    let (_elsewhere, elsewhere_base) = support::start_process(&elsewhere_url).await;
    let live_report = report_csv(&live_url, performance).await;
    assert_eq!(passed(&live_report), all);
    assert_eq!(report_csv(&elsewhere_base, performance).await, live_report, "the same report, line for line");

    // Never over a database a server has open.
    let refused = billetix(&url, &["restore", &quiet.to_string_lossy()]).await;
    assert!(!refused.success && refused.stderr.contains("stop the server"), "{}", refused.stderr);
    assert_eq!(report_csv(&live_url, performance).await, live_report, "the live database untouched");
    let database = url.trim_start_matches("sqlite://");
    assert!(!std::path::Path::new(&format!("{database}.restoring")).exists(), "no copy left behind");
    drop(live);

    // A backup of a newer Billetix is refused, and nothing is put in place.
    {
        use sqlx::Connection;
        let mut newer = sqlx::SqliteConnection::connect(&format!("sqlite://{}", quiet.display())).await.expect("open the copy");
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99990101000000, 'newer', TRUE, x'00', 0)")
            .execute(&mut newer)
            .await
            .expect("a newer migration");
    }
    let target_url = support::fresh_database_url(support::Backend::Sqlite).await.expect("SQLite");
    let refused = billetix(&target_url, &["restore", &quiet.to_string_lossy()]).await;
    assert!(!refused.success && refused.stderr.contains("newer schema"), "{}", refused.stderr);
    let target = target_url.trim_start_matches("sqlite://");
    assert!(!std::path::Path::new(target).exists(), "nothing restored");

    if let Ok(postgres) = std::env::var("BILLETIX_TEST_POSTGRES_URL") {
        let ran = billetix(&postgres, &["backup", &dir.join("pg.db").to_string_lossy()]).await;
        assert!(!ran.success && ran.stderr.contains("pg_dump"), "{}", ran.stderr);
    }
}

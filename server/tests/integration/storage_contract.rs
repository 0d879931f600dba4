//! The storage contract: the same stories against SQLite and PostgreSQL.

use crate::support;

use app::ssr::storage::{SessionActor, SessionEnd, SessionLimits, Storage, StorageError};
use app::domain::{InstitutionName, LoginName, Rights};

fn name(n: &str) -> InstitutionName {
    InstitutionName::parse(n).expect("valid name")
}

fn login(n: &str) -> LoginName {
    LoginName::parse(n).expect("valid login")
}

async fn institution_tree(backend: support::Backend) {
    let Some(storage) = support::fresh_storage(backend).await else { return };
    assert!(storage.root_institution().await.expect("query").is_none());
    let root = storage.create_institution(None, &name("root")).await.expect("root");
    assert!(
        matches!(storage.create_institution(None, &name("second root")).await, Err(StorageError::AlreadyExists)),
        "root exists once"
    );
    let a = storage.create_institution(Some(root.id), &name("Arena A")).await.expect("A");
    let a1 = storage.create_institution(Some(a.id), &name("Hall A1")).await.expect("A1");
    let a11 = storage.create_institution(Some(a1.id), &name("Room A11")).await.expect("A11");
    let b = storage.create_institution(Some(root.id), &name("Club B")).await.expect("B");

    assert_eq!(storage.ancestry(a11.id).await.expect("ancestry"), vec![a11.id, a1.id, a.id, root.id]);
    assert!(storage.ancestry(app::domain::InstitutionId(9999)).await.expect("ancestry").is_empty());
    let mut branch: Vec<_> = storage.branch(a.id).await.expect("branch").into_iter().map(|i| i.id).collect();
    branch.sort();
    assert_eq!(branch, vec![a.id, a1.id, a11.id]);
    assert!(!branch.contains(&b.id));

    storage.rename_institution(a1.id, &name("Hall One")).await.expect("rename");
    assert_eq!(storage.institution(a1.id).await.expect("get").expect("exists").name, name("Hall One"));
    assert!(matches!(
        storage.rename_institution(app::domain::InstitutionId(9999), &name("x")).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        storage.create_institution(Some(app::domain::InstitutionId(9999)), &name("orphan")).await,
        Err(StorageError::NotFound)
    ));
}
on_both_backends!(institution_tree);

async fn logins_and_memberships(backend: support::Backend) {
    let Some(storage) = support::fresh_storage(backend).await else { return };
    let root = storage.create_institution(None, &name("root")).await.expect("root");
    let a = storage.create_institution(Some(root.id), &name("A")).await.expect("A");
    let alice = storage.create_login(&login("alice"), "hash-1").await.expect("create");
    assert!(matches!(storage.create_login(&login("ALICE"), "hash-2").await, Err(StorageError::AlreadyExists)));

    let pda = Rights { pda: true, ..Rights::default() };
    storage.set_membership(alice, a.id, pda).await.expect("member");
    let admin = Rights { admin: true, backoffice: true, pda: false };
    storage.set_membership(alice, a.id, admin).await.expect("update rights");
    assert_eq!(storage.memberships(alice).await.expect("list"), vec![(a.id, admin)]);
    let members = storage.members(a.id).await.expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].login_id, members[0].rights), (alice, admin));

    storage.set_master(alice, Some(a.id)).await.expect("master");
    storage.set_last_institution(alice, a.id).await.expect("last");
    storage.set_password_hash(alice, "hash-3", 4).await.expect("password");
    let record = storage.login_by_name(&login("alice")).await.expect("get").expect("exists");
    assert_eq!(
        (record.master_of, record.last_institution, record.password_hash.as_str(), record.disabled),
        (Some(a.id), Some(a.id), "hash-3", false)
    );
}
on_both_backends!(logins_and_memberships);

/// What a request bearing `token` finds: the login holding the live session, or why not.
#[derive(Debug, PartialEq)]
enum Seen {
    Live(app::domain::LoginId),
    Ended(SessionEnd),
    Nothing,
}

async fn seen(storage: &dyn Storage, token: &str) -> Seen {
    match storage.session_actor(token, 10, SessionLimits::default()).await.expect("lookup") {
        SessionActor::Live(actor) => Seen::Live(actor.login_id),
        SessionActor::Ended(end) => Seen::Ended(end),
        SessionActor::None => Seen::Nothing,
    }
}

async fn one_live_session_per_login(backend: support::Backend) {
    let Some(storage) = support::fresh_storage(backend).await else { return };
    let bob = storage.create_login(&login("bob"), "hash").await.expect("create");
    storage.start_session(bob, "first", 1).await.expect("first session");
    assert_eq!(seen(storage.as_ref(), "first").await, Seen::Live(bob));
    storage.start_session(bob, "second", 2).await.expect("second session");
    assert_eq!(
        seen(storage.as_ref(), "first").await,
        Seen::Ended(SessionEnd::SignedInElsewhere)
    );
    assert_eq!(seen(storage.as_ref(), "second").await, Seen::Live(bob));
    assert_eq!(seen(storage.as_ref(), "never-issued").await, Seen::Nothing);

    storage.end_session("second", 3).await.expect("sign out");
    assert_eq!(seen(storage.as_ref(), "second").await, Seen::Ended(SessionEnd::SignedOut));

    storage.start_session(bob, "third", 4).await.expect("third session");
    storage.set_login_disabled(bob, true, 5).await.expect("disable");
    assert_eq!(seen(storage.as_ref(), "third").await, Seen::Ended(SessionEnd::LoginDisabled));
    assert!(storage.login(bob).await.expect("get").expect("kept, never deleted").disabled);
}
on_both_backends!(one_live_session_per_login);

async fn concurrent_sign_ins_leave_one_live_session(backend: support::Backend) {
    let Some(storage) = support::fresh_storage(backend).await else { return };
    let carol = storage.create_login(&login("carol"), "hash").await.expect("create");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let storage = storage.clone();
            tokio::spawn(async move { storage.start_session(carol, &format!("token-{i}"), i).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("every sign-in succeeds");
    }
    let mut live = 0;
    for i in 0..16 {
        if seen(storage.as_ref(), &format!("token-{i}")).await == Seen::Live(carol) {
            live += 1;
        }
    }
    assert_eq!(live, 1, "exactly one session stays live");
}
on_both_backends!(concurrent_sign_ins_leave_one_live_session);

async fn sign_in_attempts_are_reserved_per_key(backend: support::Backend) {
    use app::ssr::signin_throttle::{Reservation, ThrottleKey};
    let Some(storage) = support::fresh_storage(backend).await else { return };
    let dave = ThrottleKey::login_at_address("dave", "10.0.0.1");
    let address = ThrottleKey::address("10.0.0.1");
    let both = [dave.clone(), address.clone()];
    for at in [100, 200, 300, 400, 500] {
        assert_eq!(storage.reserve_signin_attempt(&both, at).await.expect("reserve"), Reservation::Granted);
    }
    // The fifth attempt delays the next by a second, and nothing is counted meanwhile.
    assert_eq!(storage.reserve_signin_attempt(&both, 600).await.expect("reserve"), Reservation::Wait { retry_after_ms: 900 });
    assert_eq!(storage.reserve_signin_attempt(&both, 1_500).await.expect("reserve"), Reservation::Granted);
    // Another login at the same address is not delayed by dave's pair.
    let erin = [ThrottleKey::login_at_address("erin", "10.0.0.1"), address.clone()];
    assert_eq!(storage.reserve_signin_attempt(&erin, 1_500).await.expect("reserve"), Reservation::Granted);
    let dave_name = app::domain::LoginName::parse("dave").expect("name");
    assert_eq!(storage.clear_signin_throttle(&dave_name).await.expect("clear"), 1);
    assert_eq!(storage.reserve_signin_attempt(&both, 1_600).await.expect("reserve"), Reservation::Granted);
    storage.signin_succeeded(&dave, &address).await.expect("success");
    assert_eq!(storage.reserve_signin_attempt(&both, 1_700).await.expect("reserve"), Reservation::Granted);
}
on_both_backends!(sign_in_attempts_are_reserved_per_key);

/// Two server processes on one database, 40 attempts at once: the free five, no more.
async fn concurrent_attempts_through_two_storages_get_the_free_ones_only(backend: support::Backend) {
    use app::ssr::signin_throttle::{Reservation, ThrottleKey};
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let first = server::storage::open(&url).await.expect("first process").storage;
    let second = server::storage::open(&url).await.expect("second process").storage;
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..40 {
        let storage = if i % 2 == 0 { first.clone() } else { second.clone() };
        attempts.spawn(async move {
            let keys = [ThrottleKey::login_at_address("frank", "10.0.0.2"), ThrottleKey::address("10.0.0.2")];
            storage.reserve_signin_attempt(&keys, 10_000).await
        });
    }
    let answers = attempts.join_all().await;
    let granted = answers.iter().filter(|a| matches!(a, Ok(Reservation::Granted))).count();
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    assert_eq!(granted, 5);
}
on_both_backends!(concurrent_attempts_through_two_storages_get_the_free_ones_only);

async fn bootstrap_creates_root_and_first_master_once(backend: support::Backend) {
    let Some(storage) = support::fresh_storage(backend).await else { return };
    server::bootstrap::ensure_root(storage.as_ref(), Some(support::ADMIN_PASSWORD)).await.expect("first start");
    server::bootstrap::ensure_root(storage.as_ref(), None).await.expect("second start");
    let root = storage.root_institution().await.expect("root").expect("created");
    let admin = storage.login_by_name(&login("admin")).await.expect("get").expect("created");
    assert_eq!(admin.master_of, Some(root.id));
    assert_eq!(storage.branch(root.id).await.expect("branch").len(), 1);
    assert!(server::bootstrap::ensure_root(
        support::fresh_storage(backend).await.expect("storage").as_ref(),
        Some("short")
    )
    .await
    .is_err(), "a too-short admin password is refused with a clear error");
}
on_both_backends!(bootstrap_creates_root_and_first_master_once);

/// An admission or a refusal, as a door's judge would say it, without its rules.
fn judged(admitted: bool) -> app::ssr::storage::Judge {
    use app::ssr::storage::Judgement;
    use app::engine::{Direction, Refusal, Verdict};
    Box::new(move |_, _| {
        let verdict = if admitted { Verdict::Accepted { direction: Direction::In } } else { Verdict::Refused { reason: Refusal::Cancelled } };
        Judgement { verdict, admitted, anomaly: None, server_agreed: None }
    })
}

fn door_scan(
    id: &str,
    barcode: &str,
    at: i64,
    direction: app::engine::Direction,
    door: (app::engine::PerformanceId, app::domain::InstitutionId),
    admitted: bool,
) -> app::ssr::storage::DoorScan {
    app::ssr::storage::DoorScan {
        scan: app::ssr::storage::NewScan {
            scan_uuid: id.to_owned(),
            barcode: app::engine::Barcode::parse(barcode).expect("code"),
            device: "gate".to_owned(),
            login: None,
            scanned_at: at,
            client_time: at,
            server_time: at,
            direction,
            door_mode: None,
            offline: false,
            device_reason: None,
            clock_skew_ms: None,
        },
        performances: vec![door.0],
        institutions: vec![door.1],
        judge: judged(admitted),
    }
}

/// A performance of a new root institution with valid tickets of these `codes`: the door
/// `(performance, institution)`.
async fn door_with_tickets(
    storage: &dyn app::ssr::storage::Storage,
    codes: &[String],
) -> (app::engine::PerformanceId, app::domain::InstitutionId) {
    use app::ssr::storage::NewTicket;
    use app::engine::{Barcode, TicketState};
    let root = storage.create_institution(None, &name("root")).await.expect("root").id;
    let performance = support::undated_performance(storage, root, "Tonight").await;
    let tickets: Vec<NewTicket> = codes
        .iter()
        .map(|b| NewTicket { barcode: Barcode::parse(b).expect("code"), state: TicketState::Valid, category: "floor".into(), holder: None })
        .collect();
    storage.upsert_tickets(performance, &tickets, 1).await.expect("tickets");
    (performance, root)
}

/// The figures reports sort on (passes, first entry) count every admission and nothing else,
/// whenever they are read: right after the scans, and after the storage was closed and opened
/// again on the same database.
async fn ticket_figures_count_every_admission(backend: support::Backend) {
    use app::ssr::storage::NewTicket;
    use app::engine::{Barcode, Direction, TicketState};
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let storage = server::storage::open(&url).await.expect("open").storage;
    let codes = ["A1", "B2", "C3"].map(String::from);
    let door = door_with_tickets(storage.as_ref(), &codes).await;
    let performance = door.0;
    let figures = |rows: Vec<app::domain::ReportRow>| -> Vec<(String, u32, Option<i64>)> {
        rows.into_iter().map(|r| (r.barcode, r.passes, r.first_entry)).collect()
    };

    let answers = storage
        .record_scans(vec![
            door_scan("s1", "A1", 2_000, Direction::In, door, true),
            door_scan("s2", "A1", 3_000, Direction::Out, door, true),
            door_scan("s3", "B2", 2_500, Direction::Out, door, true),
            door_scan("s4", "C3", 2_600, Direction::In, door, false),
        ])
        .await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    let rows = storage.report_chunk(performance, None, 10).await.expect("report");
    assert_eq!(
        figures(rows),
        vec![("A1".into(), 2, Some(2_000)), ("B2".into(), 1, None), ("C3".into(), 0, None)],
        "an exit is a pass but no entry; a refusal is neither"
    );
    assert_eq!(storage.admission_counts(performance).await.expect("counts"), (1, 3));

    // Scanned, then closed at once: whatever was not counted yet is counted after the reopen.
    let answers = storage.record_scans(vec![door_scan("s5", "A1", 1_000, Direction::In, door, true)]).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    drop(storage);
    let storage = server::storage::open(&url).await.expect("reopen").storage;
    let answers = storage.record_scans(vec![door_scan("s6", "C3", 4_000, Direction::In, door, true)]).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    let rows = storage.report_chunk(performance, None, 10).await.expect("report");
    assert_eq!(
        figures(rows),
        vec![("A1".into(), 3, Some(1_000)), ("B2".into(), 1, None), ("C3".into(), 1, Some(4_000))],
        "an earlier entry recorded later moves the first entry back"
    );
    assert_eq!(storage.admission_counts(performance).await.expect("counts"), (2, 3));

    // A ticket imported later has figures too; a category changed by an import moves the
    // ticket's admission to its new category in the totals.
    let reimported = ["A1", "D4"].map(|b| NewTicket {
        barcode: Barcode::parse(b).expect("code"),
        state: TicketState::Valid,
        category: "balcony".into(),
        holder: None,
    });
    storage.upsert_tickets(performance, &reimported, 5_000).await.expect("re-import");
    let page = |sort, filter: &str| app::domain::ReportQuery {
        performance,
        page: 0,
        page_size: 2.into(),
        sort,
        descending: true,
        filter: filter.to_owned().into(),
    };
    let report = storage.report_page(&page(app::domain::ReportColumn::Passes, "")).await.expect("report");
    assert_eq!(figures(report.rows), vec![("A1".into(), 3, Some(1_000)), ("C3".into(), 1, Some(4_000))], "most passes first");
    let second = storage
        .report_page(&app::domain::ReportQuery { page: 1, ..page(app::domain::ReportColumn::Passes, "") })
        .await
        .expect("report");
    assert_eq!(figures(second.rows), vec![("B2".into(), 1, None), ("D4".into(), 0, None)], "the barcode breaks ties");
    let totals: Vec<(String, u64, u64)> =
        report.totals_by_category.into_iter().map(|t| (t.category, t.tickets, t.admitted)).collect();
    assert_eq!(totals, vec![("balcony".into(), 2, 1), ("floor".into(), 2, 2)]);
    // Filtered figure sorts count the matches in the page's own statement, or without a row to
    // carry the count, apart.
    let filtered = storage.report_page(&page(app::domain::ReportColumn::FirstEntry, "3")).await.expect("report");
    assert_eq!(figures(filtered.rows), vec![("C3".into(), 1, Some(4_000))]);
    assert_eq!(filtered.total_matching, 1);
    let filtered = storage.report_page(&page(app::domain::ReportColumn::Passes, "b")).await.expect("report");
    assert_eq!(figures(filtered.rows), vec![("B2".into(), 1, None)], "a filter ignores case");
    assert_eq!(filtered.total_matching, 1);
    let all = storage.report_page(&page(app::domain::ReportColumn::FirstEntry, "_")).await.expect("report");
    assert_eq!((all.rows.len(), all.total_matching), (0, 0), "an underscore is taken literally");
    let past = storage
        .report_page(&app::domain::ReportQuery { page: 5, ..page(app::domain::ReportColumn::Passes, "1") })
        .await
        .expect("report");
    assert_eq!((past.rows.len(), past.total_matching), (0, 1), "a page past the last match still counts them");
}
on_both_backends!(ticket_figures_count_every_admission);

/// The engine's own judge for a single-pass door of `performance`, at `at`.
fn single_pass_judge(performance: app::engine::PerformanceId, at: i64) -> app::ssr::storage::Judge {
    use app::ssr::storage::Judgement;
    use app::engine::{Checkpoint, Mode, Scan, decide};
    let checkpoint = Checkpoint { mode: Mode::SinglePass, under_control: vec![performance], excluded: Vec::new(), time_zone: chrono_tz::Europe::Paris, gates: Default::default() };
    let at = chrono::DateTime::from_timestamp_millis(at).expect("time");
    Box::new(move |ticket, passes| {
        let verdict = decide(ticket, passes, &checkpoint, &Scan { at, device: "gate" });
        Judgement { admitted: verdict.is_accepted(), verdict, anomaly: None, server_agreed: None }
    })
}

/// Sixteen doors scanning one ticket at the same moment, through two storages on one database
/// (as two server processes would), admit it once: the others see its pass, whichever group
/// waited for whose lock.
async fn one_ticket_scanned_by_every_door_at_once_is_admitted_once(backend: support::Backend) {
    use app::engine::{Direction, Verdict};
    const TICKETS: usize = 30;
    const DOORS: usize = 16;
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let first = server::storage::open(&url).await.expect("open").storage;
    let second = server::storage::open(&url).await.expect("open again").storage;
    let codes: Vec<String> = (0..TICKETS).map(|i| format!("CROWD{i:03}")).collect();
    let (performance, root) = door_with_tickets(first.as_ref(), &codes).await;
    for (t, code) in codes.iter().enumerate() {
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(DOORS));
        let mut doors = tokio::task::JoinSet::new();
        for d in 0..DOORS {
            let storage = if d % 2 == 0 { first.clone() } else { second.clone() };
            let (start, code) = (start.clone(), code.clone());
            let at = 10_000 + (t * DOORS + d) as i64;
            doors.spawn(async move {
                let mut scan = door_scan(&format!("{code}-{d}"), &code, at, Direction::In, (performance, root), false);
                scan.judge = single_pass_judge(performance, at);
                start.wait().await;
                storage.record_scans(vec![scan]).await.pop().expect("an answer").expect("recorded").record
            });
        }
        let mut admitted = 0;
        while let Some(record) = doors.join_next().await {
            let record = record.expect("door task");
            match record.verdict {
                Verdict::Accepted { .. } => admitted += 1,
                Verdict::Refused { reason: app::engine::Refusal::AlreadyScanned { .. } } => {}
                other => panic!("{code}: unexpected verdict {other:?}"),
            }
        }
        assert_eq!(admitted, 1, "{code} admitted once");
    }
    assert_eq!(first.admission_counts(performance).await.expect("counts"), (TICKETS as u64, TICKETS as u64));
}
on_both_backends!(one_ticket_scanned_by_every_door_at_once_is_admitted_once);

/// A series' performances often share their numbers. Each door decides on the ticket of the
/// performance it controls, whatever the other performances hold, even when doors of both
/// performances are written in one group; a number only another performance holds is named
/// with that performance.
async fn a_number_in_two_performances_is_decided_on_each_door_s_own(backend: support::Backend) {
    use app::ssr::storage::NewTicket;
    use app::engine::{Barcode, Direction, Refusal, TicketState, Verdict};
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let storage = server::storage::open(&url).await.expect("open").storage;
    let (tonight, root) = door_with_tickets(storage.as_ref(), &["SHARED01".to_owned()]).await;
    let tomorrow = support::undated_performance(storage.as_ref(), root, "Tomorrow").await;
    let ticket = |code: &str, state| NewTicket { barcode: Barcode::parse(code).expect("code"), state, category: "floor".into(), holder: None };
    storage
        .upsert_tickets(tomorrow, &[ticket("SHARED01", TicketState::Cancelled), ticket("ONLY02", TicketState::Valid)], 1)
        .await
        .expect("tickets");
    let door = |id: &str, code: &str, performance| {
        let mut scan = door_scan(id, code, 20_000, Direction::In, (performance, root), false);
        scan.judge = single_pass_judge(performance, 20_000);
        scan
    };
    let records: Vec<_> = storage
        .record_scans(vec![door("tonight-1", "SHARED01", tonight), door("tomorrow-1", "SHARED01", tomorrow), door("tonight-2", "ONLY02", tonight)])
        .await
        .into_iter()
        .map(|r| r.expect("recorded").record)
        .collect();
    assert_eq!(records[0].verdict, Verdict::Accepted { direction: Direction::In }, "tonight's SHARED01 is valid");
    assert_eq!(records[0].performance, Some(tonight));
    assert_eq!(records[1].verdict, Verdict::Refused { reason: Refusal::Cancelled }, "tomorrow's SHARED01 is cancelled");
    assert_eq!(records[1].performance, Some(tomorrow));
    assert_eq!(records[2].verdict, Verdict::Refused { reason: Refusal::OtherPerformance { performance: tomorrow } });
    let again = storage.record_scans(vec![door("tonight-3", "SHARED01", tonight)]).await.pop().expect("an answer").expect("recorded").record;
    assert!(matches!(again.verdict, Verdict::Refused { reason: Refusal::AlreadyScanned { .. } }), "{:?}", again.verdict);
    assert_eq!(storage.admission_counts(tomorrow).await.expect("counts").0, 0, "nothing admitted tomorrow");
}
on_both_backends!(a_number_in_two_performances_is_decided_on_each_door_s_own);

/// A scan id recorded before, in an earlier call or earlier in the same group, is answered
/// with its first record and said not written now: the sync service trusts its own judge's
/// verdict only for a scan written now (two copies of an upload sent at the same millisecond
/// once answered "already scanned" by themselves).
async fn a_retried_scan_is_answered_with_its_first_record_not_written_again(backend: support::Backend) {
    use app::engine::Direction;
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let storage = server::storage::open(&url).await.expect("open").storage;
    let door = door_with_tickets(storage.as_ref(), &["R1".to_owned(), "R2".to_owned()]).await;
    let first = storage.record_scans(vec![door_scan("r1", "R1", 2_000, Direction::In, door, true)]).await.pop().expect("an answer").expect("recorded");
    assert!(first.written_now, "a new scan is written");
    let answers: Vec<_> = storage
        .record_scans(vec![
            door_scan("r1", "R1", 2_000, Direction::In, door, true),
            door_scan("r2", "R2", 2_100, Direction::In, door, true),
            door_scan("r2", "R2", 2_100, Direction::In, door, true),
        ])
        .await
        .into_iter()
        .map(|a| a.expect("recorded"))
        .collect();
    assert_eq!(answers[0].record, first.record, "a retry gets its first record");
    assert_eq!(answers.iter().map(|a| a.written_now).collect::<Vec<_>>(), [false, true, false]);
    assert_eq!(answers[2].record, answers[1].record, "a copy later in the group gets the first copy's record");
    assert_eq!(storage.admission_counts(door.0).await.expect("counts"), (2, 2));
}
on_both_backends!(a_retried_scan_is_answered_with_its_first_record_not_written_again);

/// The SQLite file holds password hashes and holders' names: only the server's user reads it
/// (the WAL takes the database file's mode).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_database_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let Some(url) = support::fresh_database_url(support::Backend::Sqlite).await else { return };
    let file = std::path::PathBuf::from(url.trim_start_matches("sqlite://"));
    let storage = server::storage::open(&url).await.expect("open").storage;
    storage.create_institution(None, &name("root")).await.expect("a write, so the WAL exists");
    let mode = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).expect("metadata");
    let dir = file.parent().expect("a directory");
    assert_eq!(mode(dir), 0o700, "data directory");
    assert_eq!(mode(&file), 0o600, "database");
    assert_eq!(mode(&file.with_extension("db-wal")), 0o600, "write-ahead log");
}

/// The tables and columns of a database migrated at start, in column order: each table's
/// `(table, column)` pairs, sqlx's own bookkeeping left out.
async fn tables_and_columns(backend: support::Backend) -> Option<Vec<(String, String)>> {
    use sqlx::Connection;
    let url = support::fresh_database_url(backend).await?;
    let opened = server::storage::open(&url).await.expect("open and migrate");
    let columns = match backend {
        support::Backend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("connect to SQLite");
            sqlx::query_as(
                "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
                 ORDER BY m.name, c.cid",
            )
            .fetch_all(&mut connection)
            .await
            .expect("SQLite's columns")
        }
        support::Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&url).await.expect("connect to PostgreSQL");
            sqlx::query_as(
                "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
                 ORDER BY table_name, ordinal_position",
            )
            .fetch_all(&mut connection)
            .await
            .expect("PostgreSQL's columns")
        }
    };
    drop(opened);
    Some(columns)
}

/// The two migration folders describe the same tables and columns, in the same order, but for
/// what migrations/README.md says differs by design: they cannot drift apart silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_dialects_have_the_same_tables_and_columns() {
    let sqlite = tables_and_columns(support::Backend::Sqlite).await.expect("SQLite always runs");
    // SQLite's mark of the scans its figures' batches have counted (PostgreSQL counts by trigger).
    let only_on_sqlite = ["ticket_figures_counted"];
    assert!(sqlite.iter().any(|(table, _)| table == "tickets"), "SQLite's schema was read: {sqlite:?}");
    assert!(only_on_sqlite.iter().all(|only| sqlite.iter().any(|(table, _)| table == only)));
    let Some(postgres) = tables_and_columns(support::Backend::Postgres).await else { return };
    let shared: Vec<_> = sqlite.into_iter().filter(|(table, _)| !only_on_sqlite.contains(&table.as_str())).collect();
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    for column in &shared {
        if !postgres.contains(column) {
            missing.push(column);
        }
    }
    for column in &postgres {
        if !shared.contains(column) {
            extra.push(column);
        }
    }
    assert!(missing.is_empty() && extra.is_empty(), "only on SQLite: {missing:?}; only on PostgreSQL: {extra:?}");
    assert_eq!(shared, postgres, "the same columns in the same order");
}

//! Gates (issue 18): kept per performance with a rules version on both databases, managed
//! from the back office by those who may, and decided with by the doors.

use crate::support;

use app::domain::ParseFailure;
use app::engine::{CategoryRule, Direction, EntryWindow, Gate, Mode, PerformanceId, Refusal, TicketState, Verdict};
use app::error::AppError;
use app::ids::GateId;
use app::ssr::storage::StorageError;
use app::sync::protocol::{DecidedBy, DeviceReason, Door, OfflineScan, ScanRequest, Uploaded};
use support::api::{DeleteGate, PerformanceGates, SaveGate, Scan, SyncDelta, SyncSnapshot, SyncUpload};
use support::world::{Built, CLERK, World};
use support::{PASSWORD, TestApp};

fn gate(name: &str, categories: &[&str]) -> Gate {
    Gate {
        name: name.into(),
        mode: Mode::SinglePass,
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        window: None,
        per_category: Vec::new(),
    }
}

fn hm(h: u32, m: u32) -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(h, m, 0).expect("time of day")
}

/// A performance in Paris open to doors, its tickets, a door login `door` and a clerk `clerk`
/// of the same institution.
async fn venue(app: &TestApp, tickets: &[(&str, TicketState, &str)]) -> Built {
    World::new(app)
        .venue("Main hall", "Europe/Paris")
        .performance("Tonight", "2026-05-28T22:26")
        .tickets(tickets)
        .pda_open()
        .door_login("door")
        .login("clerk", CLERK)
        .build()
        .await
}

async fn gates_are_kept_with_a_rules_version(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[]).await;
    let other = World::new(&app).institution("Other").build().await;
    let storage = app.storage.as_ref();
    let context = |p| async move { storage.performance_contexts(&[p]).await.expect("context").pop().expect("one") };
    assert_eq!(context(v.performance).await.gates.rules_version, 0, "no gate yet");

    let mut north = gate("North", &["general"]);
    north.window = Some(EntryWindow { opens: hm(19, 0), last_entry: hm(23, 30) });
    north.per_category = vec![CategoryRule { category: "vip".into(), window: None, instruction: Some("Wristband".into()) }];
    let north_id = storage.create_gate(v.performance, &north).await.expect("created");
    let vip_id = storage.create_gate(v.performance, &gate("Salon VIP", &["vip"])).await.expect("created");
    let kept = context(v.performance).await.gates;
    assert_eq!(kept.rules_version, 2, "each change raises the version");
    assert_eq!(kept.gates.iter().map(|g| (g.id, g.rules.clone())).collect::<Vec<_>>(), vec![(north_id, north.clone()), (vip_id, gate("Salon VIP", &["vip"]))]);
    assert!(matches!(storage.create_gate(v.performance, &gate("North", &[])).await, Err(StorageError::AlreadyExists)), "one name a performance");
    storage.create_gate(other.performance, &gate("North", &[])).await.expect("another performance may have its North");

    north.mode = Mode::MultiPass { max_total: Some(2), max_per_day: None };
    north.name = "North door".into();
    storage.update_gate(v.performance, north_id, &north).await.expect("updated");
    let kept = context(v.performance).await.gates;
    assert_eq!((kept.rules_version, &kept.gates[0].rules), (3, &north));
    assert!(matches!(storage.update_gate(other.performance, north_id, &north).await, Err(StorageError::NotFound)), "not that performance's gate");
    assert!(matches!(storage.delete_gate(other.performance, vip_id).await, Err(StorageError::NotFound)));
    storage.delete_gate(v.performance, vip_id).await.expect("deleted");
    let kept = context(v.performance).await.gates;
    assert_eq!((kept.rules_version, kept.gates.len()), (4, 1));
    assert_eq!(context(other.performance).await.gates.rules_version, 1, "a failed change left the other performance's version alone");
}
on_both_backends!(gates_are_kept_with_a_rules_version);

async fn the_back_office_manages_gates_and_only_those_allowed(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[]).await;
    let elsewhere = World::new(&app).institution("Elsewhere").login("stranger", CLERK).build().await;
    let performance = v.performance;
    let clerk = app.signed_in("clerk", PASSWORD).await;
    let save = |gate_id: Option<GateId>, rules: Gate| SaveGate { performance, gate: gate_id, rules };

    let north = clerk.call(save(None, gate("North", &["general"]))).await.expect("a clerk of the institution adds a gate");
    let set = clerk.call(PerformanceGates { performance }).await.expect("listed");
    assert_eq!((set.rules_version, set.gates.len(), set.gates[0].id), (1, 1, north));
    let mut edited = gate("North", &["general", "vip"]);
    edited.per_category = vec![CategoryRule { category: "vip".into(), window: Some(EntryWindow { opens: hm(18, 0), last_entry: hm(23, 0) }), instruction: None }];
    assert_eq!(clerk.call(save(Some(north), edited.clone())).await, Ok(north));
    // The Master (signed in last, by the world built last).
    let admin = &elsewhere.admin;
    assert_eq!(admin.call(PerformanceGates { performance }).await.expect("listed").gates[0].rules, edited);

    assert_eq!(
        clerk.call(save(None, gate("  ", &[]))).await,
        Err(AppError::InvalidInput { field: "gate_name".into(), reason: ParseFailure::Empty }),
        "rules are checked on the server"
    );
    let zero = Gate { mode: Mode::MultiPass { max_total: Some(0), max_per_day: None }, ..gate("South", &[]) };
    assert!(matches!(clerk.call(save(None, zero)).await, Err(AppError::InvalidInput { .. })));
    assert_eq!(clerk.call(save(None, gate("North", &[]))).await, Err(AppError::AlreadyExists("North".into())));

    // Without the right on this performance: Forbidden, whatever the call.
    for login in ["door", "stranger"] {
        let client = app.signed_in(login, PASSWORD).await;
        assert_eq!(client.call(PerformanceGates { performance }).await, Err(AppError::Forbidden), "{login}");
        assert_eq!(client.call(save(None, gate("Side", &[]))).await, Err(AppError::Forbidden), "{login}");
        assert_eq!(client.call(save(Some(north), gate("Hijacked", &[]))).await, Err(AppError::Forbidden), "{login}");
        assert_eq!(client.call(DeleteGate { performance, gate: north }).await, Err(AppError::Forbidden), "{login}");
    }
    assert_eq!(app.client().call(PerformanceGates { performance }).await, Err(AppError::NotSignedIn));
    // A gate of another performance, named through this one: not found, and left as it was.
    let stranger_gate = admin.call(SaveGate { performance: elsewhere.performance, gate: None, rules: gate("Theirs", &[]) }).await.expect("created");
    assert_eq!(clerk.call(DeleteGate { performance, gate: stranger_gate }).await, Err(AppError::NotFound));
    assert_eq!(clerk.call(save(Some(stranger_gate), gate("Mine", &[]))).await, Err(AppError::NotFound));

    clerk.call(DeleteGate { performance, gate: north }).await.expect("deleted");
    let set = clerk.call(PerformanceGates { performance }).await.expect("listed");
    assert_eq!((set.rules_version, set.gates.len()), (3, 0), "two changes and a deletion; refusals changed nothing");
}
on_both_backends!(the_back_office_manages_gates_and_only_those_allowed);

/// The door's clock in these scans: 2026-05-28 20:26:40 UTC, 22:26:40 in Paris.
const T0: i64 = 1_780_000_000_000;
const MINUTE: i64 = 60_000;

fn on_gate(performance: PerformanceId, gate: GateId, mode: Mode) -> Door {
    Door { performances: vec![performance], mode, gate: Some(gate) }
}

async fn scan(client: &support::Client, scan_id: &str, barcode: &str, door: &Door) -> Result<Verdict, AppError> {
    let request = ScanRequest { scan_id: scan_id.into(), barcode: barcode.into(), device: "pda-1".into(), client_time: T0, door: door.clone() };
    Ok(client.call(Scan { request }).await?.verdict)
}

fn offline(scan_id: &str, barcode: &str, at: i64, door: &Door) -> OfflineScan {
    OfflineScan {
        scan_id: scan_id.into(),
        barcode: barcode.into(),
        device: "pda-1".into(),
        scanned_at: at,
        door: door.clone(),
        device_verdict: Verdict::Accepted { direction: Direction::In },
        decided: DecidedBy::Device { why: DeviceReason::Offline },
        clock_skew_ms: None,
        login: None,
    }
}

async fn a_door_on_a_gate_is_decided_with_the_gates_stored_rules(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("G1", TicketState::Valid, "general"), ("V1", TicketState::Valid, "vip")]).await;
    let other = World::new(&app).within(v.institution).venue("Annex", "Europe/Paris").pda_open().build().await;
    let storage = app.storage.as_ref();
    let north = storage.create_gate(v.performance, &gate("North", &["general"])).await.expect("gate");
    storage.create_gate(v.performance, &gate("Salon VIP", &["vip"])).await.expect("gate");
    let elsewhere = storage.create_gate(other.performance, &gate("Annex door", &[])).await.expect("gate");
    let door = app.signed_in("door", PASSWORD).await;
    // The device claims a multi-pass door: the gate's stored rules (single pass) decide.
    let claimed = on_gate(v.performance, north, Mode::MultiPass { max_total: None, max_per_day: None });

    assert_eq!(
        scan(&door, "s1", "V1", &claimed).await,
        Ok(Verdict::Refused { reason: Refusal::WrongEntrance { category: "vip".into(), gates: vec!["Salon VIP".into()] } })
    );
    assert_eq!(scan(&door, "s2", "G1", &claimed).await, Ok(Verdict::Accepted { direction: Direction::In }));
    assert!(
        matches!(scan(&door, "s3", "G1", &claimed).await, Ok(Verdict::Refused { reason: Refusal::AlreadyScanned { .. } })),
        "single pass, as the gate says"
    );
    assert_eq!(scan(&door, "s4", "G1", &on_gate(v.performance, elsewhere, Mode::SinglePass)).await, Err(AppError::NotFound), "another performance's gate");
    let two = Door { performances: vec![v.performance, other.performance], mode: Mode::SinglePass, gate: Some(north) };
    assert!(matches!(scan(&door, "s5", "G1", &two).await, Err(AppError::InvalidInput { .. })), "a gate is one performance's door");
    let plain = Door { performances: vec![v.performance], mode: Mode::SinglePass, gate: None };
    assert_eq!(scan(&door, "s6", "V1", &plain).await, Ok(Verdict::Accepted { direction: Direction::In }), "a door on no gate works as before");
}
on_both_backends!(a_door_on_a_gate_is_decided_with_the_gates_stored_rules);

async fn an_offline_upload_from_a_gate_is_judged_with_the_gates_rules(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("G1", TicketState::Valid, "general"), ("G2", TicketState::Valid, "general"), ("G3", TicketState::Valid, "general"), ("V1", TicketState::Valid, "vip")]).await;
    let mut north = gate("North", &["general"]);
    north.window = Some(EntryWindow { opens: hm(19, 0), last_entry: hm(23, 30) });
    let north = app.storage.create_gate(v.performance, &north).await.expect("gate");
    let door = app.signed_in("door", PASSWORD).await;
    // What the device decided (all admitted, as if it had no gate rules) is what happened at
    // the door; the server's own verdict follows the gate.
    let at_north = on_gate(v.performance, north, Mode::SinglePass);
    let scans = vec![
        offline("u1", "G1", T0, &at_north),
        offline("u2", "V1", T0 + MINUTE, &at_north),
        offline("u3", "G2", T0 + 70 * MINUTE, &at_north),
        offline("u4", "G3", T0 - 4 * 60 * MINUTE, &at_north),
    ];
    let outcome = door.call(SyncUpload { scans }).await.expect("upload");
    let verdicts: Vec<(String, Verdict)> = outcome
        .results
        .into_iter()
        .map(|r| match r.outcome {
            Uploaded::Recorded { server_verdict, .. } => (r.scan_id, server_verdict),
            Uploaded::Refused { reason } => panic!("{} refused: {reason}", r.scan_id),
        })
        .collect();
    let refused = |reason| Verdict::Refused { reason };
    assert_eq!(
        verdicts,
        vec![
            ("u4".to_owned(), refused(Refusal::TooEarly { opens: hm(19, 0) })),
            ("u1".to_owned(), Verdict::Accepted { direction: Direction::In }),
            ("u2".to_owned(), refused(Refusal::WrongEntrance { category: "vip".into(), gates: vec![] })),
            ("u3".to_owned(), refused(Refusal::TooLate { last_entry: hm(23, 30) })),
        ],
        "in time order: 18:26, 22:26, 22:27 and 23:36 in Paris"
    );
    let flagged: Vec<_> = app.storage.scans_since(&[v.performance], 0).await.expect("scans").into_iter().filter(|r| r.anomaly.is_some()).map(|r| r.scan_uuid).collect();
    assert_eq!(flagged.len(), 3, "the three admissions against the gate's rules are flagged: {flagged:?}");
}
on_both_backends!(an_offline_upload_from_a_gate_is_judged_with_the_gates_rules);

async fn a_rules_change_reaches_devices_by_the_next_delta_and_the_live_feed(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("V1", TicketState::Valid, "vip")]).await;
    let performance = v.performance;
    let clerk = app.signed_in("clerk", PASSWORD).await;
    let north = clerk.call(SaveGate { performance, gate: None, rules: gate("North", &["general"]) }).await.expect("gate");
    let door = app.signed_in("door", PASSWORD).await;
    let snapshot = door.call(SyncSnapshot { performance }).await.expect("snapshot");
    assert_eq!((snapshot.gates.rules_version, snapshot.gates.gates.len()), (1, 1), "the snapshot carries the gates");
    let at_north = on_gate(performance, north, Mode::SinglePass);
    assert!(matches!(scan(&door, "r1", "V1", &at_north).await, Ok(Verdict::Refused { reason: Refusal::WrongEntrance { .. } })));

    let mut feed = door.get_stream(&format!("/live?performances={performance}")).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    clerk.call(SaveGate { performance, gate: Some(north), rules: gate("North", &["general", "vip"]) }).await.expect("edited");
    let text = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut seen = String::new();
        while !seen.contains("event: rules") {
            match feed.chunk().await.expect("stream") {
                Some(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
                None => break,
            }
        }
        seen
    })
    .await
    .expect("the change is announced within 5 s");
    assert!(text.contains("event: rules") && text.contains("\"rules_changed\":true"), "{text}");

    let delta = door.call(SyncDelta { performances: vec![performance], cursor: snapshot.cursor }).await.expect("delta");
    let (_, set) = delta.gates.iter().find(|(p, _)| *p == performance).expect("the performance's gates");
    assert_eq!(set.rules_version, 2);
    assert_eq!(set.gates[0].rules.categories, vec!["general".to_owned(), "vip".to_owned()]);
    assert_eq!(scan(&door, "r2", "V1", &at_north).await, Ok(Verdict::Accepted { direction: Direction::In }), "the server decides with the new rules at once");
}
on_both_backends!(a_rules_change_reaches_devices_by_the_next_delta_and_the_live_feed);

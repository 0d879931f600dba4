//! Gates (issue 18): kept per performance with a rules version on both databases, managed
//! from the back office by those who may, and decided with by the doors.

use crate::support;

use app::domain::ParseFailure;
use app::engine::{CategoryRule, EntryWindow, Gate, Mode, TicketState};
use app::error::AppError;
use app::ids::GateId;
use app::ssr::storage::StorageError;
use support::api::{DeleteGate, PerformanceGates, SaveGate};
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

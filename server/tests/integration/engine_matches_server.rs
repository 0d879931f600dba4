//! Property: for random tickets, filters, modes, gates (categories, entry windows) and scan
//! sequences, the engine run alone (as a device runs it) gives the verdicts the server's
//! online endpoint gives.

use crate::support;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use app::ssr::storage::NewTicket;
use app::domain::InstitutionName;
use app::engine::{Barcode, CategoryRule, Checkpoint, Direction, EntryWindow, Gate, Gates, Mode, Scan, Ticket, TicketBook, TicketState};
use chrono::DateTime;
use app::sync::protocol::{Door, ScanRequest};
use proptest::prelude::*;
use support::api::CreateLogin;
use support::world::DOOR;
use support::{ADMIN_PASSWORD, Client, PASSWORD, TestApp};

struct World {
    runtime: tokio::runtime::Runtime,
    apps: Vec<(TestApp, Client, app::domain::InstitutionId)>,
}

/// One server per backend, shared by every case (a case makes its own performance).
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let apps = runtime.block_on(async {
            let mut apps = Vec::new();
            for backend in [support::Backend::Sqlite, support::Backend::Postgres] {
                let Some(app) = support::spawn_app(backend).await else { continue };
                let root = app.storage.root_institution().await.expect("root").expect("exists");
                let institution = app
                    .storage
                    .create_institution(Some(root.id), &InstitutionName::parse("Property").expect("name"))
                    .await
                    .expect("institution")
                    .id;
                let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
                admin
                    .call(CreateLogin { institution, login: "door".into(), password: PASSWORD.into(), rights: DOOR })
                    .await
                    .expect("login");
                let client = app.signed_in("door", PASSWORD).await;
                apps.push((app, client, institution));
            }
            apps
        });
        World { runtime, apps }
    })
}

#[derive(Debug, Clone)]
struct Case {
    tickets: Vec<(TicketState, &'static str)>,
    excluded: Vec<&'static str>,
    mode: Mode,
    /// The performance's gates: categories admitted, the gate's window, VIPs' own window.
    gates: Vec<(Vec<&'static str>, Option<EntryWindow>, Option<EntryWindow>)>,
    /// The gate the door joined (an index in `gates`, if within).
    joined: Option<usize>,
    /// (ticket index — past the end is an unknown number —, going in, device)
    scans: Vec<(usize, bool, usize)>,
}

fn window() -> impl Strategy<Value = EntryWindow> {
    let time = (0u32..24, 0u32..4).prop_map(|(h, q)| chrono::NaiveTime::from_hms_opt(h, q * 15, 0).expect("a time of day"));
    (time.clone(), time).prop_map(|(opens, last_entry)| EntryWindow { opens, last_entry })
}

fn case() -> impl Strategy<Value = Case> {
    let state = prop_oneof![6 => Just(TicketState::Valid), 1 => Just(TicketState::Cancelled),
                             1 => Just(TicketState::Duplicated), 1 => Just(TicketState::Unknown)];
    let category = prop_oneof![Just("general"), Just("vip")];
    let mode = prop_oneof![
        Just(Mode::SinglePass),
        Just(Mode::EntryExit { direction: Direction::In }),
        (prop::option::of(1u32..4), prop::option::of(1u32..3))
            .prop_map(|(max_total, max_per_day)| Mode::MultiPass { max_total, max_per_day }),
    ];
    let gate = (prop::sample::subsequence(vec!["general", "vip"], 0..=2), prop::option::of(window()), prop::option::of(window()));
    (
        prop::collection::vec((state, category), 1..10),
        prop::sample::subsequence(vec!["general", "vip"], 0..=2),
        mode,
        prop::collection::vec(gate, 0..3),
        prop::option::of(0usize..3),
        prop::collection::vec((0usize..12, any::<bool>(), 0usize..3), 1..30),
    )
        .prop_map(|(tickets, excluded, mode, gates, joined, scans)| Case { tickets, excluded, mode, gates, joined, scans })
}

async fn run(app: &TestApp, client: &Client, institution: app::domain::InstitutionId, case: &Case) -> Result<(), TestCaseError> {
    static CASE: AtomicUsize = AtomicUsize::new(0);
    let prefix = format!("c{}-", CASE.fetch_add(1, Ordering::Relaxed));
    let storage = app.storage.as_ref();
    let performance = support::undated_performance(storage, institution, &prefix).await;
    let new_tickets: Vec<NewTicket> = case
        .tickets
        .iter()
        .enumerate()
        .map(|(i, (state, category))| NewTicket {
            barcode: Barcode::parse(&format!("{prefix}{i}")).expect("code"),
            state: *state,
            category: (*category).into(),
            holder: None,
        })
        .collect();
    storage.upsert_tickets(performance, &new_tickets, 1).await.expect("tickets");
    let excluded: Vec<String> = case.excluded.iter().map(|c| (*c).to_owned()).collect();
    storage.set_category_filters(performance, &excluded).await.expect("filters");
    storage.set_pda_open(performance, true).await.expect("open");
    let mut gates = Vec::new();
    for (i, (categories, window, vip_window)) in case.gates.iter().enumerate() {
        let rules = Gate {
            name: format!("Gate {i}"),
            mode: case.mode,
            categories: categories.iter().map(|c| (*c).to_owned()).collect(),
            window: *window,
            per_category: vip_window.iter().map(|w| CategoryRule { category: "vip".into(), window: Some(*w), instruction: None }).collect(),
        };
        gates.push((storage.create_gate(performance, &rules).await.expect("gate"), rules));
    }
    let joined = case.joined.filter(|j| *j < gates.len());

    let mut book = TicketBook::new();
    for t in &new_tickets {
        book.upsert(t.barcode.clone(), Ticket { performance, state: t.state, category: t.category.clone(), window: None });
    }
    let devices = ["gate-a", "gate-b", "gate-c"];
    for (step, (index, going_in, device)) in case.scans.iter().enumerate() {
        let mode = match case.mode {
            Mode::EntryExit { .. } => Mode::EntryExit { direction: if *going_in { Direction::In } else { Direction::Out } },
            other => other,
        };
        // As a device on that gate builds it: the gate's mode, the steward's direction.
        let (checkpoint_mode, seen) = match joined {
            None => (mode, Gates::default()),
            Some(j) => {
                let direction = if let Mode::EntryExit { direction } = mode { direction } else { Direction::In };
                let others = gates.iter().enumerate().filter(|(i, _)| *i != j).map(|(_, (_, g))| g.clone()).collect();
                (gates[j].1.mode_for(direction), Gates { joined: Some(gates[j].1.clone()), others })
            }
        };
        let checkpoint = Checkpoint {
            mode: checkpoint_mode,
            under_control: vec![performance],
            excluded: excluded.iter().map(|c| (performance, c.clone())).collect(),
            time_zone: chrono_tz::Europe::Paris,
            gates: seen,
        };
        let barcode = format!("{prefix}{index}");
        let request = ScanRequest {
            scan_id: format!("{prefix}s{step}"),
            barcode: barcode.clone(),
            device: devices[*device].into(),
            client_time: 0,
            door: Door { performances: vec![performance], mode, gate: joined.map(|j| gates[j].0) },
        };
        let answer = client.call(support::api::Scan { request }).await.expect("scan");
        let server = answer.verdict;
        let at = DateTime::from_timestamp_millis(answer.server_time).expect("time");
        let alone = book.scan(&Barcode::parse(&barcode).expect("code"), &checkpoint, &Scan { at, device: devices[*device] });
        prop_assert_eq!(&server, &alone, "step {} of {:?} in performance {}", step, case, performance);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_alone_agrees_with_the_server(case in case()) {
        let world = world();
        for (app, client, institution) in &world.apps {
            world.runtime.block_on(run(app, client, *institution, &case))?;
        }
    }
}

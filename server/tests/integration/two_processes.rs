//! Two server processes on one PostgreSQL behave as one: 32 clients, half on each process,
//! all scanning the same 1,000 single-pass tickets, admit each ticket exactly once.
//! Runs when BILLETIX_TEST_POSTGRES_URL is set.

use crate::support;

use app::ssr::storage::NewTicket;
use app::domain::{InstitutionName, LoginName, Password, Rights};
use app::engine::{Barcode, Mode, Refusal, TicketState, Verdict};
use app::sync::protocol::{Door, ScanRequest};
use support::PASSWORD;
use support::api::Scan;

const TICKETS: usize = 1_000;
const CLIENTS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_admit_each_ticket_once() {
    let Some(url) = support::fresh_database_url(support::Backend::Postgres).await else { return };
    let opened = server::storage::open(&url).await.expect("open");
    let storage = opened.storage.as_ref();
    server::bootstrap::ensure_root(storage, Some(support::ADMIN_PASSWORD)).await.expect("bootstrap");
    let root = storage.root_institution().await.expect("root").expect("exists");
    let institution = storage.create_institution(Some(root.id), &InstitutionName::parse("Stadium").expect("name")).await.expect("inst").id;
    let performance = support::undated_performance(storage, institution, "Final").await;
    let barcodes: Vec<String> = (0..TICKETS).map(|i| format!("SP{i:05}")).collect();
    let tickets: Vec<NewTicket> = barcodes
        .iter()
        .map(|b| NewTicket { barcode: Barcode::parse(b).expect("code"), state: TicketState::Valid, category: "general".into(), holder: None })
        .collect();
    storage.upsert_tickets(performance, &tickets, 1).await.expect("tickets");
    storage.set_pda_open(performance, true).await.expect("open");
    let hash = app::ssr::password::hash(&Password::parse(PASSWORD).expect("password")).await.expect("hash");
    for i in 0..CLIENTS {
        let login = storage.create_login(&LoginName::parse(&format!("door{i}")).expect("login"), &hash).await.expect("login");
        storage.set_membership(login, institution, Rights { pda: true, ..Rights::default() }).await.expect("member");
    }

    let (_first, first_url) = support::start_process(&url).await;
    let (_second, second_url) = support::start_process(&url).await;

    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let base_url = if i % 2 == 0 { first_url.clone() } else { second_url.clone() };
        let client = support::Client::of(&base_url).signing_in(&format!("door{i}"), PASSWORD).await;
        // Each client walks the tickets from its own starting point, so they collide.
        let order: Vec<String> = barcodes.iter().cycle().skip(i * TICKETS / CLIENTS).take(TICKETS).cloned().collect();
        clients.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            let mut already = 0usize;
            for (n, barcode) in order.into_iter().enumerate() {
                let door = Door { performances: vec![performance], mode: Mode::SinglePass, gate: None };
                let request = ScanRequest { scan_id: format!("c{i}-{n}"), barcode: barcode.clone(), device: format!("dev{i}"), client_time: 0, door };
                match client.call(Scan { request }).await.expect("scan").verdict {
                    Verdict::Accepted { .. } => accepted.push(barcode),
                    Verdict::Refused { reason: Refusal::AlreadyScanned { .. } } => already += 1,
                    other => panic!("unexpected answer {other:?}"),
                }
            }
            (accepted, already)
        }));
    }
    let mut admitted = Vec::new();
    let mut already = 0;
    for client in clients {
        let (accepted, refused) = client.await.expect("client task");
        admitted.extend(accepted);
        already += refused;
    }
    admitted.sort();
    let total = admitted.len();
    admitted.dedup();
    assert_eq!((total, admitted.len()), (TICKETS, TICKETS), "each ticket admitted exactly once");
    assert_eq!(already, TICKETS * (CLIENTS - 1));
    assert_eq!(storage.admission_counts(performance).await.expect("counts"), (TICKETS as u64, TICKETS as u64));
}

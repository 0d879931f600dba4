//! Scan throughput benchmark on the neutral workload (`../shared/bench/gen_workload.py`).
//!
//!   cargo run --release -p billetix-benches --bin scan_bench -- --workload /tmp/workload [--database-url URL]
//!
//! Loads `tickets.csv` into a performance, replays `scans.txt` over HTTP against the real
//! server (in this process, on 127.0.0.1) at concurrency 1 and 16, prints scans/s and latency
//! percentiles, and checks the tally: one acceptance per valid ticket, "already scanned" for
//! repeats, "cancelled" and "unknown" where due. Also times the engine's decision alone.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use app::ssr::ServerContext;
use app::ssr::storage::{NewPerformance, NewTicket, Storage};
use app::domain::{InstitutionId, InstitutionName, LoginName, Password, Rights};
use app::sync::protocol::{Door, ScanRequest};
use app::sync::scan_id::time_ordered_scan_id;
use app::engine::{Barcode, Checkpoint, Mode, PerformanceId, Scan, Ticket, TicketBook, TicketState};
use leptos::prelude::LeptosOptions;
use serde_json::json;

const PASSWORD: &str = "benchmark password";

/// What a scanner's browser accepts: the server must not spend a compressor on each answer.
const BROWSER_ENCODINGS: &str = "gzip, deflate, br, zstd";

const USAGE: &str = "scan_bench --workload DIR [--concurrency 1,16] [--database-url URL]
  Loads DIR/tickets.csv (../shared/bench/gen_workload.py) into a performance, replays
  DIR/scans.txt over HTTP at each concurrency, prints scans/s and latency percentiles, checks
  the tally and times the engine alone. Default database: a new SQLite file.";

struct Args {
    workload: PathBuf,
    database_url: Option<String>,
    concurrency: Vec<usize>,
}

fn args() -> Result<Args, String> {
    let mut workload = None;
    let mut database_url = None;
    let mut concurrency = vec![1, 16];
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--workload" => workload = Some(PathBuf::from(value()?)),
            "--database-url" => database_url = Some(value()?),
            "--concurrency" => {
                concurrency = value()?.split(',').map(|c| c.parse().map_err(|_| format!("bad concurrency {c}"))).collect::<Result<_, _>>()?
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(Args { workload: workload.ok_or("--workload DIR is required")?, database_url, concurrency })
}

struct WorkloadTicket {
    barcode: Barcode,
    category: String,
    holder: String,
    cancelled: bool,
}

fn read_workload(dir: &std::path::Path) -> Result<(Vec<WorkloadTicket>, Vec<String>), String> {
    let mut reader = csv::Reader::from_path(dir.join("tickets.csv")).map_err(|e| format!("tickets.csv: {e}"))?;
    let mut tickets = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("tickets.csv line {}: {e}", line + 2))?;
        let field = |i: usize| record.get(i).unwrap_or_default().to_owned();
        tickets.push(WorkloadTicket {
            barcode: Barcode::parse(&field(0)).map_err(|e| format!("tickets.csv line {}: {e}", line + 2))?,
            category: field(1),
            holder: field(2),
            cancelled: field(3) == "cancelled",
        });
    }
    let scans = std::fs::read_to_string(dir.join("scans.txt")).map_err(|e| format!("scans.txt: {e}"))?;
    Ok((tickets, scans.lines().map(str::to_owned).filter(|l| !l.is_empty()).collect()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn engine_alone(tickets: &[WorkloadTicket], scans: &[String]) {
    let performance = PerformanceId(1);
    let mut book = TicketBook::new();
    for t in tickets {
        let state = if t.cancelled { TicketState::Cancelled } else { TicketState::Valid };
        book.upsert(t.barcode.clone(), Ticket { performance, state, category: t.category.clone(), window: None });
    }
    let checkpoint = Checkpoint { mode: Mode::SinglePass, under_control: vec![performance], excluded: vec![], time_zone: chrono_tz::Europe::Paris, gates: Default::default() };
    let codes: Vec<Barcode> = scans.iter().filter_map(|s| Barcode::parse(s).ok()).collect();
    let scan = Scan { at: chrono::Utc::now(), device: "bench" };
    let decisions = 1_000_000usize;
    let started = Instant::now();
    let mut accepted = 0usize;
    for i in 0..decisions {
        accepted += usize::from(book.decide(&codes[i % codes.len()], &checkpoint, &scan).is_accepted());
    }
    let elapsed = started.elapsed();
    println!(
        "engine alone: {} tickets loaded, {decisions} decisions in {:.3} s = {:.0} ns/decision ({accepted} accepted)",
        book.len(),
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / decisions as f64
    );
}

async fn new_performance(storage: &dyn Storage, institution: InstitutionId, tickets: &[WorkloadTicket], label: &str) -> PerformanceId {
    let venue = storage.create_venue(institution, "Bench hall", "Europe/Paris").await.expect("venue");
    let event = storage.create_event(venue, "Bench").await.expect("event");
    let performance = storage
        .create_performance(&NewPerformance { event, label: label.into(), starts_at: None, window: None, import_end: None })
        .await
        .expect("performance");
    let rows: Vec<NewTicket> = tickets
        .iter()
        .map(|t| NewTicket {
            barcode: t.barcode.clone(),
            state: if t.cancelled { TicketState::Cancelled } else { TicketState::Valid },
            category: t.category.clone(),
            holder: Some(t.holder.clone()),
        })
        .collect();
    let started = Instant::now();
    storage.upsert_tickets(performance, &rows, app::ssr::now_millis()).await.expect("tickets");
    println!("  loaded {} tickets in {:.2} s", rows.len(), started.elapsed().as_secs_f64());
    storage.set_pda_open(performance, true).await.expect("open");
    performance
}

/// What a device downloads to import the performance: the snapshot, as sent compressed.
async fn snapshot_size(base_url: &str, performance: PerformanceId, tickets: usize) {
    let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let signed = http
        .post(format!("{base_url}/api/sign_in"))
        .json(&json!({"login": "bench0", "password": PASSWORD}))
        .send()
        .await
        .expect("sign in");
    assert!(signed.status().is_success(), "sign-in failed");
    for encoding in ["br", "gzip", "identity"] {
        let started = Instant::now();
        let bytes = http
            .post(format!("{base_url}/api/sync_snapshot"))
            .header("accept-encoding", encoding)
            .json(&json!({"performance": performance}))
            .send()
            .await
            .expect("snapshot")
            .bytes()
            .await
            .expect("body")
            .len();
        println!(
            "  snapshot ({encoding}): {bytes} bytes = {:.1} bytes/ticket, served in {:.0} ms",
            bytes as f64 / tickets as f64,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// The arguments of the `scan` server function, as the scanner sends them.
#[derive(serde::Serialize)]
struct ScanCall<'a> {
    request: &'a ScanRequest,
}

async fn replay(base_url: &str, performance: PerformanceId, scans: &Arc<Vec<String>>, concurrency: usize) -> Vec<(Duration, String)> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
        let signed = http
            .post(format!("{base_url}/api/sign_in"))
            .json(&json!({"login": format!("bench{worker}"), "password": PASSWORD}))
            .send()
            .await
            .expect("sign in");
        assert!(signed.status().is_success(), "sign-in failed");
        let scan_url = reqwest::Url::parse(&format!("{base_url}/api/scan")).expect("scan URL");
        let (next, scans) = (next.clone(), scans.clone());
        workers.push(tokio::spawn(async move {
            let door = Door { performances: vec![performance], mode: Mode::SinglePass, gate: None };
            let mut results = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(barcode) = scans.get(i) else { break };
                let request = ScanRequest {
                    // Ids as the scanner makes them (time first), unique across runs on one database.
                    scan_id: time_ordered_scan_id(chrono::Utc::now().timestamp_millis(), &rand::random()),
                    barcode: barcode.clone(),
                    device: format!("bench{worker}"),
                    client_time: 0,
                    door: door.clone(),
                };
                let started = Instant::now();
                let answer: serde_json::Value = http
                    .post(scan_url.clone())
                    .header("accept-encoding", BROWSER_ENCODINGS)
                    .json(&ScanCall { request: &request })
                    .send()
                    .await
                    .expect("scan")
                    .json()
                    .await
                    .expect("json");
                let latency = started.elapsed();
                let outcome = match answer["verdict"]["verdict"].as_str() {
                    Some("accepted") => "accepted".to_owned(),
                    _ => answer["verdict"]["reason"].as_str().unwrap_or("error").to_owned(),
                };
                results.push((i, latency, outcome));
            }
            results
        }));
    }
    let mut all = vec![(Duration::ZERO, String::new()); scans.len()];
    for worker in workers {
        for (i, latency, outcome) in worker.await.expect("worker") {
            all[i] = (latency, outcome);
        }
    }
    all
}

/// Expected outcomes are independent of order: per barcode, one acceptance if valid (then
/// "already scanned"), "cancelled" if cancelled, "unknown number" if unknown.
fn check_tally(tickets: &[WorkloadTicket], scans: &[String], outcomes: &[(Duration, String)]) -> Result<(), String> {
    let states: HashMap<&str, bool> = tickets.iter().map(|t| (t.barcode.as_str(), t.cancelled)).collect();
    let mut per_barcode: HashMap<&str, Vec<&str>> = HashMap::new();
    for (barcode, (_, outcome)) in scans.iter().zip(outcomes) {
        per_barcode.entry(barcode.as_str()).or_default().push(outcome.as_str());
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (barcode, outcomes) in &per_barcode {
        for outcome in outcomes {
            *counts.entry(outcome).or_default() += 1;
        }
        let ok = match states.get(barcode) {
            None => outcomes.iter().all(|o| *o == "unknown_number"),
            Some(true) => outcomes.iter().all(|o| *o == "cancelled"),
            Some(false) => {
                outcomes.iter().filter(|o| **o == "accepted").count() == 1
                    && outcomes.iter().all(|o| *o == "accepted" || *o == "already_scanned")
            }
        };
        if !ok {
            return Err(format!("tally wrong for {barcode}: {outcomes:?}"));
        }
    }
    let mut summary: Vec<_> = counts.into_iter().collect();
    summary.sort();
    println!("  tally OK: {summary:?}");
    Ok(())
}

/// The figures reports and gauges read (tickets admitted) count every acceptance, once.
async fn check_figures(storage: &dyn Storage, performance: PerformanceId, outcomes: &[(Duration, String)]) -> Result<(), String> {
    let accepted = outcomes.iter().filter(|(_, outcome)| outcome == "accepted").count() as u64;
    let (admitted, _) = storage.admission_counts(performance).await.map_err(|e| e.to_string())?;
    if admitted != accepted {
        return Err(format!("figures wrong: {admitted} tickets admitted, {accepted} acceptances"));
    }
    println!("  figures OK: {admitted} tickets admitted");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = args()?;
    let (tickets, scans) = read_workload(&args.workload)?;
    println!("workload: {} tickets, {} scans", tickets.len(), scans.len());
    engine_alone(&tickets, &scans);

    let data_dir = std::env::temp_dir().join(format!("billetix-bench-{}", std::process::id()));
    let url = args.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", data_dir.join("bench.db").display()));
    println!("database: {}", if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" });
    let opened = server::storage::open(&url).await.map_err(|e| e.to_string())?;
    let storage = opened.storage.clone();
    server::bootstrap::ensure_root(storage.as_ref(), Some(PASSWORD)).await.map_err(|e| e.to_string())?;
    let root = storage.root_institution().await.map_err(|e| e.to_string())?.ok_or("no root")?;
    let institution = storage
        .create_institution(Some(root.id), &InstitutionName::parse(&format!("Bench {}", std::process::id())).map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?
        .id;
    let hash = app::ssr::password::hash(&Password::parse(PASSWORD).map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
    let workers = args.concurrency.iter().copied().max().unwrap_or(1);
    for worker in 0..workers {
        let name = LoginName::parse(&format!("bench{worker}")).map_err(|e| e.to_string())?;
        let login = match storage.login_by_name(&name).await.map_err(|e| e.to_string())? {
            Some(existing) => existing.id,
            None => storage.create_login(&name, &hash).await.map_err(|e| e.to_string())?,
        };
        storage.set_password_hash(login, &hash, app::ssr::now_millis()).await.map_err(|e| e.to_string())?;
        storage.set_membership(login, institution, Rights { pda: true, ..Rights::default() }).await.map_err(|e| e.to_string())?;
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    // The benchmark has no sources: partners are set up but never run.
    let secrets = server::sources::secrets::SecretBox::from_hex(&"00".repeat(32)).map_err(|e| e.to_string())?;
    let partners = server::sources::scheduler::Partners::new(opened.storage.clone(), secrets, server::sources::http_client(server::sources::AddressPolicy::AllowPrivate).map_err(|e| e.to_string())?);
    let context = ServerContext::new(opened.storage, opened.live, Arc::new(partners));
    let options = LeptosOptions::builder().output_name("billetix").site_addr(address).build();
    tokio::spawn(server::serve(listener, server::router(context, options)));
    let base_url = format!("http://{address}");

    let scans = Arc::new(scans);
    let mut failed = false;
    for (run, concurrency) in args.concurrency.iter().copied().enumerate() {
        println!("concurrency {concurrency}:");
        let performance = new_performance(storage.as_ref(), institution, &tickets, &format!("run {run}")).await;
        if run == 0 {
            snapshot_size(&base_url, performance, tickets.len()).await;
        }
        let started = Instant::now();
        let outcomes = replay(&base_url, performance, &scans, concurrency).await;
        let elapsed = started.elapsed();
        let mut latencies: Vec<Duration> = outcomes.iter().map(|(l, _)| *l).collect();
        latencies.sort();
        println!(
            "  {} scans in {:.2} s = {:.0} scans/s; latency p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
            scans.len(),
            elapsed.as_secs_f64(),
            scans.len() as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.95).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        );
        let checked = match check_tally(&tickets, &scans, &outcomes) {
            Ok(()) => check_figures(storage.as_ref(), performance, &outcomes).await,
            Err(e) => Err(e),
        };
        if let Err(e) = checked {
            println!("  {e}");
            failed = true;
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    if failed { Err("tally check failed".into()) } else { Ok(()) }
}

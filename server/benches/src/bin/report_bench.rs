//! Report benchmark (issue 5):
//!
//!   python3 ../shared/bench/gen_workload.py -n 100000 --out /tmp/wl100k
//!   cargo run --release -p billetix-benches --bin report_bench -- [--csv /tmp/wl100k/tickets.csv] [--tickets 100000]
//!       [--admitted 0.6] [--database-url URL]
//!
//! Loads a performance of `--tickets` tickets (or the `tickets.csv` of the neutral workload:
//! `barcode,category,holder_name,status`) through a file source, admits a share of the valid
//! ones through `record_scans`, then measures over HTTP, signed in:
//! 1. report pages sorted on several columns, with and without a filter (p50 / p95 of 50
//!    requests each, pages spread over the report);
//! 2. a full .xlsx export and a full CSV export (time, bytes).
//!
//! Targets on the 2-core reference machine: a page under 100 ms, the .xlsx under 5 s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::ssr::ServerContext;
use app::ssr::storage::{
    DoorScan, ImportMode, ImportedTicket, Judgement, NewPerformance, NewScan, NewSource,
};
use app::domain::{FieldValues, InstitutionName, RefreshPeriods, SourceKind};
use app::engine::{Barcode, Direction, TicketState, Verdict};
use leptos::prelude::LeptosOptions;
use serde_json::json;
use server::sources::scheduler::Partners;
use server::sources::secrets::SecretBox;

const USAGE: &str = "report_bench [--csv tickets.csv] [--tickets N (100000)] [--admitted SHARE (0.6)] [--database-url URL]
  Loads a performance, admits a share of its valid tickets, then times report pages (sorts,
  filters) and the full .xlsx and CSV exports over HTTP. Default database: a new SQLite file.";
const PASSWORD: &str = "benchmark password";
const REQUESTS: usize = 50;
/// Concurrent doors admitting the tickets before the measure.
const DOORS: usize = 16;

struct Args {
    tickets: usize,
    csv: Option<std::path::PathBuf>,
    admitted: f64,
    database_url: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut parsed = Args {
        tickets: 100_000,
        csv: None,
        admitted: 0.6,
        database_url: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--tickets" => {
                parsed.tickets = value()?
                    .parse()
                    .map_err(|_| "--tickets takes a number".to_owned())?
            }
            "--csv" => parsed.csv = Some(value()?.into()),
            "--admitted" => {
                parsed.admitted = value()?
                    .parse()
                    .map_err(|_| "--admitted takes a share, 0 to 1".to_owned())?
            }
            "--database-url" => parsed.database_url = Some(value()?),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(parsed)
}

/// (barcode, category, holder, state) rows, from the workload file or generated alike.
fn ticket_rows(args: &Args) -> Result<Vec<(String, String, String, String)>, String> {
    match &args.csv {
        Some(path) => {
            let mut reader =
                csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
            reader
                .records()
                .map(|r| {
                    let r = r.map_err(|e| e.to_string())?;
                    let get = |i: usize| r.get(i).unwrap_or_default().to_owned();
                    Ok((get(0), get(1), get(2), get(3)))
                })
                .collect()
        }
        None => Ok((0..args.tickets)
            .map(|i| {
                let category = ["general", "vip", "staff"][i % 3];
                let status = if i % 50 == 0 { "cancelled" } else { "valid" };
                (
                    format!("BX{i:012}"),
                    category.to_owned(),
                    format!("Holder {i}"),
                    status.to_owned(),
                )
            })
            .collect()),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = args()?;
    let data_dir =
        std::env::temp_dir().join(format!("billetix-report-bench-{}", std::process::id()));
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("bench.db").display()));
    println!(
        "database: {}",
        if url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );
    let opened = server::storage::open(&url)
        .await
        .map_err(|e| e.to_string())?;
    let storage = opened.storage.clone();
    server::bootstrap::ensure_root(storage.as_ref(), Some(PASSWORD))
        .await
        .map_err(|e| e.to_string())?;
    let root = storage
        .root_institution()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no root")?;
    let name = InstitutionName::parse(&format!("Report bench {}", std::process::id()))
        .map_err(|e| e.to_string())?;
    let institution = storage
        .create_institution(Some(root.id), &name)
        .await
        .map_err(|e| e.to_string())?
        .id;
    let venue = storage
        .create_venue(institution, "Bench hall", "Europe/Paris")
        .await
        .map_err(|e| e.to_string())?;
    let event = storage
        .create_event(venue, "Bench")
        .await
        .map_err(|e| e.to_string())?;
    let performance = storage
        .create_performance(&NewPerformance {
            event,
            label: "Bench".into(),
            starts_at: Some(4_102_444_800_000),
            window: None,
            import_end: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    let source = storage
        .create_source(&NewSource {
            institution,
            kind: SourceKind::File,
            name: "Box office".into(),
            settings: FieldValues::new(),
            sealed_secrets: None,
            periods: RefreshPeriods::default(),
        })
        .await
        .map_err(|e| e.to_string())?;

    // Load: every column of the file as the ticket's fields, as a file import keeps them.
    let started = Instant::now();
    let rows = ticket_rows(&args)?;
    let tickets = rows
        .iter()
        .enumerate()
        .map(|(i, (barcode, category, holder, status))| {
            Ok(ImportedTicket {
                barcode: Barcode::parse(barcode).map_err(|e| format!("{barcode}: {e}"))?,
                state: if status == "cancelled" { TicketState::Cancelled } else { TicketState::Valid },
                category: category.clone(),
                holder: Some(holder.clone()),
                fields: json!({"barcode": barcode, "category": category, "holder_name": holder, "status": status,
                               "seat": format!("R{}-{}", i / 40, i % 40), "price": "25.00"})
                .to_string(),
                partner_scanned_at: None,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    storage
        .attach_source(performance, source, &FieldValues::new(), 0)
        .await
        .map_err(|e| e.to_string())?;
    storage
        .import_tickets(performance, source, ImportMode::Cumulative, &mut tickets.chunks(1_000).map(<[_]>::to_vec), 1)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "loaded {} tickets in {:.2} s",
        tickets.len(),
        started.elapsed().as_secs_f64()
    );

    // Admit a share of the valid tickets, spread over the file and over the hour before the show,
    // from 16 doors at once as at a real opening (and so that PostgreSQL's round trips overlap).
    let started = Instant::now();
    let step = (1.0 / args.admitted.clamp(0.001, 1.0)).max(1.0);
    let mut next = 0.0f64;
    let base = 4_102_444_800_000 - 3_600_000;
    let mut scans = Vec::new();
    for (i, ticket) in tickets.iter().enumerate() {
        if (i as f64) < next || ticket.state != TicketState::Valid {
            continue;
        }
        next += step;
        let at = base + (i as i64 % 3_600) * 1_000;
        scans.push(NewScan {
            scan_uuid: format!("bench-{i}"),
            barcode: ticket.barcode.clone(),
            device: format!("gate-{}", i % 4),
            login: None,
            scanned_at: at,
            client_time: at,
            server_time: at,
            direction: Direction::In,
            door_mode: None,
            offline: false,
            device_reason: None,
            clock_skew_ms: None,
        });
    }
    let admitted = scans.len();
    let scans = Arc::new(scans);
    let mut doors = tokio::task::JoinSet::new();
    for door in 0..DOORS {
        let (storage, scans) = (storage.clone(), scans.clone());
        doors.spawn(async move {
            let admit = |_: Option<&app::engine::Ticket>, _: &[app::engine::Pass]| Judgement {
                verdict: Verdict::Accepted { direction: Direction::In },
                admitted: true,
                anomaly: None,
                server_agreed: None,
            };
            let door_scans = scans
                .iter()
                .skip(door)
                .step_by(DOORS)
                .map(|scan| DoorScan {
                    scan: scan.clone(),
                    performances: vec![performance],
                    institutions: vec![institution],
                    judge: Box::new(admit),
                })
                .collect();
            for answer in storage.record_scans(door_scans).await {
                answer.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(door) = doors.join_next().await {
        door.map_err(|e| e.to_string())??;
    }
    println!(
        "admitted {admitted} tickets through record_scans in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    if !url.starts_with("sqlite") {
        // As autovacuum leaves the tables within a minute or so of a load: index-only scans
        // need the visibility map, and the planner fresh statistics.
        use sqlx::Connection;
        let started = Instant::now();
        let mut connection = sqlx::PgConnection::connect(&url).await.map_err(|e| e.to_string())?;
        for table in ["tickets", "ticket_figures", "scans"] {
            sqlx::query(&format!("VACUUM ANALYZE {table}"))
                .execute(&mut connection)
                .await
                .map_err(|e| e.to_string())?;
        }
        println!("VACUUM ANALYZE (what autovacuum does after a load) in {:.2} s", started.elapsed().as_secs_f64());
    }

    let secrets = SecretBox::from_hex(&"00".repeat(32)).map_err(|e| e.to_string())?;
    let partners = Partners::new(storage.clone(), secrets, server::sources::http_client(server::sources::AddressPolicy::AllowPrivate).map_err(|e| e.to_string())?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let context = ServerContext::new(opened.storage, opened.live, Arc::new(partners));
    let options = LeptosOptions::builder()
        .output_name("billetix")
        .site_addr(address)
        .build();
    tokio::spawn(server::serve(listener, server::router(context, options)));
    let base_url = format!("http://{address}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .map_err(|e| e.to_string())?;
    let signed = client
        .post(format!("{base_url}/api/sign_in"))
        .json(&json!({"login": "admin", "password": PASSWORD}))
        .send()
        .await;
    if !signed.as_ref().is_ok_and(|r| r.status().is_success()) {
        return Err("cannot sign in as admin".into());
    }

    // 1. Pages: 50 requests per case, pages spread over the whole report.
    let total_pages = (tickets.len() / 50).max(1) as u32;
    let cases: [(&str, bool, &str); 8] = [
        ("barcode", false, ""),
        ("holder", true, ""),
        ("category", false, ""),
        ("source", false, ""),
        ("passes", true, ""),
        ("first_entry", false, ""),
        ("holder", false, "42"),
        ("passes", true, "NGUY"),
    ];
    println!("report pages of 50 rows, {REQUESTS} requests each:");
    for (sort, descending, filter) in cases {
        let mut times = Vec::with_capacity(REQUESTS);
        let mut matching = 0;
        for n in 0..REQUESTS as u32 {
            // Filtered reports are shorter: their pages stay near the start.
            let page = if filter.is_empty() {
                (n * 7919) % total_pages
            } else {
                n % 5
            };
            let started = Instant::now();
            let response = client
                .post(format!("{base_url}/api/reports/page"))
                .json(&json!({"query": {"performance": performance, "page": page, "page_size": 50, "sort": sort,
                                         "descending": descending, "filter": filter}}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
            times.push(started.elapsed());
            if !status.is_success() {
                return Err(format!("report page failed: {status} {body}"));
            }
            matching = body["page"]["total_matching"].as_u64().unwrap_or(0);
        }
        times.sort();
        println!(
            "  sort {sort:<11} {:<4} filter {:<10} ({matching:>6} rows): p50 {:>6.1} ms, p95 {:>6.1} ms (target < 100 ms)",
            if descending { "desc" } else { "asc" },
            format!("{filter:?}"),
            percentile(&times, 0.5),
            percentile(&times, 0.95)
        );
    }

    // 2. Exports.
    for (format, target) in [("xlsx", " (target < 5 s)"), ("csv", "")] {
        let started = Instant::now();
        let response = client
            .get(format!(
                "{base_url}/export/report?performance={performance}&format={format}"
            ))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if !status.is_success() {
            return Err(format!("{format} export failed: {status}"));
        }
        println!(
            "full .{format} export of {} tickets: {:.2} s, {:.1} MB{target}",
            tickets.len(),
            elapsed.as_secs_f64(),
            bytes.len() as f64 / 1e6
        );
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}

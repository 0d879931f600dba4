//! Source import benchmark (issue 6):
//!
//!   cargo run --release -p server --bin source_bench -- [--tickets 100000] [--csv FILE] [--database-url URL]
//!
//! 1. A CSV of `--tickets` rows (or `--csv FILE`, e.g. the `tickets.csv` of
//!    `../shared/bench/gen_workload.py -n 100000 --out /tmp/wl100k`) uploaded over HTTP to the
//!    real server, signed in, into a file source: time from the first byte sent to the answer.
//! 2. The same number of tickets pulled from the Shotgun stand-in at 100 a page with no rate
//!    limit, by the refresher: time for the whole refresh.
//!
//! Targets on the 2-core reference machine: CSV under 2 s, Shotgun under 10 s.

use std::sync::Arc;
use std::time::Instant;

use app::backend::ServerContext;
use app::backend::storage::{NewPerformance, NewSource, Storage};
use app::domain::{FieldValues, InstitutionName, RefreshPeriods, SourceKind};
use app::engine::PerformanceId;
use leptos::prelude::LeptosOptions;
use serde_json::json;
use server::sources::scheduler::Partners;
use server::sources::secrets::SecretBox;
use server::standins::shotgun::ShotgunStandIn;

const PASSWORD: &str = "benchmark password";

const USAGE: &str = "source_bench [--tickets N (100000)] [--csv FILE] [--database-url URL]
  Uploads a CSV of N rows (or FILE) over HTTP into a file source, then pulls N tickets from the
  Shotgun stand-in at 100 a page, and prints both times. Default database: a new SQLite file.";

struct Args {
    tickets: usize,
    csv: Option<std::path::PathBuf>,
    database_url: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut parsed = Args { tickets: 100_000, csv: None, database_url: None };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--tickets" => parsed.tickets = value()?.parse().map_err(|_| "--tickets takes a number".to_owned())?,
            "--csv" => parsed.csv = Some(value()?.into()),
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

async fn new_performance(storage: &dyn Storage, institution: app::domain::InstitutionId, label: &str) -> Result<PerformanceId, String> {
    let venue = storage.create_venue(institution, "Bench hall", "Europe/Paris").await.map_err(|e| e.to_string())?;
    let event = storage.create_event(venue, label).await.map_err(|e| e.to_string())?;
    storage
        .create_performance(&NewPerformance { event, label: label.to_owned(), starts_at: Some(4_102_444_800_000), window: None, import_end: None })
        .await
        .map_err(|e| e.to_string())
}

fn generated_csv(tickets: usize) -> Vec<u8> {
    let mut csv = String::from("barcode,category,holder_name,status\n");
    for i in 0..tickets {
        let category = ["general", "vip", "staff"][i % 3];
        let status = if i % 50 == 0 { "cancelled" } else { "valid" };
        csv.push_str(&format!("BX{i:012},{category},Holder {i},{status}\n"));
    }
    csv.into_bytes()
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = args()?;
    let data_dir = std::env::temp_dir().join(format!("billetix-source-bench-{}", std::process::id()));
    let url = args.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", data_dir.join("bench.db").display()));
    println!("database: {}", if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" });
    let opened = server::storage::open(&url).await.map_err(|e| e.to_string())?;
    let storage = opened.storage.clone();
    server::bootstrap::ensure_root(storage.as_ref(), Some(PASSWORD)).await.map_err(|e| e.to_string())?;
    let root = storage.root_institution().await.map_err(|e| e.to_string())?.ok_or("no root")?;
    let name = InstitutionName::parse(&format!("Source bench {}", std::process::id())).map_err(|e| e.to_string())?;
    let institution = storage.create_institution(Some(root.id), &name).await.map_err(|e| e.to_string())?.id;

    let secrets = SecretBox::from_hex(&"00".repeat(32)).map_err(|e| e.to_string())?;
    let partners = Partners::new(storage.clone(), secrets.clone(), server::sources::http_client(server::sources::AddressPolicy::AllowPrivate)?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let context = ServerContext::new(opened.storage, opened.live, Arc::new(partners.clone()));
    let options = LeptosOptions::builder().output_name("billetix").site_addr(address).build();
    tokio::spawn(server::serve(listener, server::router(context, options)));
    let base_url = format!("http://{address}");

    // 1. CSV over HTTP.
    let bytes = match &args.csv {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => generated_csv(args.tickets),
    };
    let performance = new_performance(storage.as_ref(), institution, "CSV").await?;
    let file_source = storage
        .create_source(&NewSource {
            institution,
            kind: SourceKind::File,
            name: "File".into(),
            settings: FieldValues::new(),
            sealed_secrets: None,
            periods: RefreshPeriods::default(),
        })
        .await
        .map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder().cookie_store(true).build().map_err(|e| e.to_string())?;
    let signed = client.post(format!("{base_url}/api/sign_in")).json(&json!({"login": "admin", "password": PASSWORD})).send().await;
    if !signed.as_ref().is_ok_and(|r| r.status().is_success()) {
        return Err("cannot sign in as admin".into());
    }
    let size = bytes.len();
    let started = Instant::now();
    let response = client
        .post(format!("{base_url}/upload/source-file?performance={performance}&source={file_source}&file_name=tickets.csv"))
        .body(bytes)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    if !status.is_success() {
        return Err(format!("upload failed: {status} {answer}"));
    }
    println!(
        "CSV upload: {} tickets ({:.1} MB) imported in {:.2} s (target < 2 s): {}",
        answer["tickets"],
        size as f64 / 1e6,
        elapsed.as_secs_f64(),
        answer["imported"]
    );

    // 2. Shotgun stand-in, 100 a page, no rate limit.
    let shotgun = ShotgunStandIn::start("bench-token", 1, 100).await.map_err(|e| e.to_string())?;
    for i in 0..args.tickets as u64 {
        shotgun.put_ticket(ShotgunStandIn::ticket(i + 1, 10, &format!("SG{i:012}"), if i % 50 == 0 { "refunded" } else { "valid" }, "Deal"));
    }
    let performance = new_performance(storage.as_ref(), institution, "Shotgun").await?;
    let settings: FieldValues = [("organizer_id", "1"), ("api_url", shotgun.url.as_str()), ("requests_per_minute", "0")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let token: FieldValues = [("token".to_owned(), "bench-token".to_owned())].into();
    let source = storage
        .create_source(&NewSource {
            institution,
            kind: SourceKind::Shotgun,
            name: "Shotgun".into(),
            settings,
            sealed_secrets: Some(secrets.seal(&token)),
            periods: RefreshPeriods::default(),
        })
        .await
        .map_err(|e| e.to_string())?;
    let options: FieldValues = [("event_id".to_owned(), "10".to_owned())].into();
    storage.attach_source(performance, source, &options, 0).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    partners.refresh_due().await.map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    let attachment = storage.attachments(performance).await.map_err(|e| e.to_string())?.pop().ok_or("no attachment")?;
    if let Some(error) = attachment.last_error {
        return Err(format!("Shotgun refresh failed: {error}"));
    }
    println!(
        "Shotgun stand-in: {} tickets in {} requests of 100 imported in {:.2} s (target < 10 s)",
        attachment.tickets,
        shotgun.ticket_requests(),
        elapsed.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}

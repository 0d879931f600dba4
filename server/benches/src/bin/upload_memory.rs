//! Upload memory benchmark (issue 17, item 1):
//!
//!   cargo build --release -p server -p billetix-benches --bins
//!   target/release/upload_memory [--megabytes 64] [--format csv|xlsx|both] [--database-url URL]
//!
//! Starts the `billetix` binary built beside this one, once for each format, on a new SQLite file
//! (or URL), signs in and uploads a generated file of `--megabytes` (CSV: the workload's
//! `barcode,category,holder_name,status`; XLSX: the same columns and an order reference, as
//! many rows as make the size, at most XLSX's 1,048,575) into a file source: checked (a dry
//! run: read and mapped), then imported. Prints the server process's resident memory before the
//! upload and its peak (`VmHWM` of `/proc/PID/status`) after each, against the file's size.
//! Target: the peak's growth under 4× the file. The server's log goes to `server.log` in its
//! data directory; a failed upload prints its last lines.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const USAGE: &str = "upload_memory [--megabytes N (64)] [--format csv|xlsx|both (both)] [--database-url URL]
  Starts the billetix binary beside this one (cargo build --release -p server -p billetix-benches --bins) for each
  format, uploads a generated N MB file into a file source and prints the server process's peak
  resident memory (VmHWM) against the file's size. Default database: a new SQLite file each.";
const PASSWORD: &str = "benchmark password";
/// XLSX's last row, the header apart.
const XLSX_ROWS: usize = 1_048_575;

struct Args {
    megabytes: usize,
    formats: Vec<&'static str>,
    database_url: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut parsed = Args { megabytes: 64, formats: vec!["csv", "xlsx"], database_url: None };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--megabytes" => parsed.megabytes = value()?.parse().map_err(|_| "--megabytes takes a number".to_owned())?,
            "--format" => {
                parsed.formats = match value()?.as_str() {
                    "csv" => vec!["csv"],
                    "xlsx" => vec!["xlsx"],
                    "both" => vec!["csv", "xlsx"],
                    other => return Err(format!("--format {other}: csv, xlsx or both")),
                }
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

/// Reproducible pseudo-random text (xorshift), so every run uploads the same files.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn text(&mut self, length: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..length).map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize] as char).collect()
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[(self.next() % words.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Mia", "Noah"];
const LAST: &[&str] = &["Schmidt", "Meyer", "Garcia", "Kowalski", "Nguyen", "Rossi", "Novak", "Dubois", "Okafor", "Silva"];
const CATEGORIES: &[&str] = &["general", "general", "general", "vip", "staff"];

/// One ticket's cells: barcode, category, holder, status.
fn ticket(noise: &mut Noise) -> [String; 4] {
    let status = if noise.next() % 50 == 0 { "cancelled" } else { "valid" };
    [noise.text(16), noise.pick(CATEGORIES).to_owned(), format!("{} {}", noise.pick(FIRST), noise.pick(LAST)), status.to_owned()]
}

fn csv_file(bytes: usize) -> Vec<u8> {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut file = b"barcode,category,holder_name,status\n".to_vec();
    loop {
        let row = format!("{}\n", ticket(&mut noise).join(","));
        if file.len() + row.len() > bytes {
            return file;
        }
        file.extend_from_slice(row.as_bytes());
    }
}

fn xlsx_rows(rows: usize, reference: usize) -> Result<Vec<u8>, String> {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_low_memory().map_err(|e| e.to_string())?;
    for (column, name) in ["barcode", "category", "holder_name", "status", "order"].into_iter().enumerate() {
        sheet.write_string(0, column as u16, name).map_err(|e| e.to_string())?;
    }
    for row in 1..=rows as u32 {
        for (column, cell) in ticket(&mut noise).iter().enumerate() {
            sheet.write_string(row, column as u16, cell).map_err(|e| e.to_string())?;
        }
        if reference > 0 {
            sheet.write_string(row, 4, noise.text(reference)).map_err(|e| e.to_string())?;
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

/// An XLSX of about `bytes`: up to XLSX's row limit, then longer order references.
fn xlsx_file(bytes: usize) -> Result<Vec<u8>, String> {
    const SAMPLE: usize = 20_000;
    let per_row = |reference| xlsx_rows(SAMPLE, reference).map(|f| f.len() as f64 / SAMPLE as f64);
    let (plain, long) = (per_row(0)?, per_row(64)?);
    let (rows, reference) = if plain * XLSX_ROWS as f64 >= bytes as f64 {
        ((bytes as f64 / plain) as usize, 0)
    } else {
        (XLSX_ROWS, ((bytes as f64 / XLSX_ROWS as f64 - plain) / ((long - plain) / 64.0)) as usize)
    };
    let mut file = xlsx_rows(rows, reference)?;
    // The estimate may overshoot the server's limit: fewer rows then.
    let mut rows = rows;
    while file.len() > server::sources::file::MAX_FILE_BYTES {
        rows = rows * 99 / 100;
        file = xlsx_rows(rows, reference)?;
    }
    Ok(file)
}

/// Kilobytes of `field` (`VmRSS`, `VmHWM`) in `/proc/PID/status`.
fn memory_kb(pid: u32, field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))
}

/// The server process, stopped when dropped, and the file its log goes to.
struct Server(std::process::Child, std::path::PathBuf);

impl Server {
    /// The last lines the server logged: what a failed upload prints beside its answer.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.1).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_server(database_url: &str, data_dir: &std::path::Path) -> Result<(Server, String), String> {
    let binary = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("billetix");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let log_path = data_dir.join("server.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let child = std::process::Command::new(&binary)
        .env("DATABASE_URL", database_url)
        .env("BILLETIX_DATA_DIR", data_dir)
        .env("BILLETIX_ADDR", format!("127.0.0.1:{port}"))
        .env("BILLETIX_ADMIN_PASSWORD", PASSWORD)
        .env("LEPTOS_OUTPUT_NAME", "billetix")
        .env("RUST_LOG", "warn")
        .stdout(log)
        .spawn()
        .map_err(|e| format!("{}: {e} (cargo build --release -p server -p billetix-benches --bins)", binary.display()))?;
    let server = Server(child, log_path);
    let base_url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{base_url}/signin")).await.is_err() {
        if Instant::now() > deadline {
            return Err(format!("billetix did not start; its log ends with:\n{}", server.log_tail()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((server, base_url))
}

async fn measure(format: &str, file: Vec<u8>, database_url: &str, data_dir: &std::path::Path) -> Result<(), String> {
    let (server, base_url) = start_server(database_url, data_dir).await?;
    let pid = server.0.id();
    let client = reqwest::Client::builder().cookie_store(true).timeout(Duration::from_secs(600)).build().map_err(|e| e.to_string())?;
    let call = |function: &str, args: Value| {
        let request = client.post(format!("{base_url}/api/{function}")).json(&args);
        async move {
            let answer = request.send().await.map_err(|e| e.to_string())?;
            let status = answer.status();
            let body: Value = answer.json().await.map_err(|e| e.to_string())?;
            if status.is_success() { Ok(body) } else { Err(format!("{status}: {body}")) }
        }
    };
    call("sign_in", json!({"login": "admin", "password": PASSWORD})).await?;
    // The first Master is the root's.
    let root = call("whoami", json!({})).await?["master_of"].clone();
    let institution = call("create_institution", json!({"parent": root, "name": format!("Memory {format}")})).await?["id"].clone();
    let venue = call("create_venue", json!({"institution": institution, "name": "Salle", "time_zone": "Europe/Paris"})).await?;
    let event = call("create_event", json!({"venue": venue, "name": "Tournée"})).await?;
    let performance = call(
        "create_performance",
        json!({"event": event, "label": "", "starts_at": "2030-06-01T20:00", "valid_from": null, "valid_to": null, "import_end": null}),
    )
    .await?;
    let source = call(
        "sources/save",
        json!({"institution": institution, "source": null, "kind": "file", "name": "Fichier", "settings": {}, "secrets": {},
               "periods": {"long_minutes": 240, "short_minutes": 5, "short_window_hours": 24}}),
    )
    .await?;

    let (idle, started_peak) = (memory_kb(pid, "VmRSS")?, memory_kb(pid, "VmHWM")?);
    let size = file.len() as f64 / 1024.0 / 1024.0;
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "{}: {size:.1} MB; server resident {:.0} MB before the upload (peak {:.0} MB while starting)",
        format.to_uppercase(),
        mb(idle),
        mb(started_peak)
    );
    // First *Check* (read, mapped, nothing stored), then *Import*: the peak of each.
    for dry_run in [true, false] {
        let started = Instant::now();
        let answer = client
            .post(format!(
                "{base_url}/upload/source-file?performance={performance}&source={source}&file_name=tickets.{format}&dry_run={dry_run}"
            ))
            .body(file.clone())
            .send()
            .await
            .map_err(|e| format!("{format} upload: {e}; the server's log ends with:\n{}", server.log_tail()))?;
        let status = answer.status();
        let body: Value = answer.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{format} upload failed: {status} {body}; the server's log ends with:\n{}", server.log_tail()));
        }
        let peak = memory_kb(pid, "VmHWM")?;
        println!(
            "  {}: {} tickets in {:.1} s; peak resident {:.0} MB: {:.2}x the file in all, {:.2}x grown by the upload (target < 4x)",
            if dry_run { "check " } else { "import" },
            body["tickets"],
            started.elapsed().as_secs_f64(),
            mb(peak),
            mb(peak) / size,
            mb(peak.saturating_sub(idle)) / size,
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = args()?;
    let bytes = (args.megabytes * 1024 * 1024).min(server::sources::file::MAX_FILE_BYTES);
    for format in &args.formats {
        let file = match *format {
            "csv" => csv_file(bytes),
            _ => xlsx_file(bytes)?,
        };
        let data_dir = std::env::temp_dir().join(format!("billetix-upload-memory-{}-{format}", std::process::id()));
        let url = args.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", data_dir.join("bench.db").display()));
        let measured = measure(format, file, &url, &data_dir).await;
        let _ = std::fs::remove_dir_all(&data_dir);
        measured?;
    }
    Ok(())
}

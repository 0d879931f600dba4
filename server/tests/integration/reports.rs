//! Reports over HTTP, on both databases: paging, sorting on every column both ways, the filter
//! (part of a barcode or a holder's name, any case), totals by category (cancelled and
//! category-filtered tickets included), a ticket's history with an offline double entry, the
//! .xlsx and CSV downloads, and refusal to a login without back-office access.

use crate::support;

use std::collections::BTreeMap;

use app::ssr::storage::{ImportMode, ImportedTicket, NewSource, NewTicket};
use app::domain::{
    FieldValues, HistoryEntry, InstitutionId, PageSize, RefreshPeriods, ReportColumn, ReportFilter, ReportPage, ReportQuery,
    ReportRow, ScanAnomaly, SourceId, SourceKind,
};
use app::engine::{Barcode, Direction, Mode, PerformanceId, Refusal, TicketState, Verdict};
use app::error::AppError;
use app::sync::protocol::{DecidedBy, DeviceReason, Door, OfflineScan, ScanRequest, Uploaded, UploadedScan};
use serde_json::{Value, json};
use support::api::{FetchReportPage, FetchTicketHistory, SaveSource, Scan, SetCategoryFilters, SetScanDeadline, SyncSnapshot, SyncUpload};
use support::world::{CLERK, World};
use support::{ADMIN_PASSWORD, Client, PASSWORD, TestApp, fields};

const T0: i64 = 1_780_000_000_000;

/// A performance open for scanning with tickets from a file source (fields `seat`, `price`)
/// and two entered without a source; scanned by `door` and `door2`, with a double entry.
struct Scene {
    institution: InstitutionId,
    performance: PerformanceId,
    admin: Client,
}

/// A scan the device admitted while offline, at a single-pass door.
fn offline(scan_id: &str, barcode: &str, device: &str, at: i64, performance: PerformanceId) -> OfflineScan {
    OfflineScan {
        scan_id: scan_id.into(),
        barcode: barcode.into(),
        device: device.into(),
        scanned_at: at,
        door: Door { performances: vec![performance], mode: Mode::SinglePass, gate: None },
        device_verdict: Verdict::Accepted { direction: Direction::In },
        decided: Default::default(),
        clock_skew_ms: None,
        login: None,
    }
}

/// Whether the server recorded the uploaded scan, and then whether it was a conflict.
fn recorded_conflict(result: &UploadedScan) -> Option<bool> {
    match &result.outcome {
        Uploaded::Recorded { conflict, .. } => Some(*conflict),
        Uploaded::Refused { .. } => None,
    }
}

async fn scene(app: &TestApp) -> Scene {
    let built = World::new(app)
        .institution("Opéra")
        .event("Gala")
        .performance("", "2026-05-28T20:00")
        .door_login("door")
        .door_login("door2")
        .login("clerk", CLERK)
        .build()
        .await;
    let (admin, institution, performance) = (built.admin, built.institution, built.performance);
    let source = admin
        .call(SaveSource {
            institution,
            source: None,
            kind: SourceKind::File,
            name: "Box office".into(),
            settings: fields([]),
            secrets: fields([]),
            periods: RefreshPeriods::default(),
        })
        .await
        .expect("file source");
    let file = "barcode,category,holder_name,status,seat,price\n\
                R01,vip,Alice Martin,valid,A1,80\n\
                R02,general,Bob Stone,valid,B7,30\n\
                R03,general,Carla Mendes,cancelled,B8,30\n\
                R04,vip,David Mart,valid,A2,80\n\
                R05,staff,Eve Durand,valid,,0\n\
                X_9,general,Hugo 100% Sure,valid,C1,30\n";
    let (status, answer) = admin.upload(performance, source, "t.csv", false, file.as_bytes()).await;
    assert_eq!(status, 200, "{answer:?}");
    let extra = [
        ("R06", "general", None),
        ("R07", "staff", Some("Zed Martin")),
    ]
    .map(|(code, category, holder)| NewTicket {
        barcode: Barcode::parse(code).expect("barcode"),
        state: TicketState::Valid,
        category: category.into(),
        holder: holder.map(str::to_owned),
    });
    app.storage
        .upsert_tickets(performance, &extra, 1)
        .await
        .expect("tickets without a source");
    admin.call(support::api::SetPdaOpen { performance, open: true }).await.expect("open");
    admin.call(SetCategoryFilters { performance, excluded: vec!["staff".into()] }).await.expect("filter");
    let door = app.signed_in("door", PASSWORD).await;
    let door2 = app.signed_in("door2", PASSWORD).await;
    door.call(SyncUpload { scans: vec![offline("s1", "R01", "tab-1", T0, performance), offline("s2", "R02", "tab-1", T0 + 1_000, performance)] })
        .await
        .expect("upload");
    let outcome = door2
        .call(SyncUpload { scans: vec![offline("s3", "R01", "tab-2", T0 + 5_000, performance)] })
        .await
        .expect("upload");
    assert_eq!(recorded_conflict(&outcome.results[0]), Some(true), "a double entry");
    door2
        .call(SyncUpload { scans: vec![offline("s4", "R04", "tab-2", T0 + 2_000, performance)] })
        .await
        .expect("upload");
    Scene { institution, performance, admin }
}

fn query(performance: PerformanceId, page: u32, size: u32, sort: ReportColumn, descending: bool, filter: &str) -> ReportQuery {
    ReportQuery { performance, page, page_size: PageSize::new(size), sort, descending, filter: ReportFilter::new(filter) }
}

async fn page(client: &Client, query: ReportQuery) -> Result<ReportPage, AppError> {
    client.call(FetchReportPage { query }).await.map(|answer| answer.page)
}

/// A page asked for as a browser could ask, with a page size and a filter no `ReportQuery`
/// holds (unclamped, untrimmed): the server's own checks.
async fn raw_page(client: &Client, query: Value) -> Result<ReportPage, AppError> {
    let answer = client.call_json("reports/page", json!({ "query": query })).await?;
    Ok(serde_json::from_value::<app::pages::backoffice::reports::ReportAnswer>(answer).expect("a report").page)
}

fn barcodes(page: &ReportPage) -> Vec<String> {
    page.rows.iter().map(|r| r.barcode.clone()).collect()
}

async fn history(admin: &Client, performance: PerformanceId, barcode: &str) -> Vec<HistoryEntry> {
    admin.call(FetchTicketHistory { performance, barcode: barcode.into() }).await.expect("history").scans
}

async fn pages_and_sorting(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let s = scene(&app).await;
    let all = page(&s.admin, query(s.performance, 0, 500, ReportColumn::Barcode, false, "")).await.expect("report");
    assert_eq!(all.total_matching, 8);
    assert_eq!(
        barcodes(&all),
        ["R01", "R02", "R03", "R04", "R05", "R06", "R07", "X_9"]
    );
    let r01 = &all.rows[0];
    assert_eq!(r01.passes, 2);
    assert_eq!(r01.first_entry, Some(T0));
    assert_eq!(r01.last_scan, Some(T0 + 5_000));
    assert_eq!(r01.anomalies, 1);
    assert_eq!(r01.source_name.as_deref(), Some("Box office"));
    assert_eq!(r01.fields["seat"], "A1");
    assert_eq!(r01.fields["price"], "80");
    assert_eq!(all.rows[2].state, TicketState::Cancelled);
    assert!(all.rows[5].source_name.is_none() && all.rows[5].holder.is_none());

    // Pages of 3: 3 + 3 + 2, then nothing.
    let mut seen = Vec::new();
    for (number, expected) in [(0, 3), (1, 3), (2, 2), (3, 0)] {
        let p = page(&s.admin, query(s.performance, number, 3, ReportColumn::Barcode, false, "")).await.expect("page");
        assert_eq!(p.rows.len(), expected, "page {number}");
        assert_eq!(p.total_matching, 8);
        seen.extend(barcodes(&p));
    }
    assert_eq!(seen, barcodes(&all));
    // A page size past the cap is clamped, not refused (sent as is: `PageSize` would clamp it
    // before it left).
    let huge = json!({"performance": s.performance, "page": 0, "page_size": 100_000, "sort": "barcode", "descending": false, "filter": ""});
    assert_eq!(raw_page(&s.admin, huge).await.expect("clamped").total_matching, 8);

    // Every column both ways, as Rust sorts the same rows: missing values first ascending,
    // ties by barcode.
    let rows = all.rows.clone();
    let key = |row: &ReportRow, column: ReportColumn| -> (Option<String>, Option<i64>) {
        match column {
            ReportColumn::Barcode => (Some(row.barcode.clone()), None),
            ReportColumn::State => (Some(row.state.as_str().to_owned()), None),
            ReportColumn::Category => (Some(row.category.clone()), None),
            ReportColumn::Holder => (row.holder.clone(), None),
            ReportColumn::Source => (row.source_name.clone(), None),
            ReportColumn::FirstEntry => (None, row.first_entry),
            ReportColumn::Passes => (None, Some(i64::from(row.passes))),
        }
    };
    for column in ReportColumn::ALL {
        for descending in [false, true] {
            let mut expected = rows.clone();
            expected.sort_by(|a, b| {
                let order = key(a, column).cmp(&key(b, column)).then_with(|| a.barcode.cmp(&b.barcode));
                if descending { order.reverse() } else { order }
            });
            let expected: Vec<String> = expected.iter().map(|r| r.barcode.clone()).collect();
            let mut got = Vec::new();
            for number in 0..3 {
                got.extend(barcodes(&page(&s.admin, query(s.performance, number, 3, column, descending, "")).await.expect("sorted")));
            }
            assert_eq!(got, expected, "sorted by {column:?}, descending {descending}");
        }
    }
}
on_both_backends!(pages_and_sorting);

/// The source's sort reads each source's tickets apart: two sources of one name are one group,
/// their tickets interleaved by barcode, and pages cross from one group to the next.
async fn sorting_on_the_source_merges_sources_of_one_name(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let s = scene(&app).await;
    let (institution, performance) = (s.institution, s.performance);
    let source = |name: &str, kind: SourceKind| NewSource {
        institution,
        kind,
        name: name.to_owned(),
        settings: FieldValues::new(),
        sealed_secrets: None,
        periods: RefreshPeriods::default(),
    };
    let import = |source: SourceId, codes: &'static [&'static str]| {
        let storage = app.storage.clone();
        async move {
            storage.attach_source(performance, source, &FieldValues::new(), 0).await.expect("attach");
            let tickets: Vec<ImportedTicket> = codes
                .iter()
                .map(|code| ImportedTicket {
                    barcode: Barcode::parse(code).expect("barcode"),
                    state: TicketState::Valid,
                    category: "general".into(),
                    holder: None,
                    fields: "{}".into(),
                    partner_scanned_at: None,
                })
                .collect();
            storage.import_tickets(performance, source, ImportMode::Cumulative, &mut std::iter::once(tickets), 1).await.expect("import");
        }
    };
    let agency = app.storage.create_source(&source("Agence", SourceKind::Weezevent)).await.expect("source");
    let agency_too = app.storage.create_source(&source("Agence", SourceKind::Billetweb)).await.expect("source");
    let arena = app.storage.create_source(&source("Zénith", SourceKind::Eventbrite)).await.expect("source");
    import(agency, &["A1", "A4"]).await;
    import(agency_too, &["A2", "A3", "B0"]).await;
    import(arena, &["Z1"]).await;

    // No source first, then Agence (both), Box office, Zénith; by barcode within each.
    let ascending = ["R06", "R07", "A1", "A2", "A3", "A4", "B0", "R01", "R02", "R03", "R04", "R05", "X_9", "Z1"];
    for descending in [false, true] {
        let mut expected: Vec<&str> = ascending.to_vec();
        if descending {
            expected.reverse();
        }
        let mut got = Vec::new();
        for number in 0..5 {
            let p = page(&s.admin, query(s.performance, number, 3, ReportColumn::Source, descending, "")).await.expect("page");
            assert_eq!(p.total_matching, 14);
            got.extend(barcodes(&p));
        }
        assert_eq!(got, expected, "descending {descending}");
    }
    // Filtered ("a": A1 to A4 by number; Alice, Carla, David, Eve and Zed by name), the groups
    // count only the matching tickets.
    let mut got = Vec::new();
    for number in 0..3 {
        let p = page(&s.admin, query(s.performance, number, 4, ReportColumn::Source, false, "a")).await.expect("filtered");
        assert_eq!(p.total_matching, 9);
        got.extend(barcodes(&p));
    }
    assert_eq!(got, ["R07", "A1", "A2", "A3", "A4", "R01", "R03", "R04", "R05"]);
}
on_both_backends!(sorting_on_the_source_merges_sources_of_one_name);

async fn filter_and_totals(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let s = scene(&app).await;
    // Sent as typed, not trimmed here: the server reads the filter.
    let found = |filter: &'static str| {
        let (admin, performance) = (&s.admin, s.performance);
        async move {
            let query = json!({"performance": performance, "page": 0, "page_size": 50, "sort": "barcode", "descending": false, "filter": filter});
            barcodes(&raw_page(admin, query).await.expect("filtered"))
        }
    };
    assert_eq!(
        found("MART").await,
        ["R01", "R04", "R07"],
        "part of a name, any case"
    );
    assert_eq!(found("  alice martin ").await, ["R01"], "a whole name");
    assert_eq!(
        found("r0").await,
        ["R01", "R02", "R03", "R04", "R05", "R06", "R07"],
        "part of a barcode"
    );
    assert_eq!(found("R05").await, ["R05"], "a whole barcode");
    assert_eq!(
        found("_").await,
        ["X_9"],
        "an underscore is a character, not a wildcard"
    );
    assert_eq!(found("100%").await, ["X_9"], "a percent sign too");
    assert!(found("nobody").await.is_empty());
    let filtered = page(&s.admin, query(s.performance, 0, 2, ReportColumn::Barcode, false, "mart")).await.expect("filtered");
    assert_eq!(filtered.total_matching, 3);

    // Totals cover the whole performance whatever the filter: cancelled and category-filtered
    // (staff) tickets are counted.
    let totals: BTreeMap<String, (u64, u64, u64)> =
        filtered.totals_by_category.iter().map(|t| (t.category.clone(), (t.tickets, t.valid, t.admitted))).collect();
    assert_eq!(
        totals,
        BTreeMap::from([
            ("general".to_owned(), (4, 3, 1)),
            ("staff".to_owned(), (2, 2, 0)),
            ("vip".to_owned(), (2, 2, 2)),
        ])
    );
}
on_both_backends!(filter_and_totals);

async fn history_shows_the_double_entry(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let s = scene(&app).await;
    let scans = history(&s.admin, s.performance, "R01").await;
    assert_eq!(scans.len(), 2);
    assert_eq!(scans[0].device, "tab-1");
    assert_eq!(scans[0].at, T0);
    assert!(scans[0].admitted);
    assert!(scans[0].offline);
    assert!(scans[0].anomaly.is_none());
    assert_eq!(scans[1].device, "tab-2");
    assert_eq!(scans[1].anomaly, Some(ScanAnomaly::DoubleEntry));
    assert_eq!(scans[1].direction, Direction::In);
    assert!(history(&s.admin, s.performance, "R06").await.is_empty());
    assert_eq!(
        s.admin.call(FetchTicketHistory { performance: s.performance, barcode: "NOPE".into() }).await,
        Err(AppError::NotFound)
    );
}
on_both_backends!(history_shows_the_double_entry);

/// Issue 24 and issue 17 (item 6): each scan says who decided it (the server, with the round
/// trip its device measured; or the device, with why and whether the server agreed) and the
/// device's clock beside the server's; a scan recorded online whose answer came too late
/// becomes the device's decision, counted once; a report row counts device decisions,
/// disagreements and clocks more than a minute off.
async fn history_says_who_decided_and_the_device_clock(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let s = scene(&app).await;
    let door = app.signed_in("door", PASSWORD).await;
    let door_of = Door { performances: vec![s.performance], mode: Mode::SinglePass, gate: None };
    let accepted = Verdict::Accepted { direction: Direction::In };
    let online = |id: &str, barcode: &str| Scan {
        request: ScanRequest { scan_id: id.into(), barcode: barcode.into(), device: "tab-3".into(), client_time: T0, door: door_of.clone() },
    };
    let uploaded = |id: &str, barcode: &str, decided: DecidedBy, clock_skew_ms: Option<i64>| SyncUpload {
        scans: vec![OfflineScan {
            scan_id: id.into(),
            barcode: barcode.into(),
            device: "tab-3".into(),
            scanned_at: T0 + 60_000,
            door: door_of.clone(),
            device_verdict: accepted.clone(),
            decided,
            clock_skew_ms,
            login: None,
        }],
    };
    // Answered in time: shown, then uploaded with its round trip; a second upload changes nothing.
    let answer = door.call(online("on1", "R06")).await.expect("scan");
    assert_eq!(answer.verdict, accepted);
    assert_eq!(answer.pass.as_ref().map(|p| p.barcode.as_str()), Some("R06"), "the admission, for the device's copy");
    for round_trip_ms in [12, 99] {
        door.call(uploaded("on1", "R06", DecidedBy::Server { round_trip_ms }, None)).await.expect("upload");
    }
    // Answered too late: the door showed the device's verdict, made on a clock two minutes behind.
    door.call(online("late1", "X_9")).await.expect("scan");
    let outcome = door.call(uploaded("late1", "X_9", DecidedBy::Device { why: DeviceReason::Timeout }, Some(120_000))).await.expect("upload");
    assert!(matches!(outcome.results[0].outcome, Uploaded::Recorded { .. }), "{outcome:?}");
    // Offline, a ticket already in: the server disagrees (a double entry), the clock is off too.
    door.call(uploaded("off1", "R02", DecidedBy::Device { why: DeviceReason::Offline }, Some(-90_000))).await.expect("upload");

    let on1 = history(&s.admin, s.performance, "R06").await;
    assert_eq!(on1.len(), 1, "the upload of a scan decided online counts once");
    assert_eq!((on1[0].offline, on1[0].round_trip_ms, on1[0].device_reason), (false, Some(12), None));
    let late = history(&s.admin, s.performance, "X_9").await;
    assert_eq!(late.len(), 1, "a late answer and the upload count once");
    assert!(late[0].offline, "the device's verdict was shown");
    assert_eq!(late[0].device_reason, Some(DeviceReason::Timeout));
    assert_eq!(late[0].server_agreed, Some(true));
    assert_eq!(late[0].clock_skew_ms, Some(120_000));
    assert!(late[0].admitted);
    let off = history(&s.admin, s.performance, "R02").await;
    assert_eq!(off.len(), 2);
    assert_eq!(off[0].server_agreed, Some(true), "the first entry, offline, is what the server would have said");
    assert_eq!((off[1].device_reason, off[1].server_agreed), (Some(DeviceReason::Offline), Some(false)));
    assert_eq!((off[1].client_time, off[1].clock_skew_ms), (T0 + 60_000, Some(-90_000)));
    assert_eq!(off[1].anomaly, Some(ScanAnomaly::DoubleEntry));

    let rows = page(&s.admin, query(s.performance, 0, 50, ReportColumn::Barcode, false, "")).await.expect("page");
    let row = |barcode: &str| rows.rows.iter().find(|r| r.barcode == barcode).cloned().expect("row");
    let figures = |r: ReportRow| (r.passes, r.device_decisions, r.disagreements, r.clock_off);
    assert_eq!(figures(row("R06")), (1, 0, 0, 0));
    assert_eq!(figures(row("X_9")), (1, 1, 0, 1));
    assert_eq!(figures(row("R02")), (2, 2, 1, 1));

    // The institution's deadline reaches devices with their copy.
    let snapshot = door.call(SyncSnapshot { performance: s.performance }).await.expect("snapshot");
    assert_eq!(snapshot.scan_deadline_ms, 400, "the default");
    s.admin.call(SetScanDeadline { institution: s.institution, deadline_ms: 300 }).await.expect("set");
    let snapshot = door.call(SyncSnapshot { performance: s.performance }).await.expect("snapshot");
    assert_eq!(snapshot.scan_deadline_ms, 300);
}
on_both_backends!(history_says_who_decided_and_the_device_clock);

/// A browser of our own, to read downloads and their status.
async fn browser(app: &TestApp, login: &str, password: &str) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let signed = http
        .post(format!("{}/api/sign_in", app.base_url))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await;
    assert!(signed.expect("sign in").status().is_success());
    http
}

async fn download(
    app: &TestApp,
    http: &reqwest::Client,
    performance: PerformanceId,
    format: &str,
) -> (u16, String, Vec<u8>) {
    let response = http
        .get(format!(
            "{}/export/report?performance={performance}&format={format}",
            app.base_url
        ))
        .send()
        .await
        .expect("request reaches the server");
    let status = response.status().as_u16();
    let disposition = response
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        disposition,
        response.bytes().await.expect("body").to_vec(),
    )
}

async fn exports_download_every_ticket(backend: support::Backend) {
    use calamine::{Data, Reader};
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let s = scene(&app).await;
    let http = browser(&app, "admin", ADMIN_PASSWORD).await;

    let (status, disposition, bytes) = download(&app, &http, s.performance, "xlsx").await;
    assert_eq!(status, 200);
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"performance-{}.xlsx\"",
            s.performance
        )
    );
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx");
    let sheet = workbook
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 1 + 8, "a header and every ticket");
    assert_eq!(
        rows[0],
        [
            "barcode",
            "state",
            "category",
            "holder",
            "source",
            "passes",
            "first entry",
            "device decisions",
            "server disagreed",
            "device clock off",
            // Every column of the file, as the source gave it.
            "barcode",
            "category",
            "holder_name",
            "price",
            "seat",
            "status",
        ]
    );
    assert_eq!(
        rows[1][..6],
        ["R01", "valid", "vip", "Alice Martin", "Box office", "2"]
    );
    assert_eq!(rows[1][7..10], ["2", "1", "0"], "R01: two device decisions, the second a double entry");
    assert_eq!(
        rows[1][10..],
        ["R01", "vip", "Alice Martin", "80", "A1", "valid"]
    );
    assert_eq!(
        rows[6][10..],
        ["", "", "", "", "", ""],
        "R06 came without a source"
    );
    // First entry: a date cell, in the venue's time (Paris, UTC+2 in May).
    let first = sheet.get((1, 6)).expect("first entry");
    let expected = chrono::DateTime::from_timestamp_millis(T0)
        .expect("time")
        .with_timezone(&chrono_tz::Europe::Paris)
        .naive_local();
    let Data::DateTime(serial) = first else {
        panic!("a date cell: {first:?}")
    };
    let expected_serial = expected.and_utc().timestamp_millis() as f64 / 86_400_000.0 + 25_569.0;
    assert!(
        (serial.as_f64() - expected_serial).abs() < 1e-6,
        "{serial:?} is {expected}"
    );

    let (status, disposition, bytes) = download(&app, &http, s.performance, "csv").await;
    assert_eq!(status, 200);
    assert_eq!(
        disposition,
        format!("attachment; filename=\"performance-{}.csv\"", s.performance)
    );
    let text = String::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "barcode",
            "state",
            "category",
            "holder",
            "source",
            "passes",
            "first entry",
            "device decisions",
            "server disagreed",
            "device clock off",
            // Every column of the file, as the source gave it.
            "barcode",
            "category",
            "holder_name",
            "price",
            "seat",
            "status",
        ]
    );
    let records: Vec<csv::StringRecord> =
        reader.records().collect::<Result<_, _>>().expect("records");
    assert_eq!(records.len(), 8);
    assert_eq!([&records[0][7], &records[0][8], &records[0][9]], ["2", "1", "0"]);
    assert_eq!(
        &records[0][6],
        expected.format("%Y-%m-%d %H:%M:%S").to_string()
    );
    assert_eq!(&records[7][3], "Hugo 100% Sure");
}
on_both_backends!(exports_download_every_ticket);

async fn reports_need_backoffice_access(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let s = scene(&app).await;
    let door = app.signed_in("door", PASSWORD).await;
    assert_eq!(
        page(&door, query(s.performance, 0, 10, ReportColumn::Barcode, false, "")).await,
        Err(AppError::Forbidden)
    );
    assert_eq!(
        door.call(FetchTicketHistory { performance: s.performance, barcode: "R01".into() }).await,
        Err(AppError::Forbidden)
    );
    let http = browser(&app, "door2", PASSWORD).await;
    for format in ["xlsx", "csv"] {
        assert_eq!(
            download(&app, &http, s.performance, format).await.0,
            403,
            "{format}"
        );
    }
    let anonymous = reqwest::Client::new();
    assert_eq!(
        download(&app, &anonymous, s.performance, "csv").await.0,
        401
    );
    // Back-office access without the scanner right is enough.
    let clerk = app.signed_in("clerk", PASSWORD).await;
    assert_eq!(
        page(&clerk, query(s.performance, 0, 10, ReportColumn::Barcode, false, ""))
            .await
            .expect("report")
            .total_matching,
        8
    );
}
on_both_backends!(reports_need_backoffice_access);

/// A holder's name from a partner cannot become a formula in the reader's spreadsheet
/// (OWASP CSV injection; security review, finding 12).
async fn exports_neutralise_formulas_from_ticket_data(backend: support::Backend) {
    use calamine::Reader;
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let built = World::new(&app).institution("Cinéma").event("Séance").performance("", "2026-05-28T20:00").build().await;
    let (admin, performance) = (built.admin, built.performance);
    let source = admin.a_source(built.institution, SourceKind::File, "Box office", fields([])).await;
    let file = "barcode;category;holder_name\n\
                F01;general;\"=HYPERLINK(\"\"http://evil.example/x\"\",\"\"click\"\")\"\n\
                F02;general;+SUM(1+1)\n\
                F03;@staff;Ada Lovelace\n";
    let (status, answer) = admin.upload(performance, source, "t.csv", false, file.as_bytes()).await;
    assert_eq!(status, 200, "{answer:?}");
    let expected = [
        ("'=HYPERLINK(\"http://evil.example/x\",\"click\")", "general"),
        ("'+SUM(1+1)", "general"),
        ("Ada Lovelace", "'@staff"),
    ];
    let http = browser(&app, "admin", ADMIN_PASSWORD).await;

    let (status, _, bytes) = download(&app, &http, performance, "csv").await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bytes).expect("UTF-8");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("records");
    assert_eq!(records.len(), 3);
    for (record, (holder, category)) in records.iter().zip(expected) {
        assert_eq!((&record[3], &record[2]), (holder, category), "{record:?}");
        assert_eq!(&record[12], holder, "the source's own column too: {record:?}");
    }

    let (status, _, bytes) = download(&app, &http, performance, "xlsx").await;
    assert_eq!(status, 200);
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx");
    let sheet = workbook.worksheet_range_at(0).expect("a sheet").expect("readable");
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    for (row, (holder, category)) in rows[1..].iter().zip(expected) {
        assert_eq!((row[3].as_str(), row[2].as_str()), (holder, category), "{row:?}");
    }
}
on_both_backends!(exports_neutralise_formulas_from_ticket_data);

/// Issue 17, item 5: someone let out through an entry/exit door while never seen entering is
/// an anomaly in the ticket's history and its row, online or offline; it is not a double entry.
async fn an_exit_without_entry_is_an_anomaly(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let s = scene(&app).await;
    let door = app.signed_in("door", PASSWORD).await;
    let out = Door { performances: vec![s.performance], mode: Mode::EntryExit { direction: Direction::Out }, gate: None };
    let request = ScanRequest { scan_id: "out-1".into(), barcode: "R06".into(), device: "exit-1".into(), client_time: 0, door: out.clone() };
    let verdict = door.call(Scan { request }).await.expect("scan").verdict;
    assert_eq!(verdict, Verdict::Refused { reason: Refusal::ExitWithoutEntry });
    let scan = OfflineScan {
        scan_id: "out-2".into(),
        barcode: "R05".into(),
        device: "exit-2".into(),
        scanned_at: T0 + 9_000,
        door: out,
        device_verdict: Verdict::Refused { reason: Refusal::ExitWithoutEntry },
        decided: Default::default(),
        clock_skew_ms: None,
        login: None,
    };
    let upload = door.call(SyncUpload { scans: vec![scan] }).await.expect("upload");
    assert_eq!(recorded_conflict(&upload.results[0]), Some(false), "not a double entry: {upload:?}");
    for barcode in ["R06", "R05"] {
        let scans = history(&s.admin, s.performance, barcode).await;
        assert_eq!(scans[0].anomaly, Some(ScanAnomaly::ExitWithoutEntry), "{barcode}: {scans:?}");
    }
    let found = page(&s.admin, query(s.performance, 0, 50, ReportColumn::Barcode, false, "R06")).await.expect("page");
    assert_eq!(found.rows[0].anomalies, 1, "{found:?}");
}
on_both_backends!(an_exit_without_entry_is_an_anomaly);

//! Reports over HTTP, on both databases: paging, sorting on every column both ways, the filter
//! (part of a barcode or a holder's name, any case), totals by category (cancelled and
//! category-filtered tickets included), a ticket's history with an offline double entry, the
//! .xlsx and CSV downloads, and refusal to a login without back-office access.

use crate::support;

use std::collections::BTreeMap;

use app::ssr::storage::{ImportMode, ImportedTicket, NewSource, NewTicket};
use app::domain::{FieldValues, InstitutionId, RefreshPeriods, SourceKind, SourceId};
use app::engine::{Barcode, Mode, PerformanceId, TicketState};
use app::error::AppError;
use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, Client, TestApp};

const PASSWORD: &str = "a long enough password";
const T0: i64 = 1_780_000_000_000;

/// A performance open for scanning with tickets from a file source (fields `seat`, `price`)
/// and two entered without a source; scanned by `door` and `door2`, with a double entry.
struct Scene {
    institution: Value,
    performance: Value,
    admin: Client,
}

async fn scene(app: &TestApp) -> Scene {
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app
        .storage
        .root_institution()
        .await
        .expect("root")
        .expect("exists")
        .id;
    let institution = admin
        .call(
            "create_institution",
            json!({"parent": root, "name": "Opéra"}),
        )
        .await
        .expect("institution")["id"]
        .clone();
    let venue = admin
        .call(
            "create_venue",
            json!({"institution": institution, "name": "Salle", "time_zone": "Europe/Paris"}),
        )
        .await
        .expect("venue");
    let event = admin
        .call("create_event", json!({"venue": venue, "name": "Gala"}))
        .await
        .expect("event");
    let performance = admin
        .call("create_performance", json!({"event": event, "label": "", "starts_at": "2026-05-28T20:00",
                                           "valid_from": null, "valid_to": null, "import_end": null}))
        .await
        .expect("performance");
    let source = admin
        .call("sources/save", json!({"institution": institution, "source": null, "kind": "file", "name": "Box office",
                                      "settings": {}, "secrets": {},
                                      "periods": {"long_minutes": 240, "short_minutes": 5, "short_window_hours": 24}}))
        .await
        .expect("file source");
    let file = "barcode,category,holder_name,status,seat,price\n\
                R01,vip,Alice Martin,valid,A1,80\n\
                R02,general,Bob Stone,valid,B7,30\n\
                R03,general,Carla Mendes,cancelled,B8,30\n\
                R04,vip,David Mart,valid,A2,80\n\
                R05,staff,Eve Durand,valid,,0\n\
                X_9,general,Hugo 100% Sure,valid,C1,30\n";
    let (status, answer) = admin
        .post_bytes(
            &format!(
                "/upload/source-file?performance={performance}&source={source}&file_name=t.csv"
            ),
            file.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let id = PerformanceId(performance.as_i64().expect("id"));
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
        .upsert_tickets(id, &extra, 1)
        .await
        .expect("tickets without a source");
    admin
        .call(
            "set_pda_open",
            json!({"performance": performance, "open": true}),
        )
        .await
        .expect("open");
    admin
        .call(
            "set_category_filters",
            json!({"performance": performance, "excluded": ["staff"]}),
        )
        .await
        .expect("filter");
    for (login, backoffice) in [("door", false), ("door2", false), ("clerk", true)] {
        admin
            .call("create_login", json!({"institution": institution, "login": login, "password": PASSWORD,
                                         "rights": {"admin": false, "pda": !backoffice, "backoffice": backoffice}}))
            .await
            .expect("login");
    }
    let offline = |scan_id: &str, barcode: &str, device: &str, at: i64| {
        json!({"scan_id": scan_id, "barcode": barcode, "device": device, "scanned_at": at,
               "door": {"performances": [performance], "mode": Mode::SinglePass},
               "device_verdict": {"verdict": "accepted", "direction": "in"}})
    };
    let door = app.signed_in("door", PASSWORD).await;
    let door2 = app.signed_in("door2", PASSWORD).await;
    door.call("sync_upload", json!({"scans": [offline("s1", "R01", "tab-1", T0), offline("s2", "R02", "tab-1", T0 + 1_000)]}))
        .await
        .expect("upload");
    let outcome = door2
        .call(
            "sync_upload",
            json!({"scans": [offline("s3", "R01", "tab-2", T0 + 5_000)]}),
        )
        .await
        .expect("upload");
    assert_eq!(
        outcome["results"][0]["conflict"],
        json!(true),
        "a double entry"
    );
    door2
        .call(
            "sync_upload",
            json!({"scans": [offline("s4", "R04", "tab-2", T0 + 2_000)]}),
        )
        .await
        .expect("upload");
    Scene { institution, performance, admin }
}

fn query(
    performance: &Value,
    page: u32,
    size: u32,
    sort: &str,
    descending: bool,
    filter: &str,
) -> Value {
    json!({"query": {"performance": performance, "page": page, "page_size": size, "sort": sort,
                     "descending": descending, "filter": filter}})
}

async fn page(client: &Client, query: Value) -> Result<Value, AppError> {
    client
        .call("reports/page", query)
        .await
        .map(|answer| answer["page"].clone())
}

fn barcodes(page: &Value) -> Vec<String> {
    page["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["barcode"].as_str().expect("barcode").to_owned())
        .collect()
}

async fn pages_and_sorting(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else {
        return;
    };
    let s = scene(&app).await;
    let all = page(
        &s.admin,
        query(&s.performance, 0, 500, "barcode", false, ""),
    )
    .await
    .expect("report");
    assert_eq!(all["total_matching"], 8);
    assert_eq!(
        barcodes(&all),
        ["R01", "R02", "R03", "R04", "R05", "R06", "R07", "X_9"]
    );
    let r01 = &all["rows"][0];
    assert_eq!(r01["passes"], 2);
    assert_eq!(r01["first_entry"], T0);
    assert_eq!(r01["last_scan"], T0 + 5_000);
    assert_eq!(r01["anomalies"], 1);
    assert_eq!(r01["source_name"], "Box office");
    assert_eq!(r01["fields"]["seat"], "A1");
    assert_eq!(r01["fields"]["price"], "80");
    assert_eq!(all["rows"][2]["state"], "cancelled");
    assert!(all["rows"][5]["source_name"].is_null() && all["rows"][5]["holder"].is_null());

    // Pages of 3: 3 + 3 + 2, then nothing.
    let mut seen = Vec::new();
    for (number, expected) in [(0, 3), (1, 3), (2, 2), (3, 0)] {
        let p = page(
            &s.admin,
            query(&s.performance, number, 3, "barcode", false, ""),
        )
        .await
        .expect("page");
        assert_eq!(
            p["rows"].as_array().expect("rows").len(),
            expected,
            "page {number}"
        );
        assert_eq!(p["total_matching"], 8);
        seen.extend(barcodes(&p));
    }
    assert_eq!(seen, barcodes(&all));
    // A page size past the cap is clamped, not refused.
    assert_eq!(
        page(
            &s.admin,
            query(&s.performance, 0, 100_000, "barcode", false, "")
        )
        .await
        .expect("clamped")["total_matching"],
        8
    );

    // Every column both ways, as Rust sorts the same rows: missing values first ascending,
    // ties by barcode.
    let rows = all["rows"].as_array().expect("rows").clone();
    let key = |row: &Value, column: &str| -> (Option<String>, Option<i64>) {
        let text = |name: &str| row[name].as_str().map(str::to_owned);
        match column {
            "barcode" => (text("barcode"), None),
            "state" => (text("state"), None),
            "category" => (text("category"), None),
            "holder" => (text("holder"), None),
            "source" => (text("source_name"), None),
            "first_entry" => (None, row["first_entry"].as_i64()),
            "passes" => (None, row["passes"].as_i64()),
            other => panic!("no column {other}"),
        }
    };
    for column in [
        "barcode",
        "state",
        "category",
        "holder",
        "source",
        "first_entry",
        "passes",
    ] {
        for descending in [false, true] {
            let mut expected = rows.clone();
            expected.sort_by(|a, b| {
                let order = key(a, column)
                    .cmp(&key(b, column))
                    .then_with(|| a["barcode"].as_str().cmp(&b["barcode"].as_str()));
                if descending { order.reverse() } else { order }
            });
            let expected: Vec<String> = expected
                .iter()
                .map(|r| r["barcode"].as_str().expect("barcode").to_owned())
                .collect();
            let mut got = Vec::new();
            for number in 0..3 {
                got.extend(barcodes(
                    &page(
                        &s.admin,
                        query(&s.performance, number, 3, column, descending, ""),
                    )
                    .await
                    .expect("sorted"),
                ));
            }
            assert_eq!(got, expected, "sorted by {column}, descending {descending}");
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
    let institution = InstitutionId(s.institution.as_i64().expect("institution id"));
    let performance = PerformanceId(s.performance.as_i64().expect("performance id"));
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
            let p = page(&s.admin, query(&s.performance, number, 3, "source", descending, "")).await.expect("page");
            assert_eq!(p["total_matching"], 14);
            got.extend(barcodes(&p));
        }
        assert_eq!(got, expected, "descending {descending}");
    }
    // Filtered ("a": A1 to A4 by number; Alice, Carla, David, Eve and Zed by name), the groups
    // count only the matching tickets.
    let mut got = Vec::new();
    for number in 0..3 {
        let p = page(&s.admin, query(&s.performance, number, 4, "source", false, "a")).await.expect("filtered");
        assert_eq!(p["total_matching"], 9);
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
    let found = |filter: &'static str| {
        let admin = &s.admin;
        let performance = s.performance.clone();
        async move {
            barcodes(
                &page(admin, query(&performance, 0, 50, "barcode", false, filter))
                    .await
                    .expect("filtered"),
            )
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
    let filtered = page(
        &s.admin,
        query(&s.performance, 0, 2, "barcode", false, "mart"),
    )
    .await
    .expect("filtered");
    assert_eq!(filtered["total_matching"], 3);

    // Totals cover the whole performance whatever the filter: cancelled and category-filtered
    // (staff) tickets are counted.
    let totals: BTreeMap<String, (u64, u64, u64)> = filtered["totals_by_category"]
        .as_array()
        .expect("totals")
        .iter()
        .map(|t| {
            let n = |k: &str| t[k].as_u64().expect("count");
            (
                t["category"].as_str().expect("category").to_owned(),
                (n("tickets"), n("valid"), n("admitted")),
            )
        })
        .collect();
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
    let history = s
        .admin
        .call(
            "reports/history",
            json!({"performance": s.performance, "barcode": "R01"}),
        )
        .await
        .expect("history");
    let scans = history["scans"].as_array().expect("scans");
    assert_eq!(scans.len(), 2);
    assert_eq!(scans[0]["device"], "tab-1");
    assert_eq!(scans[0]["at"], T0);
    assert_eq!(scans[0]["admitted"], true);
    assert_eq!(scans[0]["offline"], true);
    assert!(scans[0]["anomaly"].is_null());
    assert_eq!(scans[1]["device"], "tab-2");
    assert_eq!(scans[1]["anomaly"], "double_entry");
    assert_eq!(scans[1]["direction"], "in");
    let unscanned = s
        .admin
        .call(
            "reports/history",
            json!({"performance": s.performance, "barcode": "R06"}),
        )
        .await
        .expect("history");
    assert_eq!(unscanned["scans"], json!([]));
    assert_eq!(
        s.admin
            .call(
                "reports/history",
                json!({"performance": s.performance, "barcode": "NOPE"})
            )
            .await,
        Err(AppError::NotFound)
    );
}
on_both_backends!(history_shows_the_double_entry);

async fn history(admin: &Client, performance: &Value, barcode: &str) -> Vec<Value> {
    let history = admin
        .call("reports/history", json!({"performance": performance, "barcode": barcode}))
        .await
        .expect("history");
    history["scans"].as_array().expect("scans").clone()
}

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
    let door_of = json!({"performances": [s.performance], "mode": Mode::SinglePass});
    let accepted = json!({"verdict": "accepted", "direction": "in"});
    let online = |id: &str, barcode: &str| {
        json!({"request": {"scan_id": id, "barcode": barcode, "device": "tab-3", "client_time": T0, "door": door_of}})
    };
    let uploaded = |id: &str, barcode: &str, decided: Value, skew: Value| {
        json!({"scan_id": id, "barcode": barcode, "device": "tab-3", "scanned_at": T0 + 60_000, "door": door_of,
               "device_verdict": accepted, "decided": decided, "clock_skew_ms": skew})
    };
    // Answered in time: shown, then uploaded with its round trip; a second upload changes nothing.
    let answer = door.call("scan", online("on1", "R06")).await.expect("scan");
    assert_eq!(answer["verdict"], accepted);
    assert_eq!(answer["pass"]["barcode"], "R06", "the admission, for the device's copy");
    for round_trip in [12, 99] {
        door.call("sync_upload", json!({"scans": [uploaded("on1", "R06", json!({"by": "server", "round_trip_ms": round_trip}), Value::Null)]}))
            .await
            .expect("upload");
    }
    // Answered too late: the door showed the device's verdict, made on a clock two minutes behind.
    door.call("scan", online("late1", "X_9")).await.expect("scan");
    let outcome = door
        .call("sync_upload", json!({"scans": [uploaded("late1", "X_9", json!({"by": "device", "why": "timeout"}), json!(120_000))]}))
        .await
        .expect("upload");
    assert_eq!(outcome["results"][0]["outcome"], "recorded");
    // Offline, a ticket already in: the server disagrees (a double entry), the clock is off too.
    door.call("sync_upload", json!({"scans": [uploaded("off1", "R02", json!({"by": "device", "why": "offline"}), json!(-90_000))]}))
        .await
        .expect("upload");

    let on1 = history(&s.admin, &s.performance, "R06").await;
    assert_eq!(on1.len(), 1, "the upload of a scan decided online counts once");
    assert_eq!((&on1[0]["offline"], &on1[0]["round_trip_ms"], &on1[0]["device_reason"]), (&json!(false), &json!(12), &Value::Null));
    let late = history(&s.admin, &s.performance, "X_9").await;
    assert_eq!(late.len(), 1, "a late answer and the upload count once");
    assert_eq!(late[0]["offline"], true, "the device's verdict was shown");
    assert_eq!(late[0]["device_reason"], "timeout");
    assert_eq!(late[0]["server_agreed"], true);
    assert_eq!(late[0]["clock_skew_ms"], 120_000);
    assert_eq!(late[0]["admitted"], true);
    let off = history(&s.admin, &s.performance, "R02").await;
    assert_eq!(off.len(), 2);
    assert_eq!(off[0]["server_agreed"], true, "the first entry, offline, is what the server would have said");
    assert_eq!((&off[1]["device_reason"], &off[1]["server_agreed"]), (&json!("offline"), &json!(false)));
    assert_eq!((&off[1]["client_time"], &off[1]["clock_skew_ms"]), (&json!(T0 + 60_000), &json!(-90_000)));
    assert_eq!(off[1]["anomaly"], "double_entry");

    let rows = page(&s.admin, query(&s.performance, 0, 50, "barcode", false, "")).await.expect("page");
    let row = |barcode: &str| {
        rows["rows"].as_array().expect("rows").iter().find(|r| r["barcode"] == barcode).cloned().expect("row")
    };
    let figures = |r: Value| (r["passes"].clone(), r["device_decisions"].clone(), r["disagreements"].clone(), r["clock_off"].clone());
    assert_eq!(figures(row("R06")), (json!(1), json!(0), json!(0), json!(0)));
    assert_eq!(figures(row("X_9")), (json!(1), json!(1), json!(0), json!(1)));
    assert_eq!(figures(row("R02")), (json!(2), json!(2), json!(1), json!(1)));

    // The institution's deadline reaches devices with their copy.
    let snapshot = door.call("sync_snapshot", json!({"performance": s.performance})).await.expect("snapshot");
    assert_eq!(snapshot["scan_deadline_ms"], 400, "the default");
    s.admin.call("set_scan_deadline", json!({"institution": s.institution, "deadline_ms": 300})).await.expect("set");
    let snapshot = door.call("sync_snapshot", json!({"performance": s.performance})).await.expect("snapshot");
    assert_eq!(snapshot["scan_deadline_ms"], 300);
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
    performance: &Value,
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

    let (status, disposition, bytes) = download(&app, &http, &s.performance, "xlsx").await;
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

    let (status, disposition, bytes) = download(&app, &http, &s.performance, "csv").await;
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
        page(&door, query(&s.performance, 0, 10, "barcode", false, "")).await,
        Err(AppError::Forbidden)
    );
    assert_eq!(
        door.call(
            "reports/history",
            json!({"performance": s.performance, "barcode": "R01"})
        )
        .await,
        Err(AppError::Forbidden)
    );
    let http = browser(&app, "door2", PASSWORD).await;
    for format in ["xlsx", "csv"] {
        assert_eq!(
            download(&app, &http, &s.performance, format).await.0,
            403,
            "{format}"
        );
    }
    let anonymous = reqwest::Client::new();
    assert_eq!(
        download(&app, &anonymous, &s.performance, "csv").await.0,
        401
    );
    // Back-office access without the scanner right is enough.
    let clerk = app.signed_in("clerk", PASSWORD).await;
    assert_eq!(
        page(&clerk, query(&s.performance, 0, 10, "barcode", false, ""))
            .await
            .expect("report")["total_matching"],
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
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let institution = admin.call("create_institution", json!({"parent": root, "name": "Cinéma"})).await.expect("institution")["id"].clone();
    let venue = admin.call("create_venue", json!({"institution": institution, "name": "Salle", "time_zone": "Europe/Paris"})).await.expect("venue");
    let event = admin.call("create_event", json!({"venue": venue, "name": "Séance"})).await.expect("event");
    let performance = admin
        .call("create_performance", json!({"event": event, "label": "", "starts_at": "2026-05-28T20:00",
                                           "valid_from": null, "valid_to": null, "import_end": null}))
        .await
        .expect("performance");
    let source = admin
        .call("sources/save", json!({"institution": institution, "source": null, "kind": "file", "name": "Box office",
                                      "settings": {}, "secrets": {},
                                      "periods": {"long_minutes": 240, "short_minutes": 5, "short_window_hours": 24}}))
        .await
        .expect("file source");
    let file = "barcode;category;holder_name\n\
                F01;general;\"=HYPERLINK(\"\"http://evil.example/x\"\",\"\"click\"\")\"\n\
                F02;general;+SUM(1+1)\n\
                F03;@staff;Ada Lovelace\n";
    let (status, answer) = admin
        .post_bytes(&format!("/upload/source-file?performance={performance}&source={source}&file_name=t.csv"), file.as_bytes().to_vec())
        .await;
    assert_eq!(status, 200, "{answer}");
    let expected = [
        ("'=HYPERLINK(\"http://evil.example/x\",\"click\")", "general"),
        ("'+SUM(1+1)", "general"),
        ("Ada Lovelace", "'@staff"),
    ];
    let http = browser(&app, "admin", ADMIN_PASSWORD).await;

    let (status, _, bytes) = download(&app, &http, &performance, "csv").await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bytes).expect("UTF-8");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("records");
    assert_eq!(records.len(), 3);
    for (record, (holder, category)) in records.iter().zip(expected) {
        assert_eq!((&record[3], &record[2]), (holder, category), "{record:?}");
        assert_eq!(&record[12], holder, "the source's own column too: {record:?}");
    }

    let (status, _, bytes) = download(&app, &http, &performance, "xlsx").await;
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
    let out = json!({"performances": [s.performance], "mode": Mode::EntryExit { direction: app::engine::Direction::Out }});
    let verdict = door
        .call("scan", json!({"request": {"scan_id": "out-1", "barcode": "R06", "device": "exit-1", "client_time": 0, "door": out}}))
        .await
        .expect("scan");
    assert_eq!(verdict["verdict"]["reason"], "exit_without_entry");
    let upload = door
        .call("sync_upload", json!({"scans": [{"scan_id": "out-2", "barcode": "R05", "device": "exit-2", "scanned_at": T0 + 9_000, "door": out,
                                               "device_verdict": {"verdict": "refused", "reason": "exit_without_entry"}}]}))
        .await
        .expect("upload");
    assert_eq!(upload["results"][0]["conflict"], false, "not a double entry: {upload}");
    for barcode in ["R06", "R05"] {
        let history = s.admin.call("reports/history", json!({"performance": s.performance, "barcode": barcode})).await.expect("history");
        assert_eq!(history["scans"][0]["anomaly"], "exit_without_entry", "{barcode}: {history}");
    }
    let found = page(&s.admin, query(&s.performance, 0, 50, "barcode", false, "R06")).await.expect("page");
    assert_eq!(found["rows"][0]["anomalies"], 1, "{found}");
}
on_both_backends!(an_exit_without_entry_is_an_anomaly);

//! History is never erased by configuration, over HTTP on both databases: detaching a source
//! and importing again keeps every pass, so a used ticket is not let in a second time.

use crate::support;

use app::engine::{Refusal, Verdict};
use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, Client};

async fn scan(client: &Client, scan_id: &str, barcode: &str, performance: &Value) -> Verdict {
    let answer = client
        .call(
            "scan",
            json!({"request": {"scan_id": scan_id, "barcode": barcode, "device": "gate-1", "client_time": 1_780_000_000_000_i64,
                               "door": {"performances": [performance], "mode": {"mode": "single_pass"}}}}),
        )
        .await
        .expect("scan");
    serde_json::from_value(answer["verdict"].clone()).expect("verdict")
}

/// Finding 5 of the security review: detach, re-import, and A1 was admitted a second time;
/// the passes of A2 were gone from the report.
async fn a_detached_and_reimported_ticket_is_still_already_scanned(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Théâtre").await;
    admin.call("set_pda_open", json!({"performance": performance, "open": true})).await.expect("open");
    let source = admin.a_source(&institution, "file", "Fichier", json!({})).await;
    let upload = format!("/upload/source-file?performance={performance}&source={source}&file_name=t.csv&dry_run=false");
    let file = b"barcode,category\nA1,general\nA2,general\nA3,general\n".to_vec();
    let (status, answer) = admin.post_bytes(&upload, file.clone()).await;
    assert_eq!(status, 200, "{answer}");

    assert!(scan(&admin, "h1", "A1", &performance).await.is_accepted());
    assert!(scan(&admin, "h2", "A2", &performance).await.is_accepted());
    // Detaching a source whose tickets were admitted asks for the number of passes first.
    assert_eq!(
        admin.call("sources/detach", json!({"performance": performance, "source": source})).await,
        Err(app::error::AppError::DetachNeedsConfirmation { passes: 2 })
    );
    assert_eq!(admin.attachment(&performance).await["passes"], json!(2));
    admin.call("sources/detach", json!({"performance": performance, "source": source, "passes_confirmed": 2})).await.expect("detach");
    // While detached no number passes: a scanned one is kept (of no source, state unknown),
    // one never scanned is gone.
    assert_eq!(scan(&admin, "h3", "A1", &performance).await, Verdict::Refused { reason: Refusal::UnknownStateTicket });
    assert_eq!(scan(&admin, "h4", "A3", &performance).await, Verdict::Refused { reason: Refusal::UnknownNumber });

    let (status, answer) = admin.post_bytes(&upload, file).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        matches!(scan(&admin, "h5", "A1", &performance).await, Verdict::Refused { reason: Refusal::AlreadyScanned { .. } }),
        "a ticket admitted before the detach is already scanned after the re-import"
    );
    assert!(scan(&admin, "h6", "A3", &performance).await.is_accepted(), "a ticket never scanned comes back fresh");
    let tickets = app.tickets_by_code(&performance).await;
    assert_eq!(tickets.len(), 3);
    let (admitted, total) = app.storage.admission_counts(app::engine::PerformanceId(performance.as_i64().expect("id"))).await.expect("counts");
    assert_eq!((admitted, total), (3, 3), "A1, A2 and A3 each admitted once");
    let scans = app.storage.scans_since(&[app::engine::PerformanceId(performance.as_i64().expect("id"))], 0).await.expect("scans");
    let count = |code: &str| scans.iter().filter(|s| s.barcode.as_str() == code).count();
    assert_eq!((count("A1"), count("A2")), (3, 1), "every scan of a ticket that was detached is kept");
}
on_both_backends!(a_detached_and_reimported_ticket_is_still_already_scanned);

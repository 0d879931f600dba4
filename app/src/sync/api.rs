//! The device protocol's server functions, at stable paths under `/api/`.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use billetix_core::engine::PerformanceId;

use super::protocol::*;
use crate::error::AppError;

/// Tests only: `BILLETIX_TEST_SCAN_DELAY_MS` holds every online scan (and probe) this long
/// before it is decided, as a slow network would, so the scanner's deadline can be tested.
#[cfg(feature = "ssr")]
async fn test_scan_delay() {
    static DELAY: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    let delay = DELAY.get_or_init(|| {
        std::env::var("BILLETIX_TEST_SCAN_DELAY_MS").ok().and_then(|ms| ms.parse().ok()).map(std::time::Duration::from_millis)
    });
    if let Some(delay) = delay {
        tokio::time::sleep(*delay).await;
    }
}

#[server(endpoint = "scan", input = Json)]
pub async fn scan(request: ScanRequest) -> Result<ScanOutcome, AppError> {
    use crate::ssr::{context, metrics, session::current_door_actor};
    let received = std::time::Instant::now();
    test_scan_delay().await;
    let ctx = context()?;
    let actor = current_door_actor().await?;
    let record = super::service::scan_online(ctx.storage.as_ref(), &ctx.performances, &actor, request).await?;
    metrics::scan_answered(received.elapsed());
    ctx.live.publish_scan(&record);
    // The time the scan was decided at, which is when its pass (if any) happened.
    let pass = record.pass_row();
    Ok(ScanOutcome { scan_id: record.scan_uuid, verdict: record.verdict, server_time: record.server_time, pass })
}

/// How quickly the server answers a door, for a device deciding alone to know when to ask
/// again: the server's time, to a signed-in door.
#[server(endpoint = "scan_probe", input = Json)]
pub async fn scan_probe() -> Result<Millis, AppError> {
    use crate::ssr::session::current_door_actor;
    test_scan_delay().await;
    current_door_actor().await?;
    Ok(crate::ssr::now_millis())
}

#[server(endpoint = "sync_upload", input = Json)]
pub async fn sync_upload(scans: Vec<OfflineScan>) -> Result<UploadOutcome, AppError> {
    use crate::ssr::{context, metrics, session::current_door_actor};
    let ctx = context()?;
    let actor = current_door_actor().await?;
    metrics::upload_received(scans.len());
    let (results, records) = super::service::upload(ctx.storage.as_ref(), &ctx.performances, &actor, scans).await?;
    for record in &records {
        ctx.live.publish_scan(record);
    }
    Ok(UploadOutcome { server_time: crate::ssr::now_millis(), results })
}

#[server(endpoint = "sync_snapshot", input = Json)]
pub async fn sync_snapshot(performance: PerformanceId) -> Result<Snapshot, AppError> {
    use crate::ssr::{context, session::current_actor};
    let ctx = context()?;
    let actor = current_actor().await?;
    super::service::snapshot(ctx.storage.as_ref(), &ctx.performances, &actor, performance).await
}

#[server(endpoint = "sync_holders", input = Json)]
pub async fn sync_holders(performance: PerformanceId) -> Result<Holders, AppError> {
    use crate::ssr::{context, session::current_actor};
    let ctx = context()?;
    let actor = current_actor().await?;
    super::service::holders(ctx.storage.as_ref(), &ctx.performances, &actor, performance).await
}

#[server(endpoint = "sync_delta", input = Json)]
pub async fn sync_delta(performances: Vec<PerformanceId>, cursor: Millis) -> Result<Delta, AppError> {
    use crate::ssr::{context, session::current_actor};
    let ctx = context()?;
    let actor = current_actor().await?;
    super::service::delta(ctx.storage.as_ref(), &ctx.performances, &actor, &performances, cursor).await
}

//! The device protocol's server functions, at stable paths under `/api/`.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::protocol::*;
use crate::engine::PerformanceId;
use crate::error::AppError;

#[server(endpoint = "scan", input = Json)]
pub async fn scan(request: ScanRequest) -> Result<ScanOutcome, AppError> {
    use crate::backend::{context, session::current_door_actor};
    let ctx = context()?;
    let actor = current_door_actor().await?;
    let record = super::service::scan_online(ctx.storage.as_ref(), &ctx.performances, &actor, request).await?;
    ctx.live.publish_scan(&record);
    // The time the scan was decided at, which is when its pass (if any) happened.
    Ok(ScanOutcome { scan_id: record.scan_uuid, verdict: record.verdict, server_time: record.server_time })
}

#[server(endpoint = "sync_upload", input = Json)]
pub async fn sync_upload(scans: Vec<OfflineScan>) -> Result<UploadOutcome, AppError> {
    use crate::backend::{context, session::current_door_actor};
    let ctx = context()?;
    let actor = current_door_actor().await?;
    let (results, records) = super::service::upload(ctx.storage.as_ref(), &ctx.performances, &actor, scans).await?;
    for record in &records {
        ctx.live.publish_scan(record);
    }
    Ok(UploadOutcome { server_time: crate::backend::now_millis(), results })
}

#[server(endpoint = "sync_snapshot", input = Json)]
pub async fn sync_snapshot(performance: PerformanceId) -> Result<Snapshot, AppError> {
    use crate::backend::{context, session::current_actor};
    let ctx = context()?;
    let actor = current_actor().await?;
    super::service::snapshot(ctx.storage.as_ref(), &ctx.performances, &actor, performance).await
}

#[server(endpoint = "sync_holders", input = Json)]
pub async fn sync_holders(performance: PerformanceId) -> Result<Holders, AppError> {
    use crate::backend::{context, session::current_actor};
    let ctx = context()?;
    let actor = current_actor().await?;
    super::service::holders(ctx.storage.as_ref(), &ctx.performances, &actor, performance).await
}

#[server(endpoint = "sync_delta", input = Json)]
pub async fn sync_delta(performances: Vec<PerformanceId>, cursor: Millis) -> Result<Delta, AppError> {
    use crate::backend::{context, session::current_actor};
    let ctx = context()?;
    let actor = current_actor().await?;
    super::service::delta(ctx.storage.as_ref(), &ctx.performances, &actor, &performances, cursor).await
}

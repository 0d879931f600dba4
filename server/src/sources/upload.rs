//! `POST /upload/source-file`: a CSV or XLSX file for a file source on a performance, as the
//! raw request body (`?performance=&source=&file_name=&dry_run=`). A dry run answers the
//! preview (columns as mapped, first rows, how many tickets); otherwise the file is imported
//! whole, or not at all when a row is rejected. Its tickets are built a chunk at a time as they
//! are written, so a large file costs a few times its size, not every ticket at once.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use serde::Deserialize;

use app::ssr::guard::backoffice_of_performance;
use app::ssr::session::SignedIn;
use app::ssr::storage::ImportMode;
use app::ssr::{ServerContext, now_millis};
use app::domain::{SourceId, UploadAnswer};
use app::engine::PerformanceId;
use app::error::AppError;

use super::file::{self, FileError, MAX_FILE_BYTES, MAX_REPORTED_ROWS};

/// Tickets built at a time while importing.
const IMPORT_CHUNK: usize = 1_000;

/// Room for the file and the request around it.
pub const BODY_LIMIT: usize = MAX_FILE_BYTES + 1024 * 1024;

#[derive(Deserialize)]
pub struct UploadQuery {
    performance: PerformanceId,
    source: SourceId,
    #[serde(default)]
    file_name: String,
    #[serde(default)]
    dry_run: bool,
}

pub async fn upload(
    State(context): State<ServerContext>,
    Query(query): Query<UploadQuery>,
    SignedIn { actor, .. }: SignedIn,
    body: Bytes,
) -> Result<Json<UploadAnswer>, AppError> {
    let storage = context.storage.as_ref();
    let institution = backoffice_of_performance(storage, &actor, query.performance).await?;
    let source = storage.source(query.source).await?.filter(|s| s.institution == institution).ok_or(AppError::NotFound)?;
    if !source.kind.is_file() {
        return Err(AppError::NotFound);
    }
    let attached = storage.attachments(query.performance).await?.into_iter().find(|a| a.source == source.id);
    let options = attached.as_ref().map(|a| a.options.clone()).unwrap_or_default();
    let checked = file::check_off_thread(
        source.kind,
        body,
        query.file_name.clone(),
        source.settings.clone(),
        options.clone(),
        now_millis(),
    )
    .await
    .map_err(file_error)?;
    let imported = if query.dry_run {
        None
    } else {
        if attached.is_none() {
            context.sources.check_options(&source, &options)?;
            storage.attach_source(query.performance, source.id, &options, now_millis()).await?;
        }
        let mut tickets = checked.chunks(IMPORT_CHUNK);
        let summary = storage.import_tickets(query.performance, source.id, ImportMode::Cumulative, &mut tickets, now_millis()).await?;
        storage.refresh_finished(query.performance, source.id, None, i64::MAX, now_millis()).await?;
        context.performances.forget(query.performance);
        tracing::info!(performance = %query.performance, source = %source.id, ?summary, "file imported");
        Some(summary)
    };
    Ok(Json(UploadAnswer { tickets: checked.tickets() as u64, preview: checked.preview, imported }))
}

fn file_error(e: FileError) -> AppError {
    match e {
        FileError::TooLarge => AppError::FileTooLarge { max_mb: (MAX_FILE_BYTES / 1024 / 1024) as u64 },
        FileError::Unreadable(why) => AppError::FileUnreadable(why),
        FileError::Empty => AppError::FileUnreadable("the file holds no rows".to_owned()),
        FileError::Mapping(e) => AppError::SourceSettings { field: e.field, cause: e.cause },
        FileError::Rejected(rows) => {
            let more = rows.len().saturating_sub(MAX_REPORTED_ROWS) as u64;
            AppError::FileRejected { rows: rows.into_iter().take(MAX_REPORTED_ROWS).collect(), more }
        }
    }
}

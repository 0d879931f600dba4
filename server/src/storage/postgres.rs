//! PostgreSQL, for several server processes sharing one database.

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use super::shared::*;
use super::{OpenError, database_error};
use app::backend::storage::{
    Anomaly, DueAttachment, ImportMode, ImportedTicket, Judge, LoginRecord, MemberRecord, Millis, NewPerformance, NewScan,
    NewSource, NewTicket, PendingCancellation, PendingPush, PerformanceContext, ScanRecord, SessionActor, SessionEnd, SourceRecord, StorageError,
    StorageResult, TicketRow,
};
use app::domain::{
    AttachmentView, EventId, EventRecord, FieldValues, GridRow, ImportSummary, Institution, InstitutionId, InstitutionName,
    LoginId, LoginName, Rights, SourceId, SourceKind, VenueId, VenueRecord,
};
use app::engine::{Barcode, Pass, PerformanceId, Ticket};

pub struct PgStorage {
    pool: PgPool,
    /// The same pool: PostgreSQL takes concurrent writers.
    writer: PgPool,
}

impl PgStorage {
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let options = PgConnectOptions::from_str(url).map_err(OpenError::Connect)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await.map_err(OpenError::Migrate)?;
        Ok(Self { writer: pool.clone(), pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Writes a decided scan in a transaction of its own: PostgreSQL commits concurrent
    /// connections together, and a longer transaction would hold the ticket's row lock longer.
    /// The record if written; `None` if this scan id was recorded before or the ticket's
    /// version moved.
    async fn admit(&self, admission: Admission) -> StorageResult<Option<ScanRecord>> {
        let written = admit_statement(&admission)?.execute(&self.writer).await.map_err(database_error)?;
        Ok((written.rows_affected() == 1).then_some(admission.record))
    }
}

/// Writes a scan; an admission only if bumping the ticket's pass version from `$15` succeeds.
/// The UPDATE locks the ticket's row, so a concurrent admission waits, then finds the version
/// moved and writes nothing: one admission per version, whatever the number of processes.
const ADMIT: &str = "WITH bump AS ( \
         UPDATE tickets SET pass_version = pass_version + 1 WHERE id = $3 AND pass_version = $15 AND $11 RETURNING id \
     ) INSERT INTO scans (scan_uuid, performance_id, ticket_id, barcode, device, login_id, scanned_at, \
     client_time, server_time, direction, admitted, verdict, offline, anomaly) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
     WHERE NOT $11 OR $3 IS NULL OR EXISTS (SELECT 1 FROM bump) \
     ON CONFLICT (scan_uuid) DO NOTHING";

/// A large import leaves PostgreSQL's statistics saying the performance has a few hundred tickets:
/// report pages then read the heap instead of an index until autovacuum runs. ANALYZE samples
/// the table in a fraction of a second.
const AFTER_BULK_IMPORT: Option<&str> = Some("ANALYZE tickets");

show_storage!(PgStorage);
account_storage!(PgStorage, PgRow);
scan_storage!(PgStorage, sqlx::Postgres, PgRow);
source_storage!(PgStorage, sqlx::Postgres, PgRow);
report_storage!(PgStorage, sqlx::Postgres, PgRow, super::reports::POSTGRES_FIELD_KEYS);

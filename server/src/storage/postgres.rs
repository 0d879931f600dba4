//! PostgreSQL, for several server processes sharing one database.

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use super::shared::*;
use super::{OpenError, database_error};
use app::backend::storage::{
    Anomaly, Judge, LoginRecord, MemberRecord, Millis, NewPerformance, NewScan, NewTicket, PerformanceContext,
    ScanRecord, SessionEnd, SessionLookup, StorageError, StorageResult, TicketRow,
};
use app::domain::{EventId, Institution, InstitutionId, InstitutionName, LoginId, LoginName, Rights, VenueId};
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
}

account_storage!(PgStorage, PgRow);
scan_storage!(PgStorage, sqlx::Postgres, PgRow);

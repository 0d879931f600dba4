//! PostgreSQL, for several server processes sharing one database.

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use super::statements::*;
use super::{OpenError, database_error};
use app::backend::storage::{LoginRecord, MemberRecord, Millis, SessionEnd, SessionLookup, StorageError, StorageResult};
use app::domain::{Institution, InstitutionId, InstitutionName, LoginId, LoginName, Rights};

pub struct PgStorage {
    pool: PgPool,
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
        Ok(Self { pool })
    }
}

sql_storage!(PgStorage, PgRow);

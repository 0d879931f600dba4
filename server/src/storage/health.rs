//! Whether the database can serve (`HealthStorage`), written once for both databases; and the
//! migrations each database's schema is made of, which health and the command line compare a
//! database with.

use app::ssr::storage::{HealthStorage, PoolUse, SchemaState, StorageResult};
use sqlx::migrate::Migrator;
use sqlx::{ColumnIndex, Executor};

use super::dialect::{Connection, Dialect, Row, Value};
use super::{DbResultExt, SqlStorage};

/// The migrations of this build for one database.
pub trait Migrations {
    fn migrator() -> &'static Migrator;

    /// Their versions (a file `0001_baseline.sql` is version 1).
    fn known_versions() -> Vec<i64> {
        Self::migrator().iter().filter(|m| !m.migration_type.is_down_migration()).map(|m| m.version).collect()
    }
}

impl Migrations for sqlx::Sqlite {
    fn migrator() -> &'static Migrator {
        static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");
        &MIGRATOR
    }
}

impl Migrations for sqlx::Postgres {
    fn migrator() -> &'static Migrator {
        static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");
        &MIGRATOR
    }
}

/// The migrations applied to a database (sqlx's table), with whether each succeeded.
pub const APPLIED_MIGRATIONS: &str = "SELECT version, success FROM _sqlx_migrations ORDER BY version";

#[async_trait::async_trait]
impl<D: Dialect> HealthStorage for SqlStorage<D>
where
    D::Db: Migrations,
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    usize: ColumnIndex<Row<D>>,
    i64: Value<D::Db>, bool: Value<D::Db>,
{
    async fn schema_state(&self) -> StorageResult<SchemaState> {
        let applied: Vec<(i64, bool)> = sqlx::query_as(APPLIED_MIGRATIONS).fetch_all(&self.pool).await.db()?;
        Ok(SchemaState::of(&D::Db::known_versions(), &applied))
    }

    fn pool_use(&self) -> Vec<PoolUse> {
        let of = |pool: &'static str, p: &sqlx::Pool<D::Db>| PoolUse {
            pool,
            open: p.size(),
            idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
            max: p.options().get_max_connections(),
        };
        vec![of("read", &self.pool), of("write", &self.writer)]
    }
}

//! What differs between SQLite and PostgreSQL, named: everything else is the SQL of the
//! generic impls, written once with `$n` placeholders (sqlx takes them on both), over the sqlx
//! types gathered in `SqlDb` and `Value`.

use std::future::Future;

use app::ssr::storage::{DoorAnswer, DoorScan, StorageResult};
use sqlx::pool::PoolConnection;
use sqlx::database::HasStatementCache;
use sqlx::{Database, Decode, Encode, IntoArguments, Pool, Type};

use super::{OpenError, SqlStorage};

/// One database's dialect: how it is opened, and the few statements and strategies that cannot
/// be the same on both (migrations/README.md says why for the schema).
pub trait Dialect: Send + Sync + Sized + 'static {
    type Db: SqlDb;

    /// The keys of the JSON fields (`tickets.fields`) of performance `$1`'s tickets, for the
    /// report's columns: each database has its own JSON functions.
    const FIELD_KEYS_SQL: &'static str;

    /// Run after an import of `BULK_IMPORT` tickets or more, to refresh the planner's
    /// statistics (which would otherwise describe the tables before the import). Statistics
    /// only: a failure costs speed, never tickets.
    const AFTER_BULK_IMPORT: Option<&'static str>;

    /// Whether a file import is one transaction, or goes through the import journal
    /// (`file_imports`), a short transaction each 1,000 rows.
    const FILE_IMPORT_IN_ONE_TRANSACTION: bool;

    /// Appended to the read of the tickets' figures rows that re-flagging a ticket's passes
    /// starts with (`ScanStorage::reflag_passes`), to hold the doors' writes of those tickets
    /// until the flags are written; `None` where the transaction holds them anyway.
    const LOCK_TICKETS_FOR_REFLAG: Option<&'static str>;

    /// Run by a journaled import (`FILE_IMPORT_IN_ONE_TRANSACTION` false) after each of its
    /// transactions, with none open, on the readers' pool: the database's upkeep that the
    /// import's back-to-back writes would otherwise starve.
    fn between_import_chunks(_readers: &Pool<Self::Db>) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Connects to `url`, brings the schema up to date, starts the doors' writers and the
    /// dialect's upkeep, and finishes the imports a stop interrupted.
    fn open(url: &str) -> impl Future<Output = Result<SqlStorage<Self>, OpenError>> + Send;

    /// Brings the tickets' figures (`ticket_figures`) up to the last scan recorded, before a
    /// report or a gauge reads them.
    fn figures_up_to_date(writer: &Pool<Self::Db>) -> impl Future<Output = StorageResult<()>> + Send;

    /// Decides and records a group of door scans (`door_group::decide_group`) as one atomic
    /// step, however many processes write scans: one record a scan, in the order given, or
    /// nothing written. With `look_for_retries`, scan ids already recorded are looked for first
    /// (their first record is the answer); without, a recorded one fails the write
    /// (`AlreadyExists`) and the caller asks again, looking.
    fn write_door_group(
        connection: &mut PoolConnection<Self::Db>,
        group: &[DoorScan],
        look_for_retries: bool,
    ) -> impl Future<Output = StorageResult<Vec<DoorAnswer>>> + Send;
}

/// A database as the generic impls use it: its statements cached, their arguments passed, and
/// the rows they change counted. The bounds that cannot be written here (they are on other
/// types than the database: `Executor` on its connections, `ColumnIndex` on its rows, `Value`
/// on the column types) are written on each generic impl.
pub trait SqlDb:
    Database<QueryResult: Affected> + HasStatementCache + for<'q> Database<Arguments<'q>: IntoArguments<'q, Self>>
{
}

impl<DB> SqlDb for DB where
    DB: Database<QueryResult: Affected> + HasStatementCache + for<'q> Database<Arguments<'q>: IntoArguments<'q, DB>>
{
}

/// A column type both bound to statements and read from rows.
pub trait Value<DB: Database>: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send + Sync {}

impl<DB: Database, T> Value<DB> for T where T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send + Sync {}

/// The rows a statement changed (each database's result type has the method, no trait has).
pub trait Affected {
    fn rows_affected(&self) -> u64;
}

impl Affected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl Affected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

/// A dialect's connection, on which the generic impls need `Executor`.
pub type Connection<D> = <<D as Dialect>::Db as Database>::Connection;

/// A dialect's row, which the generic impls index by name and by position.
pub type Row<D> = <<D as Dialect>::Db as Database>::Row;

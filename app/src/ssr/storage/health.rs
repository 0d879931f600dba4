//! Whether the database can serve: what `/health/ready` and `/metrics` ask of the storage.

use async_trait::async_trait;

use super::StorageResult;

/// The database's schema against the migrations this build carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaState {
    /// Every migration of this build is applied, and none other.
    Current,
    /// A migration of this build is not applied yet.
    Behind,
    /// A migration this build does not know is applied: a newer Billetix migrated the database.
    Newer,
    /// A migration failed half-way and was never completed.
    Failed,
}

impl SchemaState {
    /// The state from the versions this build knows and those applied (with whether each
    /// succeeded).
    pub fn of(known: &[i64], applied: &[(i64, bool)]) -> Self {
        if applied.iter().any(|(_, success)| !success) {
            SchemaState::Failed
        } else if applied.iter().any(|(version, _)| !known.contains(version)) {
            SchemaState::Newer
        } else if known.iter().any(|version| !applied.iter().any(|(v, _)| v == version)) {
            SchemaState::Behind
        } else {
            SchemaState::Current
        }
    }

    /// As `/health/ready` and the command line say it.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaState::Current => "applied",
            SchemaState::Behind => "pending",
            SchemaState::Newer => "newer",
            SchemaState::Failed => "failed",
        }
    }
}

/// One connection pool's use, at the moment asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// `read` or `write` (on PostgreSQL both name one pool).
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

#[async_trait]
pub trait HealthStorage: Send + Sync {
    /// The applied migrations against this build's, in one read of the database.
    async fn schema_state(&self) -> StorageResult<SchemaState>;
    /// The connection pools' use now (no database round trip).
    fn pool_use(&self) -> Vec<PoolUse>;
}

#[cfg(test)]
mod tests {
    use super::SchemaState;

    #[test]
    fn a_schema_is_current_only_with_every_known_migration_and_no_other() {
        assert_eq!(SchemaState::of(&[1, 2], &[(1, true), (2, true)]), SchemaState::Current);
        assert_eq!(SchemaState::of(&[1, 2], &[(1, true)]), SchemaState::Behind);
        assert_eq!(SchemaState::of(&[1, 2], &[]), SchemaState::Behind);
        assert_eq!(SchemaState::of(&[1], &[(1, true), (2, true)]), SchemaState::Newer);
        assert_eq!(SchemaState::of(&[1, 2], &[(1, true), (2, false)]), SchemaState::Failed);
    }
}

//! SQLite's door writes, committed in groups. SQLite writes one transaction at a time, and a
//! commit costs more than the scan in it (WAL frames, and every reader's page cache dropped):
//! committing each scan alone held the doors near 3,000 scans/s. Here the admissions that
//! queue while one transaction commits go into the next, together. Each keeps its own
//! compare-and-set statement, run in arrival order, so grouping changes no decision: a
//! scan sees every admission written before it, in its group or earlier.

use app::backend::storage::{ScanRecord, StorageError, StorageResult};
use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::database_error;
use super::shared::Admission;

/// Large enough to take every door of a busy venue in one commit, small enough that the
/// first scan of a group does not wait long for the last.
const MOST_IN_ONE_COMMIT: usize = 256;

/// What a written admission answers: the record, or `None` if its statement wrote nothing.
type Answer = StorageResult<Option<ScanRecord>>;

struct Waiting {
    admission: Admission,
    answer: oneshot::Sender<Answer>,
}

pub(super) struct GroupCommit {
    queue: mpsc::Sender<Waiting>,
}

impl GroupCommit {
    /// Starts the committing task on `writer`; it ends when this is dropped.
    pub(super) fn start(writer: SqlitePool, statement: fn(&Admission) -> StorageResult<AdmitQuery<'_>>) -> Self {
        let (queue, waiting) = mpsc::channel(4 * MOST_IN_ONE_COMMIT);
        tokio::spawn(commit_groups(writer, statement, waiting));
        Self { queue }
    }

    pub(super) async fn admit(&self, admission: Admission) -> Answer {
        let (answer, answered) = oneshot::channel();
        self.queue.send(Waiting { admission, answer }).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

pub(super) type AdmitQuery<'a> = sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'a>>;

fn stopped() -> StorageError {
    StorageError::Database("the SQLite writer has stopped".into())
}

async fn commit_groups(
    writer: SqlitePool,
    statement: fn(&Admission) -> StorageResult<AdmitQuery<'_>>,
    mut queue: mpsc::Receiver<Waiting>,
) {
    let mut group = Vec::with_capacity(MOST_IN_ONE_COMMIT);
    while queue.recv_many(&mut group, MOST_IN_ONE_COMMIT).await > 0 {
        commit_group(&writer, statement, &mut group).await;
    }
}

/// Commits `group` (emptying it) and answers each of its scans. A scan whose statement fails
/// gets its error and leaves the group; the others are written again in a new transaction,
/// so one bad scan costs the others nothing.
async fn commit_group(writer: &SqlitePool, statement: fn(&Admission) -> StorageResult<AdmitQuery<'_>>, group: &mut Vec<Waiting>) {
    while !group.is_empty() {
        match write_group(writer, statement, group).await {
            Ok(written) => {
                for (waiting, written) in group.drain(..).zip(written) {
                    let _ = waiting.answer.send(Ok(written.then_some(waiting.admission.record)));
                }
            }
            Err(GroupFailure::Scan(index, e)) => {
                let failed = group.remove(index);
                let _ = failed.answer.send(Err(e));
            }
            Err(GroupFailure::Commit(e)) => {
                tracing::error!(error = %e, scans = group.len(), "a group of scans could not be committed");
                for waiting in group.drain(..) {
                    let _ = waiting.answer.send(Err(StorageError::Database(format!("commit failed: {e}").into())));
                }
            }
        }
    }
}

enum GroupFailure {
    /// The scan at this index failed; the transaction was rolled back.
    Scan(usize, StorageError),
    Commit(sqlx::Error),
}

/// Whether each scan's statement wrote it, once all are committed.
async fn write_group(
    writer: &SqlitePool,
    statement: fn(&Admission) -> StorageResult<AdmitQuery<'_>>,
    group: &[Waiting],
) -> Result<Vec<bool>, GroupFailure> {
    // IMMEDIATE: take the write lock at once rather than upgrading a read lock mid-way.
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(GroupFailure::Commit)?;
    let mut written = Vec::with_capacity(group.len());
    for (index, waiting) in group.iter().enumerate() {
        let result = match statement(&waiting.admission) {
            Ok(query) => query.execute(&mut *tx).await.map_err(database_error),
            Err(e) => Err(e),
        };
        match result {
            Ok(done) => written.push(done.rows_affected() == 1),
            // Dropping `tx` rolls the group back.
            Err(e) => return Err(GroupFailure::Scan(index, e)),
        }
    }
    tx.commit().await.map_err(GroupFailure::Commit)?;
    Ok(written)
}

//! The doors' scans, decided and written in groups. A scan's decision and record are one
//! transaction, and a transaction costs more than the scan in it (round trips, a commit that
//! waits for the disk): the scans that queue while one group is written go into the next
//! group, together. Within a group each scan is decided in arrival order on what is stored
//! plus the admissions before it, so grouping changes no decision.

use std::future::Future;
use std::time::{Duration, Instant};

use app::backend::storage::{DoorScan, ScanRecord, StorageError, StorageResult};
use tokio::sync::{mpsc, oneshot};

/// Large enough to take every door of a busy venue in one transaction, small enough that the
/// first scan of a group does not wait long for the last.
pub(super) const MOST_IN_ONE_GROUP: usize = 256;

/// Decides and records a group of scans in one transaction (each backend begins and commits
/// it its own way).
pub(super) trait WriteGroup: Send + Sync + 'static {
    type Connection: Send;

    /// A connection to write on, held while scans keep coming.
    fn connect(&self) -> impl Future<Output = StorageResult<Self::Connection>> + Send;

    /// One record a scan, in the order given, all committed; or nothing written.
    fn write(&self, connection: &mut Self::Connection, group: &[DoorScan])
    -> impl Future<Output = StorageResult<Vec<ScanRecord>>> + Send;
}

/// The writer keeps its connection while scans keep coming (a pool takes a round trip to get
/// a connection back), but lets other writers have it at least this often.
const HOLD_CONNECTION_AT_MOST: Duration = Duration::from_millis(50);

struct Waiting {
    scan: DoorScan,
    answer: oneshot::Sender<StorageResult<ScanRecord>>,
}

pub(super) struct DoorQueue {
    queue: mpsc::Sender<Waiting>,
}

impl DoorQueue {
    /// Starts the writer on a thread of its own; it ends when this is dropped. A group's
    /// round trips to the database are back to back: on the server's runtime, each answer
    /// waited its turn behind the HTTP requests, and the doors waited for the writer.
    pub(super) fn start(writer: impl WriteGroup) -> Result<Self, std::io::Error> {
        let (queue, waiting) = mpsc::channel(4 * MOST_IN_ONE_GROUP);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new()
            .name("door-writer".into())
            .spawn(move || runtime.block_on(write_groups(writer, waiting)))?;
        Ok(Self { queue })
    }

    /// Queues `scans` in their order and waits for each one's record.
    pub(super) async fn record(&self, scans: Vec<DoorScan>) -> Vec<StorageResult<ScanRecord>> {
        let mut answers = Vec::with_capacity(scans.len());
        for scan in scans {
            let (answer, answered) = oneshot::channel();
            match self.queue.send(Waiting { scan, answer }).await {
                Ok(()) => answers.push(Some(answered)),
                Err(_) => answers.push(None),
            }
        }
        let mut records = Vec::with_capacity(answers.len());
        for answered in answers {
            records.push(match answered {
                Some(answered) => answered.await.unwrap_or_else(|_| Err(stopped())),
                None => Err(stopped()),
            });
        }
        records
    }
}

fn stopped() -> StorageError {
    StorageError::Database("the scan writer has stopped".into())
}

async fn write_groups<W: WriteGroup>(writer: W, mut queue: mpsc::Receiver<Waiting>) {
    let mut waiting = Vec::with_capacity(MOST_IN_ONE_GROUP);
    while queue.recv_many(&mut waiting, MOST_IN_ONE_GROUP).await > 0 {
        let mut connection = match writer.connect().await {
            Ok(connection) => connection,
            Err(e) => {
                tracing::error!(error = %e, "no connection to record scans on");
                for w in waiting.drain(..) {
                    let _ = w.answer.send(Err(StorageError::Database(format!("the scan was not recorded: {e}").into())));
                }
                continue;
            }
        };
        let held_since = Instant::now();
        loop {
            write_group(&writer, &mut connection, &mut waiting).await;
            if held_since.elapsed() > HOLD_CONNECTION_AT_MOST {
                break;
            }
            while waiting.len() < MOST_IN_ONE_GROUP {
                match queue.try_recv() {
                    Ok(next) => waiting.push(next),
                    Err(_) => break,
                }
            }
            if waiting.is_empty() {
                break;
            }
        }
    }
}

/// Writes and answers `waiting` (emptying it).
async fn write_group<W: WriteGroup>(writer: &W, connection: &mut W::Connection, waiting: &mut Vec<Waiting>) {
    let (group, answers): (Vec<DoorScan>, Vec<_>) = waiting.drain(..).map(|w| (w.scan, w.answer)).unzip();
    match writer.write(connection, &group).await {
        Ok(records) => {
            for (answer, record) in answers.into_iter().zip(records) {
                let _ = answer.send(Ok(record));
            }
        }
        // One scan failing fails its group: write each alone, so it costs the others
        // nothing (and a transient failure gets a second chance).
        Err(e) if group.len() > 1 => {
            tracing::warn!(error = %e, scans = group.len(), "a group of scans failed; writing them one by one");
            for (scan, answer) in group.into_iter().zip(answers) {
                let written = writer.write(connection, std::slice::from_ref(&scan)).await;
                let _ = answer.send(written.and_then(|mut records| records.pop().ok_or_else(stopped)));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "a scan could not be recorded");
            for answer in answers {
                let _ = answer.send(Err(StorageError::Database(format!("the scan was not recorded: {e}").into())));
            }
        }
    }
}

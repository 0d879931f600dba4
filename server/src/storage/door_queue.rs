//! The doors' scans, decided and written in groups. A scan's decision and record are one
//! atomic step in the database, and a step costs more than the scan in it (round trips, a
//! commit that waits for the disk): the scans that queue while one group is written go into the next
//! group, together. Within a group each scan is decided in arrival order on what is stored
//! plus the admissions before it, so grouping changes no decision. The scans of one call
//! (an upload, in time order) are never split between writers.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::ssr::storage::{DoorAnswer, DoorScan, StorageError, StorageResult};
use tokio::sync::{Mutex, mpsc, oneshot};

/// Large enough to take every door of a busy venue in one transaction, small enough that the
/// first scan of a group does not wait long for the last. A larger upload is a group alone.
const MOST_IN_ONE_GROUP: usize = 256;

/// The writer keeps its connection while scans keep coming (a pool takes a round trip to get
/// a connection back), but lets other writers have it at least this often.
const HOLD_CONNECTION_AT_MOST: Duration = Duration::from_millis(50);

/// Decides and records a group of scans in one atomic step (each backend makes it atomic its
/// own way: `Dialect::write_door_group`; `door_group.rs` decides).
pub(super) trait WriteGroup: Send + Sync + 'static {
    type Connection: Send;

    /// A connection to write on, held while scans keep coming.
    fn connect(&self) -> impl Future<Output = StorageResult<Self::Connection>> + Send;

    /// One record a scan, in the order given, all committed; or nothing written.
    fn write(&self, connection: &mut Self::Connection, group: &[DoorScan])
    -> impl Future<Output = StorageResult<Vec<DoorAnswer>>> + Send;
}

/// The scans of one call, and where their records go.
struct Batch {
    scans: Vec<DoorScan>,
    answer: oneshot::Sender<Vec<StorageResult<DoorAnswer>>>,
}

pub(super) struct DoorQueue {
    queue: mpsc::Sender<Batch>,
}

impl DoorQueue {
    /// Starts each writer on a thread of its own; they end when this is dropped. A group's
    /// round trips to the database are back to back: on the server's runtime, each answer
    /// waited its turn behind the HTTP requests, and the doors waited for the writer.
    pub(super) fn start<W: WriteGroup>(writers: Vec<W>) -> Result<Self, std::io::Error> {
        let (queue, batches) = mpsc::channel(4 * MOST_IN_ONE_GROUP);
        let batches = Arc::new(Mutex::new(batches));
        for (index, writer) in writers.into_iter().enumerate() {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let batches = batches.clone();
            std::thread::Builder::new()
                .name(format!("door-writer-{index}"))
                .spawn(move || runtime.block_on(write_groups(writer, batches)))?;
        }
        Ok(Self { queue })
    }

    /// Decides and records `scans` in their order, in one atomic step; one answer a scan.
    pub(super) async fn record(&self, scans: Vec<DoorScan>) -> Vec<StorageResult<DoorAnswer>> {
        let count = scans.len();
        let (answer, answered) = oneshot::channel();
        if self.queue.send(Batch { scans, answer }).await.is_err() {
            return (0..count).map(|_| Err(stopped())).collect();
        }
        answered.await.unwrap_or_else(|_| (0..count).map(|_| Err(stopped())).collect())
    }
}

fn stopped() -> StorageError {
    StorageError::Database("the scan writer has stopped".into())
}

/// Whole batches, up to a group's size (a larger batch is a group alone).
struct Group {
    batches: Vec<Batch>,
    scans: usize,
}

/// The next group: `left_over` first, then what is queued. With `wait`, waits for a batch if
/// none is; `None` when there is none (or the queue has closed).
async fn next_group(left_over: &mut Option<Batch>, batches: &Mutex<mpsc::Receiver<Batch>>, wait: bool) -> Option<Group> {
    let mut queue = batches.lock().await;
    let first = match left_over.take() {
        Some(batch) => batch,
        None if wait => queue.recv().await?,
        None => queue.try_recv().ok()?,
    };
    let mut group = Group { scans: first.scans.len(), batches: vec![first] };
    while let Ok(batch) = queue.try_recv() {
        if group.scans + batch.scans.len() > MOST_IN_ONE_GROUP {
            *left_over = Some(batch);
            break;
        }
        group.scans += batch.scans.len();
        group.batches.push(batch);
    }
    Some(group)
}

async fn write_groups<W: WriteGroup>(writer: W, batches: Arc<Mutex<mpsc::Receiver<Batch>>>) {
    let mut left_over = None;
    while let Some(mut group) = next_group(&mut left_over, &batches, true).await {
        let mut connection = match writer.connect().await {
            Ok(connection) => connection,
            Err(e) => {
                tracing::error!(error = %e, "no connection to record scans on");
                answer_all_failed(group, &e);
                // The scans queued meanwhile would wait as long for the same database, one
                // group after another (a door waited twice the pool's timeout): answered now,
                // their doors retry.
                while let Some(queued) = next_group(&mut left_over, &batches, false).await {
                    answer_all_failed(queued, &e);
                }
                continue;
            }
        };
        let held_since = Instant::now();
        loop {
            write_group(&writer, &mut connection, group).await;
            if held_since.elapsed() > HOLD_CONNECTION_AT_MOST {
                break;
            }
            match next_group(&mut left_over, &batches, false).await {
                Some(next) => group = next,
                None => break,
            }
        }
    }
}

/// Keeps whether the database was unreachable: the door is then told to retry (503), not
/// that the server failed (500).
fn not_recorded(e: &StorageError) -> StorageError {
    let why = format!("the scan was not recorded: {e}").into();
    match e {
        StorageError::Unavailable(_) => StorageError::Unavailable(why),
        _ => StorageError::Database(why),
    }
}

fn answer_all_failed(group: Group, e: &StorageError) {
    for batch in group.batches {
        let _ = batch.answer.send(batch.scans.iter().map(|_| Err(not_recorded(e))).collect());
    }
}

/// Writes and answers `group`.
async fn write_group<W: WriteGroup>(writer: &W, connection: &mut W::Connection, group: Group) {
    let mut scans = Vec::with_capacity(group.scans);
    let mut answers = Vec::with_capacity(group.batches.len());
    for batch in group.batches {
        answers.push((batch.answer, batch.scans.len()));
        scans.extend(batch.scans);
    }
    let records: Vec<StorageResult<DoorAnswer>> = match writer.write(connection, &scans).await {
        Ok(records) => records.into_iter().map(Ok).collect(),
        // One scan failing fails its group: write each alone, in order, so it costs the
        // others nothing (and a transient failure gets a second chance).
        Err(e) if scans.len() > 1 => {
            tracing::warn!(error = %e, scans = scans.len(), "a group of scans failed; writing them one by one");
            let mut records = Vec::with_capacity(scans.len());
            for scan in &scans {
                let written = writer.write(connection, std::slice::from_ref(scan)).await;
                records.push(written.and_then(|mut records| records.pop().ok_or_else(stopped)));
            }
            records
        }
        Err(e) => {
            tracing::error!(error = %e, "a scan could not be recorded");
            vec![Err(not_recorded(&e))]
        }
    };
    let mut records = records.into_iter();
    for (answer, count) in answers {
        let _ = answer.send(records.by_ref().take(count).collect());
    }
}

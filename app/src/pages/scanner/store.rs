//! The device's durable copy, in IndexedDB: imported performances (tickets in chunks),
//! changes and passes received since, the door, and every scan made here until the server
//! has it. Nothing else in the scanner touches IndexedDB.

use idb::{Database, DatabaseEvent, KeyRange, ObjectStore, Query, Transaction, TransactionMode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use billetix_core::engine::PerformanceId;

use crate::sync::device::{DeviceScan, ImportedPerformance, TicketChunk};
use crate::sync::protocol::{Door, PassRow, ScanLogin, TicketChange};

const DATABASE: &str = "billetix-scanner";
const VERSION: u32 = 1;
const PERFORMANCES: &str = "performances";
const CHUNKS: &str = "chunks";
const CHANGES: &str = "changes";
const PASSES: &str = "passes";
const SCANS: &str = "scans";
const SETTINGS: &str = "settings";
const DOOR_KEY: &str = "door";
/// The login signed in on the device, which its scans are tagged with (kept for scans made
/// offline after the page is opened again).
const LOGIN_KEY: &str = "login";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the device's storage failed: {0}")]
    Storage(String),
    #[error("the device's stored data cannot be read: {0}")]
    Data(String),
}

impl From<idb::Error> for StoreError {
    fn from(e: idb::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}

impl From<serde_wasm_bindgen::Error> for StoreError {
    fn from(e: serde_wasm_bindgen::Error) -> Self {
        StoreError::Data(e.to_string())
    }
}

/// Everything the device had when it was last closed.
#[derive(Debug, Default)]
pub struct Stored {
    pub performances: Vec<ImportedPerformance>,
    pub chunks: Vec<TicketChunk>,
    pub changes: Vec<TicketChange>,
    pub passes: Vec<PassRow>,
    pub scans: Vec<DeviceScan>,
    pub door: Option<Door>,
    pub login: Option<ScanLogin>,
}

/// What a sign-out may clear, for the steward to choose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopySummary {
    pub performances: u32,
    /// Scans the server has not recorded: waiting to be sent (whatever their login), or set aside.
    pub unrecorded: u32,
}

pub struct DeviceStore {
    db: Database,
}

fn performance_key(id: PerformanceId) -> JsValue {
    JsValue::from_f64(id.0 as f64)
}

fn pair_key(performance: PerformanceId, second: JsValue) -> JsValue {
    js_sys::Array::of2(&performance_key(performance), &second).into()
}

/// Every key of one performance in a store keyed `[performance, …]`.
fn keys_of(performance: PerformanceId) -> Result<Query, StoreError> {
    let lower = pair_key(performance, JsValue::from_f64(f64::NEG_INFINITY));
    // Arrays sort after numbers and strings in IndexedDB's key order: `[p, []]` ends the range.
    let upper = pair_key(performance, js_sys::Array::new().into());
    Ok(Query::from(KeyRange::bound(&lower, &upper, None, None)?))
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, StoreError> {
    Ok(serde_wasm_bindgen::to_value(value)?)
}

/// Waits for a transaction to commit: an aborted one wrote nothing.
async fn finish(tx: Transaction) -> Result<(), StoreError> {
    if tx.await?.is_committed() { Ok(()) } else { Err(StoreError::Storage("the write was aborted".to_owned())) }
}

async fn all<T: DeserializeOwned>(store: &ObjectStore) -> Result<Vec<T>, StoreError> {
    store.get_all(None, None)?.await?.into_iter().map(|v| Ok(serde_wasm_bindgen::from_value(v)?)).collect()
}

impl DeviceStore {
    pub async fn open() -> Result<Self, StoreError> {
        let factory = idb::Factory::new()?;
        let mut request = factory.open(DATABASE, Some(VERSION))?;
        request.on_upgrade_needed(|event| {
            let Ok(db) = event.database() else { return };
            for name in [PERFORMANCES, CHUNKS, CHANGES, PASSES, SCANS, SETTINGS] {
                if !db.store_names().iter().any(|n| n == name) {
                    // Keys are given with each put: no key path.
                    let _ = db.create_object_store(name, idb::ObjectStoreParams::new());
                }
            }
        });
        Ok(Self { db: request.await? })
    }

    pub async fn load(&self) -> Result<Stored, StoreError> {
        let tx = self.db.transaction(&[PERFORMANCES, CHUNKS, CHANGES, PASSES, SCANS, SETTINGS], TransactionMode::ReadOnly)?;
        let door = tx.object_store(SETTINGS)?.get(JsValue::from_str(DOOR_KEY))?.await?;
        let login = tx.object_store(SETTINGS)?.get(JsValue::from_str(LOGIN_KEY))?.await?;
        let stored = Stored {
            performances: all(&tx.object_store(PERFORMANCES)?).await?,
            chunks: all(&tx.object_store(CHUNKS)?).await?,
            changes: all(&tx.object_store(CHANGES)?).await?,
            passes: all(&tx.object_store(PASSES)?).await?,
            scans: all(&tx.object_store(SCANS)?).await?,
            door: door.map(serde_wasm_bindgen::from_value).transpose()?,
            login: login.map(serde_wasm_bindgen::from_value).transpose()?,
        };
        finish(tx).await?;
        Ok(stored)
    }

    /// One batch of an import's tickets, in its own transaction, keyed `[performance, import,
    /// index]`: beside the previous import's, which stays in use until the new one ends.
    pub async fn save_chunk(&self, chunk: &TicketChunk) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[CHUNKS], TransactionMode::ReadWrite)?;
        let import = chunk.import.map_or(0.0, |at| at as f64);
        let key: JsValue =
            js_sys::Array::of3(&performance_key(chunk.performance), &JsValue::from_f64(import), &JsValue::from_f64(f64::from(chunk.index))).into();
        tx.object_store(CHUNKS)?.put(&to_js(chunk)?, Some(&key))?;
        finish(tx).await?;
        Ok(())
    }

    /// Ends an import, in one transaction: the performance's record points at the new chunks,
    /// and every other import's chunks and the changes since go. Until then the previous copy
    /// is the one loaded, so a cut-off import is no import, and the door keeps working.
    pub async fn save_performance(&self, imported: &ImportedPerformance, passes: &[PassRow]) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[PERFORMANCES, CHUNKS, CHANGES, PASSES], TransactionMode::ReadWrite)?;
        let (performance, import) = (imported.about.id, JsValue::from_f64(imported.imported_at as f64));
        // `[p, import]` sorts before every `[p, import, index]`, and `[p, import, []]` after them.
        let before = KeyRange::bound(&pair_key(performance, JsValue::from_f64(f64::NEG_INFINITY)), &pair_key(performance, import.clone()), None, Some(true))?;
        let after_lower: JsValue = js_sys::Array::of3(&performance_key(performance), &import, &js_sys::Array::new()).into();
        let after = KeyRange::bound(&after_lower, &pair_key(performance, js_sys::Array::new().into()), None, None)?;
        let chunks = tx.object_store(CHUNKS)?;
        chunks.delete(Query::from(before))?;
        chunks.delete(Query::from(after))?;
        tx.object_store(CHANGES)?.delete(keys_of(performance)?)?;
        let store = tx.object_store(PASSES)?;
        for row in passes {
            store.put(&to_js(row)?, Some(&JsValue::from_str(&row.scan_id)))?;
        }
        tx.object_store(PERFORMANCES)?.put(&to_js(imported)?, Some(&performance_key(imported.about.id)))?;
        finish(tx).await?;
        Ok(())
    }

    /// What a delta brought, with the performances' new cursors.
    pub async fn save_delta(&self, performances: &[ImportedPerformance], changes: &[TicketChange], passes: &[PassRow]) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[PERFORMANCES, CHANGES, PASSES], TransactionMode::ReadWrite)?;
        let store = tx.object_store(CHANGES)?;
        for change in changes {
            store.put(&to_js(change)?, Some(&pair_key(change.performance, JsValue::from_str(&change.barcode))))?;
        }
        let store = tx.object_store(PASSES)?;
        for row in passes {
            store.put(&to_js(row)?, Some(&JsValue::from_str(&row.scan_id)))?;
        }
        let store = tx.object_store(PERFORMANCES)?;
        for imported in performances {
            store.put(&to_js(imported)?, Some(&performance_key(imported.about.id)))?;
        }
        finish(tx).await?;
        Ok(())
    }

    pub async fn save_scans(&self, scans: &[DeviceScan]) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[SCANS], TransactionMode::ReadWrite)?;
        let store = tx.object_store(SCANS)?;
        for scan in scans {
            store.put(&to_js(scan)?, Some(&JsValue::from_str(&scan.scan.scan_id)))?;
        }
        finish(tx).await?;
        Ok(())
    }

    /// The login signed in now, or nobody (`None`, at sign-out).
    pub async fn save_login(&self, login: Option<&ScanLogin>) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[SETTINGS], TransactionMode::ReadWrite)?;
        let settings = tx.object_store(SETTINGS)?;
        match login {
            Some(login) => {
                settings.put(&to_js(login)?, Some(&JsValue::from_str(LOGIN_KEY)))?;
            }
            None => {
                settings.delete(JsValue::from_str(LOGIN_KEY))?;
            }
        }
        finish(tx).await?;
        Ok(())
    }

    pub async fn summary(&self) -> Result<CopySummary, StoreError> {
        let tx = self.db.transaction(&[PERFORMANCES, SCANS], TransactionMode::ReadOnly)?;
        let performances = tx.object_store(PERFORMANCES)?.count(None)?.await?;
        let scans: Vec<DeviceScan> = all(&tx.object_store(SCANS)?).await?;
        finish(tx).await?;
        Ok(CopySummary { performances, unrecorded: scans.iter().filter(|s| s.unrecorded()).count() as u32 })
    }

    /// Removes the device's copy in one transaction: the imported performances, their tickets,
    /// changes and passes, the door, and the scans the server has (those it has not stay,
    /// unless `discard_unrecorded`).
    pub async fn clear_copy(&self, discard_unrecorded: bool) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[PERFORMANCES, CHUNKS, CHANGES, PASSES, SCANS, SETTINGS], TransactionMode::ReadWrite)?;
        for name in [PERFORMANCES, CHUNKS, CHANGES, PASSES] {
            tx.object_store(name)?.clear()?;
        }
        tx.object_store(SETTINGS)?.delete(JsValue::from_str(DOOR_KEY))?;
        let scans = tx.object_store(SCANS)?;
        let stored: Vec<DeviceScan> = all(&scans).await?;
        for scan in stored.iter().filter(|s| !s.kept_at_clear(discard_unrecorded)) {
            scans.delete(JsValue::from_str(&scan.scan.scan_id))?;
        }
        finish(tx).await?;
        Ok(())
    }

    pub async fn save_door(&self, door: &Door) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[SETTINGS], TransactionMode::ReadWrite)?;
        tx.object_store(SETTINGS)?.put(&to_js(door)?, Some(&JsValue::from_str(DOOR_KEY)))?;
        finish(tx).await?;
        Ok(())
    }
}

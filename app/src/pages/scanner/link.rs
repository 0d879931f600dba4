//! The scanner's side of the device protocol: loading the device's copy at start, imports,
//! keeping each scan in IndexedDB, uploading them, deltas, the live feed and the clock check.
//! Runs only in the browser (from effects and handlers).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use billetix_core::engine::{Mode, PerformanceId};

use super::open_performances::{ImportProgress, scanner_performances};
use super::sign_out::SignOutChoice;
use super::store::{DeviceStore, StoreError};
use super::{Phase, Problem, Scanner, Session, now_millis};
use crate::error::AppError;
use crate::me::{Me, whoami};
use crate::sync::api::{scan, scan_probe, sync_delta, sync_snapshot, sync_upload};
use crate::sync::online::Miss;
use crate::sync::device::{DeviceBook, DeviceScan, OpenPerformance, split_snapshot, upload_batch};
use crate::sync::protocol::{Delta, Door, Millis, OfflineScan, PassRow, ScanLogin, ScanRequest};

/// How often the device uploads its scans and asks what changed, when online.
const TICK: Duration = Duration::from_secs(2);
/// Every this many ticks, a delta (the live feed brings scans in between).
const DELTA_EVERY: u32 = 5;
/// Scans sent in one upload.
const UPLOAD_BATCH: usize = 500;
pub(super) const DEVICE_KEY: &str = "billetix.device";
/// Set while a sign-out made offline has not reached the server: the session is ended there
/// before anything else once the network is back.
const SIGN_OUT_PENDING_KEY: &str = "billetix.sign_out_pending";

thread_local! {
    static STORE: RefCell<Option<Rc<DeviceStore>>> = const { RefCell::new(None) };
    /// One round of upload and delta at a time.
    static BUSY: Cell<bool> = const { Cell::new(false) };
    static TICKS: Cell<u32> = const { Cell::new(0) };
}

fn store() -> Option<Rc<DeviceStore>> {
    STORE.with(|s| s.borrow().clone())
}

/// A fresh id for a scan: the server counts each id once, however often it is sent.
pub fn new_scan_id() -> String {
    let mut random = [0u8; 10];
    let filled = web_sys::window().and_then(|w| w.crypto().ok()).is_some_and(|c| c.get_random_values_with_u8_array(&mut random).is_ok());
    if !filled {
        // No Web Crypto (an old browser): the id only has to be unique, not secret.
        // The low bytes of a double's bits are its mantissa's: the random ones.
        let (first, second) = (js_sys::Math::random().to_bits().to_le_bytes(), js_sys::Math::random().to_bits().to_le_bytes());
        random[..6].copy_from_slice(&first[..6]);
        random[6..].copy_from_slice(&second[..4]);
    }
    crate::sync::scan_id::time_ordered_scan_id(now_millis(), &random)
}

/// This device's name, made once and kept: it is what "already scanned by" shows.
fn device_name() -> String {
    use gloo_storage::Storage;
    if let Ok(name) = gloo_storage::LocalStorage::get::<String>(DEVICE_KEY) {
        return name;
    }
    let name = format!("PDA-{}", new_scan_id().chars().filter(char::is_ascii_alphanumeric).take(4).collect::<String>().to_uppercase());
    let _ = gloo_storage::LocalStorage::set(DEVICE_KEY, &name);
    name
}

fn navigator_online() -> bool {
    web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true)
}

/// The worker that keeps the scanner page for use with no network (`server/src/offline/`).
fn register_service_worker() {
    if let Some(window) = web_sys::window() {
        // Without it (a browser that lacks workers, a page not served from a secure origin)
        // the scanner still runs; it only cannot open offline.
        let _ = window.navigator().service_worker().register("/sw.js");
    }
}

/// Starts the scanner: reads the device's copy, then keeps it in step with the server.
pub fn start(scanner: Scanner) {
    register_service_worker();
    scanner.device.set(device_name());
    scanner.online.set(navigator_online());
    listen_connectivity(scanner);
    // Created here, under the page's owner; it connects once a door runs online.
    follow_live(scanner);
    spawn_local(async move {
        match load(scanner).await {
            Ok(()) => scanner.phase.set(Phase::Ready),
            Err(e) => {
                scanner.phase.set(Phase::Broken(e.to_string()));
                return;
            }
        }
        #[cfg(feature = "hydrate")]
        super::wedge::listen(move |code| scanner.scan(code));
        tick(scanner).await;
        let _ = set_interval_with_handle(move || spawn_local(tick(scanner)), TICK);
    });
}

async fn load(scanner: Scanner) -> Result<(), StoreError> {
    let store = Rc::new(DeviceStore::open().await?);
    let stored = store.load().await?;
    STORE.with(|s| *s.borrow_mut() = Some(store));
    scanner.login.set(stored.login);
    scanner.book.update_value(|book| {
        for imported in stored.performances {
            book.load_performance(imported, &stored.chunks);
        }
        book.apply_delta(&Delta { tickets: stored.changes, passes: stored.passes, cursor: 0, server_time: 0, scan_deadlines: Vec::new(), gates: Vec::new() });
        for scan in &stored.scans {
            book.restore_scan(scan);
        }
    });
    let mut scans = stored.scans;
    scans.sort_by_key(|s| s.scan.scanned_at);
    scanner.scans.set_value(scans);
    if let Some(door) = stored.door.filter(|d| !d.performances.is_empty()) {
        // A door that no longer fits the copy (a performance gone) is chosen again.
        let _ = scanner.open_door(door);
    }
    scanner.changed.update(|v| *v += 1);
    Ok(())
}

fn listen_connectivity(scanner: Scanner) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::Closure;
    let Some(window) = web_sys::window() else { return };
    let went_online = Closure::<dyn Fn()>::new(move || {
        scanner.online.set(true);
        spawn_local(tick(scanner));
    });
    let went_offline = Closure::<dyn Fn()>::new(move || scanner.online.set(false));
    let _ = window.add_event_listener_with_callback("online", went_online.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("offline", went_offline.as_ref().unchecked_ref());
    // Both live as long as the page.
    went_online.forget();
    went_offline.forget();
}

/// The server's clock against the device's, from an answer to a request sent at `sent_at`.
fn note_server_time(scanner: Scanner, server_time: Millis, sent_at: Millis) {
    let received_at = now_millis();
    scanner.skew.set(Some(server_time - (sent_at + received_at) / 2));
}

/// What a failed call means for the scanner: never a lost scan, at most a retry later.
fn failed(scanner: Scanner, error: AppError) {
    match error {
        AppError::Communication(_) => scanner.online.set(false),
        AppError::NotSignedIn | AppError::SignedInElsewhere => scanner.session.set(Session::SignInNeeded(Some(error))),
        other => scanner.problem.set(Some(Problem::Server(other))),
    }
}

fn storage_failed(scanner: Scanner, error: StoreError) {
    scanner.problem.set(Some(Problem::Storage(error.to_string())));
}

/// One round: who is signed in (once), the scans to upload, and now and then a delta.
async fn tick(scanner: Scanner) {
    if BUSY.with(|b| b.replace(true)) {
        return;
    }
    let online = navigator_online();
    if scanner.online.get_untracked() != online {
        scanner.online.set(online);
    }
    if online {
        // A sign-out made offline ends the session first (unless someone signed in since).
        if sign_out_pending() && !matches!(scanner.session.get_untracked(), Session::SignedIn(_)) {
            end_session().await;
        }
        if scanner.session.get_untracked() == Session::Unknown && !sign_out_pending() {
            check_session(scanner).await;
        }
        if matches!(scanner.session.get_untracked(), Session::SignedIn(_)) {
            probe(scanner).await;
            upload(scanner).await;
            let due = TICKS.with(|t| {
                let n = t.get();
                t.set(n.wrapping_add(1));
                n % DELTA_EVERY == 0
            });
            if due {
                pull_delta(scanner).await;
            }
        }
    }
    BUSY.with(|b| b.set(false));
}

async fn check_session(scanner: Scanner) {
    match whoami().await {
        Ok(me) => signed_in(scanner, me),
        Err(AppError::Communication(_)) => scanner.online.set(false),
        Err(AppError::SignedInElsewhere) => scanner.session.set(Session::SignInNeeded(Some(AppError::SignedInElsewhere))),
        Err(_) => scanner.session.set(Session::SignInNeeded(None)),
    }
}

/// Someone signed in: their scans are tagged with their login from now on; list what they
/// may import.
pub fn signed_in(scanner: Scanner, me: Me) {
    forget_pending_sign_out();
    let login = ScanLogin { id: me.id.0, name: me.login.to_string() };
    if scanner.login.get_untracked().as_ref() != Some(&login) {
        scanner.login.set(Some(login.clone()));
        spawn_local(async move {
            if let Some(store) = store()
                && let Err(e) = store.save_login(Some(&login)).await
            {
                storage_failed(scanner, e);
            }
        });
    }
    scanner.session.set(Session::SignedIn(me));
    scanner.online.set(true);
    spawn_local(async move {
        match scanner_performances().await {
            Ok(open) => scanner.open.set(open),
            Err(e) => failed(scanner, e),
        }
    });
}

/// Sends the signed-in login's scans (and untagged ones); another login's wait for it.
async fn upload(scanner: Scanner) {
    let Session::SignedIn(me) = scanner.session.get_untracked() else { return };
    let login = ScanLogin { id: me.id.0, name: me.login.to_string() };
    let batch = scanner.scans.with_value(|s| upload_batch(s, &login, UPLOAD_BATCH));
    if batch.is_empty() {
        return;
    }
    let sent_at = now_millis();
    let outcome = match sync_upload(batch.iter().map(|s| s.scan.clone()).collect()).await {
        Ok(outcome) => outcome,
        Err(e) => return failed(scanner, e),
    };
    note_server_time(scanner, outcome.server_time, sent_at);
    let mut updated = Vec::with_capacity(batch.len());
    let mut session_changed = false;
    scanner.scans.update_value(|scans| {
        for scan in scans.iter_mut().filter(|s| batch.iter().any(|b| b.scan.scan_id == s.scan.scan_id)) {
            let result = outcome.results.iter().find(|r| r.scan_id == scan.scan.scan_id);
            if scan.take_answer(result) {
                updated.push(scan.clone());
            } else {
                session_changed = true;
            }
        }
    });
    if session_changed {
        // The server's session is another login's than the page believed: ask whose.
        scanner.session.set(Session::Unknown);
    }
    scanner.book.update_value(|b| b.apply_upload(&batch, &outcome.results));
    scanner.changed.update(|v| *v += 1);
    if let Some(store) = store() {
        if let Err(e) = store.save_scans(&updated).await {
            storage_failed(scanner, e);
        }
    }
}

/// The performances a delta is asked for: the door's, else every imported one.
fn followed(scanner: Scanner) -> Vec<PerformanceId> {
    match scanner.door.get_untracked() {
        Some(door) => door.performances,
        None => scanner.book.with_value(|b| b.performances().map(|p| p.about.id).collect()),
    }
}

async fn pull_delta(scanner: Scanner) {
    let performances = followed(scanner);
    let Some(cursor) = scanner.book.with_value(|b| {
        performances.iter().filter_map(|p| b.performance(*p).map(|p| p.cursor)).min()
    }) else {
        return;
    };
    let sent_at = now_millis();
    let delta = match sync_delta(performances.clone(), cursor).await {
        Ok(delta) => delta,
        Err(e) => return failed(scanner, e),
    };
    note_server_time(scanner, delta.server_time, sent_at);
    let imported: Vec<_> = scanner.book.try_update_value(|b| {
        b.apply_delta(&delta);
        performances.iter().filter_map(|p| b.performance(*p).cloned()).collect()
    }).unwrap_or_default();
    scanner.refresh_checkpoint();
    scanner.changed.update(|v| *v += 1);
    if let Some(store) = store() {
        if let Err(e) = store.save_delta(&imported, &delta.tickets, &delta.passes).await {
            storage_failed(scanner, e);
        }
    }
}

/// Other devices' scans as they happen, for the door's performances, while online.
fn follow_live(scanner: Scanner) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::Closure;

    #[derive(serde::Deserialize)]
    struct LiveScan {
        pass: Option<PassRow>,
    }

    Effect::new(move || {
        let performances = scanner.door.with(|d| d.as_ref().map(|d| d.performances.clone()).unwrap_or_default());
        let signed_in = matches!(scanner.session.get(), Session::SignedIn(_));
        if performances.is_empty() || !signed_in || !scanner.online.get() {
            return;
        }
        let ids: Vec<String> = performances.iter().map(|p| p.0.to_string()).collect();
        let Ok(source) = web_sys::EventSource::new(&format!("/live?performances={}", ids.join(","))) else { return };
        let on_scan = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some(data) = event.data().as_string() else { return };
            let Ok(LiveScan { pass: Some(row) }) = serde_json::from_str::<LiveScan>(&data) else { return };
            scanner.book.update_value(|b| b.apply_pass(&row));
            scanner.changed.update(|v| *v += 1);
            if let Some(store) = store() {
                spawn_local(async move {
                    if let Err(e) = store.save_delta(&[], &[], &[row]).await {
                        storage_failed(scanner, e);
                    }
                });
            }
        });
        // The feed fell behind, or the door rules changed: a delta catches up.
        let on_resync = Closure::<dyn Fn()>::new(move || spawn_local(pull_delta(scanner)));
        let _ = source.add_event_listener_with_callback("scan", on_scan.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("resync", on_resync.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("rules", on_resync.as_ref().unchecked_ref());
        let kept = send_wrapper::SendWrapper::new((source, on_scan, on_resync));
        on_cleanup(move || kept.0.close());
    });
}

/// Asks the server for a scan's verdict, after keeping it on the device as the device would
/// decide it. Whichever comes first decides: the server's answer, an error, or the deadline
/// (`deadline_ms` after `started`, the read). A late answer still updates the device's copy.
pub fn ask_server(scanner: Scanner, pending: OfflineScan, deadline_ms: u32, started: f64) {
    let claimed = Rc::new(Cell::new(false));
    spawn_local(async move {
        let Some(store) = store() else {
            scanner.problem.set(Some(Problem::Storage("IndexedDB".to_owned())));
            return scanner.missed(pending, Miss::Error, started);
        };
        let kept = DeviceScan { scan: pending.clone(), uploaded: false, conflict: false, set_aside: None };
        if let Err(e) = store.save_scans(std::slice::from_ref(&kept)).await {
            storage_failed(scanner, e);
        }
        let left = (f64::from(deadline_ms) - (super::performance_now() - started)).max(0.0);
        {
            let (claimed, pending) = (claimed.clone(), pending.clone());
            set_timeout(
                move || {
                    if !claimed.replace(true) {
                        scanner.missed(pending, Miss::Timeout, started);
                    }
                },
                Duration::from_micros((left * 1_000.0) as u64),
            );
        }
        let request = ScanRequest {
            scan_id: pending.scan_id.clone(),
            barcode: pending.barcode.clone(),
            device: pending.device.clone(),
            client_time: pending.scanned_at,
            door: pending.door.clone(),
        };
        let (sent_at, sent) = (now_millis(), super::performance_now());
        let answer = scan(request).await;
        let round_trip_ms = (super::performance_now() - sent).round() as u32;
        match answer {
            Ok(outcome) => {
                note_server_time(scanner, outcome.server_time, sent_at);
                if claimed.replace(true) {
                    scanner.late_answer(&pending.scan_id, outcome);
                } else {
                    scanner.link.update_value(|l| l.answered());
                    scanner.decided_by_server(pending, outcome, round_trip_ms, started);
                }
            }
            Err(e) => {
                if !claimed.replace(true) {
                    scanner.missed(pending, Miss::Error, started);
                }
                failed(scanner, e);
            }
        }
    });
}

/// While the device decides alone, asks the server now and then how fast it answers: quick
/// answers in a row bring the door back to asking it first.
async fn probe(scanner: Scanner) {
    let now = now_millis();
    if !scanner.link.with_value(|l| l.probe_due(now)) {
        return;
    }
    scanner.link.update_value(|l| l.probing(now));
    let deadline = f64::from(scanner.deadline_ms());
    let sent = super::performance_now();
    let answer = scan_probe().await;
    let quick = answer.as_ref().is_ok_and(|_| super::performance_now() - sent <= deadline);
    if let Ok(server_time) = answer {
        note_server_time(scanner, server_time, now);
    }
    scanner.link.update_value(|l| l.probed(quick));
    scanner.link_changed();
}

/// Admissions learnt outside a delta, kept with the device's copy.
pub fn keep_passes(scanner: Scanner, rows: Vec<PassRow>) {
    spawn_local(async move {
        if let Some(store) = store() {
            if let Err(e) = store.save_delta(&[], &[], &rows).await {
                storage_failed(scanner, e);
            }
        }
    });
}

/// Keeps a scan on the device at once; it is uploaded on the next round.
pub fn keep_scan(scanner: Scanner, scan: DeviceScan) {
    spawn_local(async move {
        match store() {
            Some(store) => {
                if let Err(e) = store.save_scans(std::slice::from_ref(&scan)).await {
                    storage_failed(scanner, e);
                }
            }
            None => scanner.problem.set(Some(Problem::Storage("IndexedDB".to_owned()))),
        }
        if scanner.online.get_untracked() {
            tick(scanner).await;
        }
    });
}

pub fn save_door(scanner: Scanner, door: Door) {
    spawn_local(async move {
        if let Some(store) = store() {
            if let Err(e) = store.save_door(&door).await {
                storage_failed(scanner, e);
            }
        }
    });
}

/// Downloads a performance's tickets to the device, in batches, with progress.
pub fn import(scanner: Scanner, about: OpenPerformance) {
    let id = about.id;
    let progress = move |p: Option<ImportProgress>| {
        scanner.imports.update(|m| match p {
            Some(p) => {
                m.insert(id, p);
            }
            None => {
                m.remove(&id);
            }
        })
    };
    progress(Some(ImportProgress::Downloading));
    spawn_local(async move {
        let result = import_into_device(scanner, about, &progress).await;
        progress(None);
        match result {
            Ok(()) => scanner.problem.set(None),
            Err(ImportFailure::Server(e)) => failed(scanner, e),
            Err(ImportFailure::Storage(e)) => storage_failed(scanner, e),
        }
    });
}

enum ImportFailure {
    Server(AppError),
    Storage(StoreError),
}

async fn import_into_device(scanner: Scanner, about: OpenPerformance, progress: &dyn Fn(Option<ImportProgress>)) -> Result<(), ImportFailure> {
    let store = store().ok_or(ImportFailure::Storage(StoreError::Storage("IndexedDB".to_owned())))?;
    let sent_at = now_millis();
    let snapshot = sync_snapshot(about.id).await.map_err(ImportFailure::Server)?;
    note_server_time(scanner, snapshot.server_time, sent_at);
    let (imported, chunks, passes) = split_snapshot(about, snapshot, now_millis());
    let of = chunks.len() as u32;
    for (done, chunk) in chunks.iter().enumerate() {
        progress(Some(ImportProgress::Storing { done: done as u32, of }));
        store.save_chunk(chunk).await.map_err(ImportFailure::Storage)?;
    }
    store.save_performance(&imported, &passes).await.map_err(ImportFailure::Storage)?;
    scanner.book.update_value(|b| {
        b.load_performance(imported, &chunks);
        passes.iter().for_each(|row| b.apply_pass(row));
    });
    scanner.refresh_checkpoint();
    scanner.changed.update(|v| *v += 1);
    Ok(())
}

/// Leaves the door empty, so a reopened page starts on the choice of performances.
pub fn forget_door(scanner: Scanner) {
    save_door(scanner, Door { performances: Vec::new(), mode: Mode::SinglePass, gate: None });
}

fn sign_out_pending() -> bool {
    use gloo_storage::Storage;
    gloo_storage::LocalStorage::get::<bool>(SIGN_OUT_PENDING_KEY).unwrap_or(false)
}

fn forget_pending_sign_out() {
    use gloo_storage::Storage;
    gloo_storage::LocalStorage::delete(SIGN_OUT_PENDING_KEY);
}

/// Ends the session on the server; offline, as soon as the network is back.
async fn end_session() {
    use gloo_storage::Storage;
    let reached = navigator_online() && !matches!(crate::me::sign_out().await, Err(AppError::Communication(_)));
    if reached {
        // Ended, or already over.
        forget_pending_sign_out();
    } else {
        let _ = gloo_storage::LocalStorage::set(SIGN_OUT_PENDING_KEY, true);
    }
}

/// Signs out from the scanner, keeping the device's copy or clearing it. Nobody is signed in
/// on the device from then on: scans made now are untagged, and queued ones wait for their
/// login. Works offline: the server's session is ended once the network is back.
pub fn sign_out(scanner: Scanner, choice: SignOutChoice) {
    spawn_local(async move {
        let store = store();
        if let SignOutChoice::Clear { discard_scans } = choice {
            if let Some(store) = &store
                && let Err(e) = store.clear_copy(discard_scans).await
            {
                storage_failed(scanner, e);
            }
            scanner.checkpoint.set_value(None);
            scanner.door.set(None);
            let kept: Vec<DeviceScan> = scanner.scans.with_value(|s| s.iter().filter(|s| s.kept_at_clear(discard_scans)).cloned().collect());
            scanner.book.set_value(DeviceBook::new());
            scanner.scans.set_value(kept);
        }
        scanner.login.set(None);
        if let Some(store) = &store
            && let Err(e) = store.save_login(None).await
        {
            storage_failed(scanner, e);
        }
        scanner.session.set(Session::SignInNeeded(None));
        scanner.open.set(Vec::new());
        scanner.changed.update(|v| *v += 1);
        end_session().await;
    });
}

//! The server side of the device protocol: rights, the door's checkpoint, and the engine run
//! inside the storage's atomic scan step.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::DateTime;

use billetix_core::authorization::Actor;
use billetix_core::domain::{InstitutionId, ParseFailure};
use billetix_core::engine::{Barcode, Checkpoint, Direction, Gates, Mode, Pass, PerformanceId, Scan, Ticket, Verdict, decide};
use billetix_core::sync::device::gates_seen_from;

use super::protocol::*;
use super::reflag::anomaly_of;
use crate::error::AppError;
use crate::ssr::{metrics, now_millis};
use crate::ssr::performance_cache::PerformanceCache;
use crate::ssr::storage::{Anomaly, DecisionNote, DoorAnswer, DoorScan, Judgement, NewScan, ScanRecord, Storage};

/// Deltas re-read this far behind their cursor, so a row stamped just before the cursor but
/// committed just after is still sent. Devices apply rows idempotently.
pub const CURSOR_OVERLAP_MS: Millis = 5_000;

const MAX_ID_LEN: usize = 64;

/// A door opened for an actor: its checkpoint and where its numbers may be looked up.
pub struct OpenedDoor {
    pub checkpoint: Checkpoint,
    pub institutions: Vec<InstitutionId>,
}

fn short_text(field: &'static str, value: &str) -> Result<(), AppError> {
    let reason = if value.is_empty() {
        ParseFailure::Empty
    } else if value.chars().count() > MAX_ID_LEN {
        ParseFailure::TooLong { max: MAX_ID_LEN }
    } else {
        return Ok(());
    };
    Err(AppError::InvalidInput { field: field.to_owned(), reason })
}

fn barcode(raw: &str) -> Result<Barcode, AppError> {
    Barcode::parse(raw).map_err(|e| AppError::InvalidInput {
        field: "barcode".to_owned(),
        reason: match e {
            billetix_core::engine::BarcodeError::Empty => ParseFailure::Empty,
            billetix_core::engine::BarcodeError::TooLong => ParseFailure::TooLong { max: 512 },
        },
    })
}

fn direction_of(mode: &Mode) -> Direction {
    match mode {
        Mode::EntryExit { direction } => *direction,
        Mode::SinglePass | Mode::MultiPass { .. } => Direction::In,
    }
}

/// The checkpoint for `door`, provided the actor may scan every performance of it and each
/// is open for scanning.
pub async fn open_door(storage: &dyn Storage, cache: &PerformanceCache, actor: &Actor, door: &Door) -> Result<OpenedDoor, AppError> {
    if door.performances.is_empty() {
        return Err(AppError::InvalidInput { field: "performances".to_owned(), reason: ParseFailure::Empty });
    }
    let places = cache.get(storage, &door.performances).await?;
    let mut institutions = Vec::new();
    let mut excluded = Vec::new();
    for place in &places {
        if !actor.can_scan_at(&place.ancestry) {
            return Err(AppError::Forbidden);
        }
        if !place.context.pda_open {
            return Err(AppError::ClosedForScanning);
        }
        if !institutions.contains(&place.context.institution) {
            institutions.push(place.context.institution);
        }
        excluded.extend(place.context.excluded_categories.iter().map(|c| (place.context.id, c.clone())));
    }
    let zone = &places[0].context.time_zone;
    let time_zone = chrono_tz::Tz::from_str(zone).map_err(|_| {
        tracing::error!(zone = %zone, "a venue has an unknown time zone");
        AppError::Internal
    })?;
    // A gate's rules are the ones stored (the performance cache's), whatever the device sent.
    let (mode, gates) = match door.gate {
        None => (door.mode, Gates::default()),
        Some(id) => {
            let [place] = places.as_slice() else {
                return Err(AppError::InvalidInput { field: "performances".to_owned(), reason: ParseFailure::TooLong { max: 1 } });
            };
            let set = &place.context.gates;
            let joined = set.gates.iter().find(|g| g.id == id).ok_or(AppError::NotFound)?;
            (joined.rules.mode_for(direction_of(&door.mode)), gates_seen_from(joined, set))
        }
    };
    Ok(OpenedDoor {
        checkpoint: Checkpoint { mode, under_control: door.performances.clone(), excluded, time_zone, gates },
        institutions,
    })
}

fn time(millis: Millis) -> Result<DateTime<chrono::Utc>, AppError> {
    DateTime::from_timestamp_millis(millis)
        .ok_or(AppError::InvalidInput { field: "time".to_owned(), reason: ParseFailure::BadCharacters })
}

/// Decides and records a scan made online: one atomic step in the database.
pub async fn scan_online(storage: &dyn Storage, cache: &PerformanceCache, actor: &Actor, request: ScanRequest) -> Result<ScanRecord, AppError> {
    short_text("scan_id", &request.scan_id)?;
    short_text("device", &request.device)?;
    let barcode = barcode(&request.barcode)?;
    let opened = open_door(storage, cache, actor, &request.door).await?;
    let mode = opened.checkpoint.mode;
    let asked = (barcode.as_str().to_owned(), request.door.performances.clone());
    let now = now_millis();
    let scan = NewScan {
        scan_uuid: request.scan_id,
        barcode,
        device: request.device,
        login: Some(actor.login_id),
        scanned_at: now,
        client_time: request.client_time,
        server_time: now,
        direction: direction_of(&mode),
        door_mode: Some(mode),
        offline: false,
        device_reason: None,
        clock_skew_ms: None,
    };
    let at = time(now)?;
    let mode = request.door.mode;
    let device = scan.device.clone();
    let checkpoint = opened.checkpoint;
    let judge = Box::new(move |ticket: Option<&Ticket>, passes: &[Pass]| {
        let verdict = decide(ticket, passes, &checkpoint, &Scan { at, device: &device });
        Judgement { admitted: verdict.is_accepted(), anomaly: Anomaly::of_verdict(&verdict), verdict, server_agreed: None }
    });
    let door_scan = DoorScan { scan, performances: request.door.performances, institutions: opened.institutions, judge };
    let mut answers = storage.record_scans(vec![door_scan]).await;
    let DoorAnswer { record, written_now } = answers.pop().ok_or(AppError::Internal)??;
    same_scan(&record, &asked.0, &asked.1)?;
    if written_now {
        metrics::scan_recorded(&record, &mode);
    }
    Ok(record)
}

/// A scan id met again is a retry only if its first record is of the same number at the same
/// door; otherwise another scan (another device's, another institution's) holds the id, and
/// answering with its record would drop this scan silently.
fn same_scan(record: &ScanRecord, barcode: &str, performances: &[PerformanceId]) -> Result<(), AppError> {
    let same_door = record.performance.is_none_or(|p| performances.contains(&p));
    if record.barcode == barcode && same_door {
        Ok(())
    } else {
        tracing::warn!(scan_id = %record.scan_uuid, "a scan id already recorded for another scan");
        Err(AppError::AlreadyExists("scan_id".to_owned()))
    }
}

/// Records scans decided offline, in time order. What happened at the door stands (an
/// admitted person went in); where the server, knowing every device's scans, would have
/// refused, the scan is flagged. A scan id recorded before is answered as the first time.
/// Each scan is answered on its own: one the server can never take (its performance closed
/// for scanning, gone, or no longer allowed to this login; a malformed one; one tagged with
/// another login) is answered as refused with the reason, and the others are recorded all the same.
pub async fn upload(
    storage: &dyn Storage,
    cache: &PerformanceCache,
    actor: &Actor,
    mut scans: Vec<OfflineScan>,
) -> Result<(Vec<UploadedScan>, Vec<ScanRecord>), AppError> {
    scans.sort_by_key(|s| s.scanned_at);
    let now = now_millis();
    let mut doors: Vec<(Door, Result<OpenedDoor, AppError>)> = Vec::new();
    let mut door_scans = Vec::with_capacity(scans.len());
    let mut results = Vec::with_capacity(scans.len());
    // Each recorded scan's number and door, to tell a retry from another scan with its id; and
    // what its device said of it, to complete a record made online.
    let mut asked = Vec::with_capacity(scans.len());
    // What the server's engine said of each scan, filled in by its judge.
    let mut server_verdicts = Vec::with_capacity(scans.len());
    for offline in scans {
        // The device sends only the signed-in login's scans; one that names another login (a
        // session changed under the page) is refused, never recorded under this one.
        if let Some(made_by) = offline.login.as_ref().filter(|l| l.id != actor.login_id.0) {
            tracing::info!(scan_id = %offline.scan_id, made_by = %made_by.name, "uploaded scan of another login refused");
            let reason = AppError::ScannedUnderAnotherLogin { login: made_by.name.clone() };
            results.push(UploadedScan { scan_id: offline.scan_id, outcome: Uploaded::Refused { reason } });
            continue;
        }
        let door_index = match doors.iter().position(|(door, _)| *door == offline.door) {
            Some(index) => index,
            None => {
                doors.push((offline.door.clone(), open_door(storage, cache, actor, &offline.door).await));
                doors.len() - 1
            }
        };
        let prepared = match &doors[door_index].1 {
            Ok(opened) => offline_door_scan(offline.clone(), opened, actor, now),
            Err(reason) => Err(reason.clone()),
        };
        match prepared {
            Ok((door_scan, server_verdict)) => {
                let said = (offline.decided, offline.device_verdict.clone(), offline.clock_skew_ms);
                asked.push((door_scan.scan.barcode.as_str().to_owned(), door_scan.performances.clone(), said, offline.door.mode));
                door_scans.push(door_scan);
                server_verdicts.push(server_verdict);
            }
            Err(reason) => {
                tracing::info!(scan_id = %offline.scan_id, %reason, "uploaded scan refused");
                results.push(UploadedScan { scan_id: offline.scan_id, outcome: Uploaded::Refused { reason } });
            }
        }
    }
    // All at once: the storage writes them in as few transactions as it can, in this order.
    let mut records = Vec::with_capacity(door_scans.len());
    let mut notes = Vec::new();
    let mut reordered = Vec::new();
    for ((answer, server_verdict), (barcode, performances, said, mode)) in storage.record_scans(door_scans).await.into_iter().zip(server_verdicts).zip(asked) {
        let DoorAnswer { mut record, written_now } = answer?;
        if let Err(reason) = same_scan(&record, &barcode, &performances) {
            results.push(UploadedScan { scan_id: record.scan_uuid, outcome: Uploaded::Refused { reason } });
            continue;
        }
        if written_now {
            metrics::scan_recorded(&record, &mode);
        }
        if let Some(note) = note_on_online_record(&mut record, said) {
            notes.push(note);
        }
        // A scan recorded by an earlier call, even one at the same moment, keeps its first
        // verdict: its judge may have run before the storage found it recorded, on a state
        // that holds its own pass.
        let judged_now = server_verdict.lock().ok().and_then(|mut slot| slot.take()).filter(|_| written_now);
        if let (Some(judged), Some(performance), true) = (&judged_now, record.performance, record.admitted) {
            if judged.before_recorded_passes {
                reordered.push((performance, record.barcode.clone()));
            }
        }
        let server_verdict = judged_now.map_or_else(|| record.verdict.clone(), |judged| judged.verdict);
        results.push(UploadedScan {
            scan_id: record.scan_uuid.clone(),
            outcome: Uploaded::Recorded { server_verdict, conflict: record.anomaly.is_some_and(Anomaly::is_conflict) },
        });
        records.push(record);
    }
    storage.note_decisions(&notes).await?;
    // Passes that arrived after later ones: their tickets' flags are judged again in time order,
    // and the corrected records go out with the others.
    reordered.sort_unstable();
    reordered.dedup();
    for corrected in storage.reflag_passes(&reordered, now).await? {
        for result in results.iter_mut().filter(|r| r.scan_id == corrected.scan_uuid) {
            if let Uploaded::Recorded { conflict, .. } = &mut result.outcome {
                *conflict = corrected.anomaly.is_some_and(Anomaly::is_conflict);
            }
        }
        records.retain(|r| r.scan_uuid != corrected.scan_uuid);
        records.push(corrected);
    }
    Ok((results, records))
}

/// What an upload tells of a scan the server recorded online: the round trip of a verdict the
/// door showed; or that its answer came too late and the door showed the device's own (then
/// the scan is the device's decision, and whether the server agreed is kept). `record` is
/// brought up to date. Nothing for scans recorded as decided on the device.
fn note_on_online_record(record: &mut ScanRecord, (decided, device_verdict, clock_skew_ms): (DecidedBy, Verdict, Option<i64>)) -> Option<DecisionNote> {
    if record.offline {
        return None;
    }
    let scan_uuid = record.scan_uuid.clone();
    match decided {
        DecidedBy::Server { round_trip_ms } => {
            if record.round_trip_ms.is_some() {
                return None;
            }
            record.round_trip_ms = Some(i64::from(round_trip_ms));
            Some(DecisionNote::RoundTrip { scan_uuid, round_trip_ms: i64::from(round_trip_ms) })
        }
        DecidedBy::Device { why } => {
            let server_agreed = record.verdict.same_decision(&device_verdict);
            record.offline = true;
            record.device_reason = Some(why);
            record.server_agreed = Some(server_agreed);
            record.clock_skew_ms = clock_skew_ms;
            Some(DecisionNote::DecidedOnDevice { scan_uuid, reason: why, server_agreed, clock_skew_ms })
        }
    }
}

/// What the server's engine said of an offline scan, as its judge saw the ticket.
struct ServerJudgement {
    verdict: Verdict,
    /// The ticket had passes recorded after this scan's time: its history is re-ordered.
    before_recorded_passes: bool,
}

/// One offline scan as the storage records it, with the slot its judge fills with the
/// server's own judgement; or why it can never be recorded.
fn offline_door_scan(
    offline: OfflineScan,
    opened: &OpenedDoor,
    actor: &Actor,
    now: Millis,
) -> Result<(DoorScan, Arc<Mutex<Option<ServerJudgement>>>), AppError> {
    short_text("scan_id", &offline.scan_id)?;
    short_text("device", &offline.device)?;
    let barcode = barcode(&offline.barcode)?;
    let at = time(offline.scanned_at)?;
    let scan = NewScan {
        scan_uuid: offline.scan_id.clone(),
        barcode,
        device: offline.device.clone(),
        login: Some(actor.login_id),
        scanned_at: offline.scanned_at,
        client_time: offline.scanned_at,
        server_time: now,
        direction: match &offline.device_verdict {
            Verdict::Accepted { direction } => *direction,
            Verdict::Refused { .. } => direction_of(&opened.checkpoint.mode),
        },
        door_mode: Some(opened.checkpoint.mode),
        offline: true,
        device_reason: match offline.decided {
            DecidedBy::Device { why } => Some(why),
            DecidedBy::Server { .. } => None,
        },
        clock_skew_ms: offline.clock_skew_ms,
    };
    let server_verdict = Arc::new(Mutex::new(None));
    let (checkpoint, device, device_verdict, told) =
        (opened.checkpoint.clone(), offline.device, offline.device_verdict, server_verdict.clone());
    let judge = Box::new(move |ticket: Option<&Ticket>, passes: &[Pass]| {
        let verdict = decide(ticket, passes, &checkpoint, &Scan { at, device: &device });
        let admitted = device_verdict.is_accepted();
        let anomaly = if admitted { (!verdict.is_accepted()).then(|| anomaly_of(&verdict)) } else { Anomaly::of_verdict(&verdict) };
        let server_agreed = Some(verdict.same_decision(&device_verdict));
        if let Ok(mut slot) = told.lock() {
            let before_recorded_passes = passes.last().is_some_and(|last| last.at > at);
            *slot = Some(ServerJudgement { verdict, before_recorded_passes });
        }
        Judgement { verdict: device_verdict.clone(), admitted, anomaly, server_agreed }
    });
    let door_scan = DoorScan { scan, performances: offline.door.performances, institutions: opened.institutions.clone(), judge };
    Ok((door_scan, server_verdict))
}

/// The actor may import `performance` to a device.
pub async fn check_import(
    storage: &dyn Storage,
    cache: &PerformanceCache,
    actor: &Actor,
    performances: &[PerformanceId],
) -> Result<(), AppError> {
    let door = Door { performances: performances.to_vec(), mode: Mode::SinglePass, gate: None };
    open_door(storage, cache, actor, &door).await.map(|_| ())
}

/// The actor may follow the live scans of `performances`: as a door that may import them, or
/// from the back office (whether or not PDA is ticked).
pub async fn check_watch(
    storage: &dyn Storage,
    cache: &PerformanceCache,
    actor: &Actor,
    performances: &[PerformanceId],
) -> Result<(), AppError> {
    for place in cache.get(storage, performances).await? {
        let as_door = actor.can_scan_at(&place.ancestry) && place.context.pda_open;
        if !as_door && !actor.can_use_backoffice(&place.ancestry) {
            return Err(AppError::Forbidden);
        }
    }
    Ok(())
}

pub async fn snapshot(
    storage: &dyn Storage,
    cache: &PerformanceCache,
    actor: &Actor,
    performance: PerformanceId,
) -> Result<Snapshot, AppError> {
    check_import(storage, cache, actor, &[performance]).await?;
    let context = storage
        .performance_contexts(&[performance])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    // Taken before reading: whatever changes from now on is in the next delta.
    let cursor = now_millis();
    let tickets = storage.performance_tickets(performance).await?;
    let passes = storage.scans_since(&[performance], 0).await?;
    let mut categories: Vec<String> = Vec::new();
    let mut category_of = Vec::with_capacity(tickets.len());
    let mut barcodes = Vec::with_capacity(tickets.len());
    let mut states = String::with_capacity(tickets.len());
    for ticket in tickets {
        let index = match categories.iter().position(|c| *c == ticket.category) {
            Some(index) => index,
            None => {
                categories.push(ticket.category);
                categories.len() - 1
            }
        };
        category_of.push(u32::try_from(index).unwrap_or(u32::MAX));
        states.push(state_letter(ticket.state));
        barcodes.push(ticket.barcode.into());
    }
    storage.record_download(actor.login_id, performance, cursor).await?;
    Ok(Snapshot {
        performance,
        time_zone: context.time_zone,
        excluded_categories: context.excluded_categories,
        window: context.window.map(|w| (w.from.timestamp_millis(), w.to.timestamp_millis())),
        barcodes,
        states,
        categories,
        category_of,
        passes: passes.iter().filter_map(ScanRecord::pass_row).collect(),
        cursor,
        server_time: now_millis(),
        scan_deadline_ms: context.scan_deadline_ms,
        gates: context.gates,
    })
}

pub async fn holders(
    storage: &dyn Storage,
    cache: &PerformanceCache,
    actor: &Actor,
    performance: PerformanceId,
) -> Result<Holders, AppError> {
    check_import(storage, cache, actor, &[performance]).await?;
    let (barcodes, names) = storage
        .performance_tickets(performance)
        .await?
        .into_iter()
        .filter_map(|t| t.holder.map(|h| (String::from(t.barcode), h)))
        .unzip();
    Ok(Holders { barcodes, names })
}

pub async fn delta(
    storage: &dyn Storage,
    cache: &PerformanceCache,
    actor: &Actor,
    performances: &[PerformanceId],
    cursor: Millis,
) -> Result<Delta, AppError> {
    check_import(storage, cache, actor, performances).await?;
    let places = cache.get(storage, performances).await?;
    let scan_deadlines = places.iter().map(|p| (p.context.id, p.context.scan_deadline_ms)).collect();
    let gates = places.iter().map(|p| (p.context.id, p.context.gates.clone())).collect();
    let now = now_millis();
    let since = cursor.saturating_sub(CURSOR_OVERLAP_MS);
    let tickets = storage
        .tickets_changed_since(performances, since)
        .await?
        .into_iter()
        .map(|t| TicketChange { barcode: t.barcode.into(), performance: t.performance, state: t.state, category: t.category })
        .collect();
    let passes = storage.scans_since(performances, since).await?.iter().filter_map(ScanRecord::pass_row).collect();
    Ok(Delta { tickets, passes, cursor: now, server_time: now, scan_deadlines, gates })
}

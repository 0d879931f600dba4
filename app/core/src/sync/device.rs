//! A scanner device's working copy, pure (no browser, no clock): the performances it imported,
//! every pass it knows of, and the door it runs. The scanner page keeps these in IndexedDB and
//! decides each scan here, with the engine, without waiting for the network.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::protocol::{
    DecidedBy, Delta, Door, GateSet, Millis, OfflineScan, PassRow, PerformanceGate, ScanLogin, Snapshot, UploadRefusal, UploadedScan,
    state_from_letter,
};
use crate::engine::{
    Barcode, Checkpoint, Direction, Gates, Mode, Pass, PerformanceId, Scan, Ticket, TicketBook, TicketState, ValidityWindow, Verdict,
};
use crate::ids::GateId;

/// Tickets are stored in IndexedDB this many to a record: few writes, none too large.
pub const CHUNK_SIZE: usize = 10_000;

/// How many shared numbers a refused selection names.
const SHARED_SHOWN: usize = 5;

/// What the scanner lists of a performance open for scanning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenPerformance {
    pub id: PerformanceId,
    pub venue: String,
    pub event: String,
    pub label: String,
    pub starts_at: Option<Millis>,
    pub time_zone: String,
    pub total: u64,
}

/// A performance as imported to the device, without its tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedPerformance {
    pub about: OpenPerformance,
    pub excluded_categories: Vec<String>,
    pub window: Option<(Millis, Millis)>,
    pub categories: Vec<String>,
    /// Where the next delta starts.
    pub cursor: Millis,
    pub imported_at: Millis,
    pub chunks: u32,
    /// Its institution's deadline for online verdicts (from the snapshot, then the deltas).
    #[serde(default = "super::protocol::default_scan_deadline")]
    pub scan_deadline_ms: u32,
    /// Its gates and rules version (from the snapshot, then the deltas).
    #[serde(default)]
    pub gates: GateSet,
}

/// Up to [`CHUNK_SIZE`] tickets of one performance, columnar as the snapshot sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketChunk {
    pub performance: PerformanceId,
    /// The import it belongs to (its performance's `imported_at`): a new import is written
    /// beside the previous one and replaces it at its end, so an import cut halfway leaves the
    /// previous copy whole. `None` on chunks stored before imports were told apart.
    #[serde(default)]
    pub import: Option<Millis>,
    pub index: u32,
    pub barcodes: Vec<String>,
    pub states: String,
    pub category_of: Vec<u32>,
}

/// A scan made on this device, kept until the server has it (and after, for the recent list).
/// `E` is why the server refuses a scan (see [`UploadOutcome`](super::protocol::UploadOutcome)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Serde would ask `E: Default` for the defaulted field; an absent `Option` is `None` anyway.
#[serde(bound(deserialize = "E: Deserialize<'de>"))]
pub struct DeviceScan<E> {
    pub scan: OfflineScan,
    pub uploaded: bool,
    /// The server found it a double entry (or alike).
    pub conflict: bool,
    /// The server will never record it, and why: kept aside on the device (shown, counted,
    /// exportable) rather than sent again forever ahead of the others.
    #[serde(default)]
    pub set_aside: Option<E>,
}

impl<E> DeviceScan<E> {
    /// The server has not recorded it: waiting to be sent (not those the server decided, which
    /// only wait to be told their round trip), or set aside.
    pub fn unrecorded(&self) -> bool {
        (!self.uploaded && !matches!(self.scan.decided, DecidedBy::Server { .. })) || self.set_aside.is_some()
    }

    /// Whether an upload by `login`, signed in now, sends it: not answered yet, and made under
    /// this login, or untagged (kept before scans were tagged, or made with nobody signed in).
    pub fn sent_by(&self, login: &ScanLogin) -> bool {
        !self.uploaded && self.scan.login.as_ref().is_none_or(|made_by| made_by.id == login.id)
    }

    /// Takes the server's answer to this scan, sent in an upload. `false` when it stays queued:
    /// refused as another login's (the session changed under the page), it waits for that login.
    pub fn take_answer(&mut self, result: Option<&UploadedScan<E>>) -> bool
    where
        E: UploadRefusal + Clone,
    {
        let refusal = result.and_then(UploadedScan::refusal);
        if refusal.is_some_and(UploadRefusal::waits_for_its_login) {
            return false;
        }
        // Answered either way: recorded, or refused for good and set aside, so one scan the
        // server can never take does not hold back the ones behind it.
        self.uploaded = true;
        self.conflict = result.is_some_and(UploadedScan::conflict);
        self.set_aside = refusal.cloned();
        true
    }

    /// Whether a sign-out that clears the device's copy keeps it: what the server has not
    /// recorded stays (to be sent, or exported), unless the steward chose to discard it too.
    pub fn kept_at_clear(&self, discard_unrecorded: bool) -> bool {
        !discard_unrecorded && (!self.uploaded || self.set_aside.is_some())
    }
}

/// The next scans an upload by `login` sends, oldest first: another login's stay queued.
pub fn upload_batch<E: Clone>(scans: &[DeviceScan<E>], login: &ScanLogin, max: usize) -> Vec<DeviceScan<E>> {
    scans.iter().filter(|s| s.sent_by(login)).take(max).cloned().collect()
}

/// Scans the server has not recorded that wait for another login than `login` (for their own,
/// whoever it is, when nobody is signed in) to sign in again: by login, in order of first scan.
pub fn waiting_for_others<'a, E>(scans: &'a [DeviceScan<E>], login: Option<&ScanLogin>) -> Vec<(ScanLogin, Vec<&'a DeviceScan<E>>)> {
    let mut waiting: Vec<(ScanLogin, Vec<&DeviceScan<E>>)> = Vec::new();
    for scan in scans.iter().filter(|s| s.unrecorded() && s.set_aside.is_none()) {
        let Some(made_by) = scan.scan.login.as_ref().filter(|l| login.is_none_or(|now| now.id != l.id)) else { continue };
        match waiting.iter_mut().find(|(l, _)| l.id == made_by.id) {
            Some((_, list)) => list.push(scan),
            None => waiting.push((made_by.clone(), vec![scan])),
        }
    }
    waiting
}

/// Cuts a snapshot into what the device stores: the performance, its ticket chunks, its passes.
pub fn split_snapshot(about: OpenPerformance, snapshot: Snapshot, now: Millis) -> (ImportedPerformance, Vec<TicketChunk>, Vec<PassRow>) {
    let performance = snapshot.performance;
    let mut states = snapshot.states.chars();
    let mut chunks = Vec::with_capacity(snapshot.barcodes.len().div_ceil(CHUNK_SIZE));
    for (index, (barcodes, category_of)) in
        snapshot.barcodes.chunks(CHUNK_SIZE).zip(snapshot.category_of.chunks(CHUNK_SIZE)).enumerate()
    {
        chunks.push(TicketChunk {
            performance,
            import: Some(now),
            index: index as u32,
            barcodes: barcodes.to_vec(),
            states: states.by_ref().take(barcodes.len()).collect(),
            category_of: category_of.to_vec(),
        });
    }
    let imported = ImportedPerformance {
        about,
        excluded_categories: snapshot.excluded_categories,
        window: snapshot.window,
        categories: snapshot.categories,
        cursor: snapshot.cursor,
        imported_at: now,
        chunks: chunks.len() as u32,
        scan_deadline_ms: snapshot.scan_deadline_ms,
        gates: snapshot.gates,
    };
    (imported, chunks, snapshot.passes)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DoorError {
    #[error("choose at least one performance")]
    NothingChosen,
    #[error("performance {0} is not imported on this device")]
    NotImported(PerformanceId),
    #[error("these performances share ticket numbers ({}); control them one at a time", .0.join(", "))]
    SharedNumbers(Vec<String>),
    #[error("unknown time zone {0}")]
    TimeZone(String),
    /// The gate joined is gone from its performance (deleted in the back office).
    #[error("gate {0} no longer exists")]
    NoSuchGate(GateId),
}

/// Admitted and countable tickets of the performances under control.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    pub admitted: u64,
    pub total: u64,
}

/// The device's copy of its imported performances, and what it knows of every pass.
#[derive(Debug, Default)]
pub struct DeviceBook {
    book: TicketBook,
    performances: BTreeMap<PerformanceId, ImportedPerformance>,
    /// Scans already counted, by id: own scans and server rows arrive more than once.
    known_scans: HashSet<String>,
    /// Scans the server flagged as double entries, with their ticket.
    conflicts: BTreeMap<String, String>,
    admitted: HashMap<PerformanceId, HashSet<Barcode>>,
    countable: HashMap<PerformanceId, u64>,
}

fn time(millis: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

fn window_of(window: Option<(Millis, Millis)>) -> Option<ValidityWindow> {
    window.map(|(from, to)| ValidityWindow { from: time(from), to: time(to) })
}

/// The direction a door's mode asks for: an entry/exit door's, else in.
fn direction_of(mode: Mode) -> Direction {
    match mode {
        Mode::EntryExit { direction } => direction,
        Mode::SinglePass | Mode::MultiPass { .. } => Direction::In,
    }
}

/// The engine's view of a joined gate among its performance's gates.
pub fn gates_seen_from(joined: &PerformanceGate, set: &GateSet) -> Gates {
    Gates {
        joined: Some(joined.rules.clone()),
        others: set.gates.iter().filter(|g| g.id != joined.id).map(|g| g.rules.clone()).collect(),
    }
}

impl DeviceBook {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn performances(&self) -> impl Iterator<Item = &ImportedPerformance> {
        self.performances.values()
    }

    pub fn performance(&self, id: PerformanceId) -> Option<&ImportedPerformance> {
        self.performances.get(&id)
    }

    /// Adds (or replaces) an imported performance with its tickets.
    pub fn load_performance(&mut self, imported: ImportedPerformance, chunks: &[TicketChunk]) {
        let id = imported.about.id;
        let window = window_of(imported.window);
        let mut countable = 0;
        let of_this_import = |c: &&TicketChunk| c.performance == id && c.import.is_none_or(|at| at == imported.imported_at);
        for chunk in chunks.iter().filter(of_this_import) {
            for ((raw, letter), category) in chunk.barcodes.iter().zip(chunk.states.chars()).zip(&chunk.category_of) {
                let (Ok(barcode), Some(state)) = (Barcode::parse(raw), state_from_letter(letter)) else { continue };
                if state == TicketState::Valid {
                    countable += 1;
                }
                let category = imported.categories.get(*category as usize).cloned().unwrap_or_default();
                self.book.upsert(barcode, Ticket { performance: id, state, category, window });
            }
        }
        self.countable.insert(id, countable);
        self.performances.insert(id, imported);
    }

    /// Adds a pass the server knows of (snapshot, delta, live feed). Rows already counted
    /// change nothing but their conflict flag: the server judges a ticket's passes again when
    /// earlier ones arrive late, and clears a double entry they explain.
    pub fn apply_pass(&mut self, row: &PassRow) {
        if row.conflict {
            self.conflicts.insert(row.scan_id.clone(), row.barcode.clone());
        } else {
            self.conflicts.remove(&row.scan_id);
        }
        if !self.known_scans.insert(row.scan_id.clone()) {
            return;
        }
        let Ok(barcode) = Barcode::parse(&row.barcode) else { return };
        let pass = Pass { at: time(row.at), direction: row.direction, device: row.device.clone() };
        self.count_pass(barcode, row.performance, pass);
    }

    /// Whether a scan of this id is counted already.
    pub fn knows(&self, scan_id: &str) -> bool {
        self.known_scans.contains(scan_id)
    }

    /// Counts the server's admission of a scan this device decided and did not admit (the
    /// server's answer came after the deadline).
    pub fn count_late_pass(&mut self, row: &PassRow) {
        let Ok(barcode) = Barcode::parse(&row.barcode) else { return };
        self.known_scans.insert(row.scan_id.clone());
        let pass = Pass { at: time(row.at), direction: row.direction, device: row.device.clone() };
        self.count_pass(barcode, row.performance, pass);
    }

    /// Counts again a scan made on this device, when the page opens anew.
    pub fn restore_scan<E>(&mut self, own: &DeviceScan<E>) {
        let scan = &own.scan;
        if own.conflict {
            self.conflicts.insert(scan.scan_id.clone(), scan.barcode.clone());
        }
        if !self.known_scans.insert(scan.scan_id.clone()) {
            return;
        }
        let (Verdict::Accepted { direction }, Ok(barcode)) = (&scan.device_verdict, Barcode::parse(&scan.barcode)) else { return };
        let Some(performance) = scan.door.performances.iter().copied().find(|p| self.book.ticket_in(&barcode, *p).is_some()) else {
            return;
        };
        let pass = Pass { at: time(scan.scanned_at), direction: *direction, device: scan.device.clone() };
        self.count_pass(barcode, performance, pass);
    }

    fn count_pass(&mut self, barcode: Barcode, performance: PerformanceId, pass: Pass) {
        let entered = pass.direction == Direction::In;
        if self.book.record_in(&barcode, performance, pass) && entered {
            self.admitted.entry(performance).or_default().insert(barcode);
        }
    }

    /// New and changed tickets and passes since the performance's cursor.
    pub fn apply_delta(&mut self, delta: &Delta) {
        for change in &delta.tickets {
            let Ok(barcode) = Barcode::parse(&change.barcode) else { continue };
            let Some(imported) = self.performances.get(&change.performance) else { continue };
            let was_valid = self.book.ticket_in(&barcode, change.performance).is_some_and(|t| t.state == TicketState::Valid);
            let is_valid = change.state == TicketState::Valid;
            let window = window_of(imported.window);
            let count = self.countable.entry(change.performance).or_default();
            match (was_valid, is_valid) {
                (false, true) => *count += 1,
                (true, false) => *count = count.saturating_sub(1),
                _ => {}
            }
            let ticket = Ticket { performance: change.performance, state: change.state, category: change.category.clone(), window };
            self.book.upsert(barcode, ticket);
        }
        for row in &delta.passes {
            self.apply_pass(row);
        }
        for imported in self.performances.values_mut() {
            imported.cursor = imported.cursor.max(delta.cursor);
        }
        for (performance, deadline) in &delta.scan_deadlines {
            if let Some(imported) = self.performances.get_mut(performance) {
                imported.scan_deadline_ms = *deadline;
            }
        }
        for (performance, gates) in &delta.gates {
            if let Some(imported) = self.performances.get_mut(performance) {
                imported.gates = gates.clone();
            }
        }
    }

    /// The gate a door joined, with its performance's gates and rules version.
    pub fn gate(&self, door: &Door) -> Option<(&PerformanceGate, &GateSet)> {
        let id = door.gate?;
        let set = &self.performances.get(door.performances.first()?)?.gates;
        Some((set.gates.iter().find(|g| g.id == id)?, set))
    }

    /// How long a door waits for the server's verdict: the shortest of its performances'.
    pub fn scan_deadline_ms(&self, door: &Door) -> u32 {
        door.performances
            .iter()
            .filter_map(|p| self.performances.get(p).map(|i| i.scan_deadline_ms))
            .min()
            .unwrap_or(super::protocol::DEFAULT_SCAN_DEADLINE_MS)
    }

    /// Records what the server said of this device's uploaded scans.
    pub fn apply_upload<E>(&mut self, scans: &[DeviceScan<E>], results: &[UploadedScan<E>]) {
        for result in results.iter().filter(|r| r.conflict()) {
            if let Some(own) = scans.iter().find(|s| s.scan.scan_id == result.scan_id) {
                self.conflicts.insert(result.scan_id.clone(), own.scan.barcode.clone());
            }
        }
    }

    /// The engine's checkpoint for a door, or why this device cannot run it.
    pub fn checkpoint(&self, door: &Door) -> Result<Checkpoint, DoorError> {
        let first = door.performances.first().ok_or(DoorError::NothingChosen)?;
        let mut excluded = Vec::new();
        for id in &door.performances {
            let imported = self.performances.get(id).ok_or(DoorError::NotImported(*id))?;
            excluded.extend(imported.excluded_categories.iter().map(|c| (*id, c.clone())));
        }
        if door.performances.len() > 1 {
            let shared = self.book.shared_numbers(&door.performances, SHARED_SHOWN);
            if !shared.is_empty() {
                return Err(DoorError::SharedNumbers(shared.into_iter().map(String::from).collect()));
            }
        }
        let zone = &self.performances[first].about.time_zone;
        let time_zone: Tz = zone.parse().map_err(|_| DoorError::TimeZone(zone.clone()))?;
        let (mode, gates) = match door.gate {
            None => (door.mode, Gates::default()),
            Some(id) => {
                let (joined, set) = self.gate(door).ok_or(DoorError::NoSuchGate(id))?;
                (joined.rules.mode_for(direction_of(door.mode)), gates_seen_from(joined, set))
            }
        };
        Ok(Checkpoint { mode, under_control: door.performances.clone(), excluded, time_zone, gates })
    }

    /// Decides a scan at the door and counts its pass: `None` when the read holds no number.
    pub fn scan(&mut self, raw: &str, checkpoint: &Checkpoint, scan_id: &str, at: Millis, device: &str) -> Option<(Barcode, Verdict)> {
        let barcode = Barcode::parse(raw).ok()?;
        let verdict = self.book.scan(&barcode, checkpoint, &Scan { at: time(at), device });
        self.known_scans.insert(scan_id.to_owned());
        if let Verdict::Accepted { direction: Direction::In } = verdict
            && let Some(performance) = checkpoint.under_control.iter().find(|p| self.book.ticket_in(&barcode, **p).is_some())
        {
            self.admitted.entry(*performance).or_default().insert(barcode.clone());
        }
        Some((barcode, verdict))
    }

    /// What the joined gate asks the steward to do for this ticket's category ("wristband").
    pub fn instruction(&self, barcode: &Barcode, checkpoint: &Checkpoint) -> Option<String> {
        let gate = checkpoint.gates.joined.as_ref()?;
        let ticket = checkpoint.under_control.iter().find_map(|p| self.book.ticket_in(barcode, *p))?;
        gate.instruction_for(&ticket.category).map(str::to_owned)
    }

    /// Decides without counting: what a scan would get now.
    pub fn decide(&self, barcode: &Barcode, checkpoint: &Checkpoint, at: Millis, device: &str) -> Verdict {
        self.book.decide(barcode, checkpoint, &Scan { at: time(at), device })
    }

    pub fn counter(&self, performances: &[PerformanceId]) -> Counter {
        performances.iter().fold(Counter::default(), |sum, id| Counter {
            admitted: sum.admitted + self.admitted.get(id).map_or(0, |a| a.len() as u64),
            total: sum.total + self.countable.get(id).copied().unwrap_or(0),
        })
    }

    /// Numbers of the double entries the server reported.
    pub fn conflicts(&self) -> Vec<String> {
        let mut numbers: Vec<String> = self.conflicts.values().cloned().collect();
        numbers.sort();
        numbers.dedup();
        numbers
    }

    pub fn ticket_count(&self) -> usize {
        self.book.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Mode, Refusal};
    use crate::sync::protocol::{TicketChange, Uploaded};

    fn about(id: i64) -> OpenPerformance {
        OpenPerformance {
            id: PerformanceId(id),
            venue: "Olympia".into(),
            event: "Concert".into(),
            label: String::new(),
            starts_at: None,
            time_zone: "Europe/Paris".into(),
            total: 0,
        }
    }

    fn snapshot(id: i64, barcodes: &[&str], states: &str) -> Snapshot {
        Snapshot {
            performance: PerformanceId(id),
            time_zone: "Europe/Paris".into(),
            excluded_categories: vec!["staff".into()],
            window: None,
            barcodes: barcodes.iter().map(|b| b.to_string()).collect(),
            states: states.into(),
            categories: vec!["general".into(), "staff".into()],
            category_of: barcodes.iter().enumerate().map(|(i, _)| (i % 2) as u32).collect(),
            passes: Vec::new(),
            cursor: 1_000,
            server_time: 1_000,
            scan_deadline_ms: 400,
            gates: GateSet::default(),
        }
    }

    fn device_with(snapshots: Vec<Snapshot>) -> DeviceBook {
        let mut device = DeviceBook::new();
        for s in snapshots {
            let (imported, chunks, passes) = split_snapshot(about(s.performance.0), s, 0);
            device.load_performance(imported, &chunks);
            passes.iter().for_each(|p| device.apply_pass(p));
        }
        device
    }

    fn door(ids: &[i64]) -> Door {
        Door { performances: ids.iter().map(|i| PerformanceId(*i)).collect(), mode: Mode::SinglePass, gate: None }
    }

    fn login(id: i64, name: &str) -> ScanLogin {
        ScanLogin { id, name: name.into() }
    }

    /// Refusals as the tests need them (the app's are its server errors).
    #[derive(Debug, Clone, PartialEq)]
    enum TestRefusal {
        Closed,
        AnotherLogin,
    }

    impl UploadRefusal for TestRefusal {
        fn waits_for_its_login(&self) -> bool {
            *self == TestRefusal::AnotherLogin
        }
    }

    fn queued(scan_id: &str, made_by: Option<ScanLogin>) -> DeviceScan<TestRefusal> {
        DeviceScan {
            scan: OfflineScan {
                scan_id: scan_id.into(),
                barcode: format!("T-{scan_id}"),
                device: "PDA-1".into(),
                scanned_at: 10,
                door: door(&[1]),
                device_verdict: Verdict::Accepted { direction: Direction::In },
                decided: DecidedBy::default(),
                clock_skew_ms: None,
                login: made_by,
            },
            uploaded: false,
            conflict: false,
            set_aside: None,
        }
    }

    fn ids(scans: &[DeviceScan<TestRefusal>]) -> Vec<&str> {
        scans.iter().map(|s| s.scan.scan_id.as_str()).collect()
    }

    /// Finding 25: scans queued under one login were uploaded under whichever signed in next.
    #[test]
    fn an_upload_sends_only_the_signed_in_logins_scans_and_untagged_ones() {
        let (anna, bob) = (login(1, "anna"), login(2, "bob"));
        let mut sent = queued("a-sent", Some(anna.clone()));
        sent.uploaded = true;
        let scans = vec![
            queued("a1", Some(anna.clone())),
            queued("old", None),
            sent,
            queued("b1", Some(bob.clone())),
            queued("a2", Some(anna.clone())),
        ];
        assert_eq!(ids(&upload_batch(&scans, &bob, 500)), vec!["old", "b1"], "Anna's wait; the untagged one goes as before");
        assert_eq!(ids(&upload_batch(&scans, &anna, 500)), vec!["a1", "old", "a2"], "never one already answered");
        assert_eq!(ids(&upload_batch(&scans, &anna, 2)), vec!["a1", "old"], "a batch is bounded");
        // The same login under another name (never renamed, but the id is what counts).
        assert_eq!(ids(&upload_batch(&scans, &login(2, "BOB"), 500)), vec!["old", "b1"]);
    }

    #[test]
    fn scans_waiting_for_another_login_are_grouped_by_login() {
        let (anna, bob, carl) = (login(1, "anna"), login(2, "bob"), login(3, "carl"));
        let mut aside = queued("a-aside", Some(anna.clone()));
        aside.uploaded = true;
        aside.set_aside = Some(TestRefusal::Closed);
        let mut decided_online = queued("a-online", Some(anna.clone()));
        decided_online.scan.decided = DecidedBy::Server { round_trip_ms: 20 };
        let scans = vec![
            queued("a1", Some(anna.clone())),
            queued("c1", Some(carl.clone())),
            queued("b1", Some(bob.clone())),
            queued("old", None),
            aside,
            decided_online,
            queued("a2", Some(anna.clone())),
        ];
        let waiting = |now: Option<&ScanLogin>| -> Vec<(String, Vec<String>)> {
            waiting_for_others(&scans, now)
                .into_iter()
                .map(|(l, list)| (l.name, list.iter().map(|s| s.scan.scan_id.clone()).collect()))
                .collect()
        };
        assert_eq!(
            waiting(Some(&bob)),
            vec![("anna".to_owned(), vec!["a1".to_owned(), "a2".to_owned()]), ("carl".to_owned(), vec!["c1".to_owned()])],
            "neither set aside nor recorded by the server already"
        );
        assert_eq!(waiting(None).len(), 3, "nobody signed in: each login's scans wait for it");
        assert_eq!(waiting(None)[1].0, "carl");
    }

    #[test]
    fn a_refusal_as_another_logins_scan_leaves_it_queued_other_answers_end_it() {
        let anna = login(1, "anna");
        let answer = |outcome: Uploaded<TestRefusal>| UploadedScan { scan_id: "a1".into(), outcome };
        let mut scan = queued("a1", Some(anna.clone()));
        let refused = answer(Uploaded::Refused { reason: TestRefusal::AnotherLogin });
        assert!(!scan.take_answer(Some(&refused)));
        assert!(scan.sent_by(&anna) && scan.set_aside.is_none(), "still queued for Anna, not set aside");
        let closed = answer(Uploaded::Refused { reason: TestRefusal::Closed });
        assert!(scan.take_answer(Some(&closed)));
        assert_eq!((scan.uploaded, scan.set_aside.clone()), (true, Some(TestRefusal::Closed)));
        let mut recorded = queued("a2", Some(anna.clone()));
        let conflict = answer(Uploaded::Recorded { server_verdict: Verdict::Accepted { direction: Direction::In }, conflict: true });
        assert!(recorded.take_answer(Some(&conflict)));
        assert!(recorded.uploaded && recorded.conflict && !recorded.sent_by(&anna));
    }

    #[test]
    fn clearing_the_copy_keeps_what_the_server_has_not_recorded_unless_discarded() {
        let mut recorded = queued("r", None);
        recorded.uploaded = true;
        let mut aside = queued("s", None);
        aside.uploaded = true;
        aside.set_aside = Some(TestRefusal::Closed);
        let waiting = queued("w", Some(login(1, "anna")));
        assert!(!recorded.kept_at_clear(false), "the server has it: it goes with the copy");
        assert!(aside.kept_at_clear(false) && waiting.kept_at_clear(false));
        assert!(!aside.kept_at_clear(true) && !waiting.kept_at_clear(true) && !recorded.kept_at_clear(true));
        assert!(waiting.unrecorded() && aside.unrecorded() && !recorded.unrecorded());
    }

    /// Finding 25: a re-import cut halfway must leave the previous copy as it was. Its chunks
    /// are stored beside the new import's, and only the import the record names is loaded.
    #[test]
    fn scans_kept_before_set_aside_existed_read_back_without_it() {
        // The reason needs no `Default` (the app's error has none).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        enum Reason {
            Closed,
        }
        let scan = OfflineScan {
            scan_id: "s1".into(),
            barcode: "A1".into(),
            device: "gate-1".into(),
            scanned_at: 5,
            door: Door { performances: vec![PerformanceId(1)], mode: Mode::SinglePass, gate: None },
            device_verdict: Verdict::Accepted { direction: Direction::In },
            decided: Default::default(),
            clock_skew_ms: None,
            login: None,
        };
        let kept = DeviceScan { scan, uploaded: true, conflict: false, set_aside: Some(Reason::Closed) };
        let mut json = serde_json::to_value(&kept).expect("serialise");
        assert_eq!(serde_json::from_value::<DeviceScan<Reason>>(json.clone()).expect("read back"), kept);
        json.as_object_mut().expect("an object").remove("set_aside");
        assert_eq!(serde_json::from_value::<DeviceScan<Reason>>(json).expect("read back").set_aside, None);
    }

    #[test]
    fn only_the_chunks_of_the_recorded_import_are_loaded() {
        let (first, mut stored, _) = split_snapshot(about(1), snapshot(1, &["OLD1", "OLD2"], "vv"), 100);
        let (_, cut_off, _) = split_snapshot(about(1), snapshot(1, &["NEW1"], "v"), 200);
        stored.extend(cut_off);
        let mut legacy = stored[0].clone();
        legacy.import = None;
        legacy.barcodes = vec!["LEGACY".into()];
        legacy.states = "v".into();
        legacy.category_of = vec![0];
        stored.push(legacy);
        let mut device = DeviceBook::new();
        device.load_performance(first, &stored);
        assert_eq!(device.ticket_count(), 3, "OLD1, OLD2 and the chunk stored before imports were told apart; not NEW1");
    }

    #[test]
    fn snapshots_are_split_in_chunks_that_load_back_whole() {
        let barcodes: Vec<String> = (0..CHUNK_SIZE * 2 + 5).map(|i| format!("T{i}")).collect();
        let refs: Vec<&str> = barcodes.iter().map(String::as_str).collect();
        let states: String = (0..refs.len()).map(|i| if i == 3 { 'c' } else { 'v' }).collect();
        let (imported, chunks, _) = split_snapshot(about(1), snapshot(1, &refs, &states), 7);
        assert_eq!(chunks.len(), 3);
        assert_eq!(imported.chunks, 3);
        assert_eq!(chunks[2].barcodes.len(), 5);
        assert_eq!(chunks.iter().map(|c| c.states.len()).sum::<usize>(), refs.len());
        let mut device = DeviceBook::new();
        device.load_performance(imported, &chunks);
        assert_eq!(device.ticket_count(), refs.len());
        assert_eq!(device.counter(&[PerformanceId(1)]), Counter { admitted: 0, total: refs.len() as u64 - 1 });
    }

    #[test]
    fn a_scan_is_decided_counted_once_and_its_echo_from_the_server_is_ignored() {
        let mut device = device_with(vec![snapshot(1, &["A", "B", "C"], "vvc")]);
        let checkpoint = device.checkpoint(&door(&[1])).expect("door");
        let (_, first) = device.scan(" A\r\n", &checkpoint, "s1", 10, "gate-1").expect("a number");
        assert_eq!(first, Verdict::Accepted { direction: Direction::In });
        let (_, again) = device.scan("A", &checkpoint, "s2", 20, "gate-1").expect("a number");
        assert!(matches!(again, Verdict::Refused { reason: Refusal::AlreadyScanned { .. } }));
        let (_, cancelled) = device.scan("C", &checkpoint, "s3", 30, "gate-1").expect("a number");
        assert_eq!(cancelled, Verdict::Refused { reason: Refusal::Cancelled });
        assert_eq!(device.scan("\r\n", &checkpoint, "s4", 40, "gate-1"), None);
        // The server sends the device's own admission back in a delta: counted once.
        let echo = PassRow {
            scan_id: "s1".into(),
            barcode: "A".into(),
            performance: PerformanceId(1),
            at: 10,
            direction: Direction::In,
            device: "gate-1".into(),
            conflict: false,
        };
        device.apply_pass(&echo);
        assert_eq!(device.counter(&[PerformanceId(1)]), Counter { admitted: 1, total: 2 });
    }

    #[test]
    fn other_devices_passes_and_cancellations_arrive_by_delta() {
        let mut device = device_with(vec![snapshot(1, &["A", "B"], "vv")]);
        let checkpoint = device.checkpoint(&door(&[1])).expect("door");
        let delta = Delta {
            tickets: vec![TicketChange { barcode: "B".into(), performance: PerformanceId(1), state: TicketState::Cancelled, category: "general".into() }],
            passes: vec![PassRow {
                scan_id: "other".into(),
                barcode: "A".into(),
                performance: PerformanceId(1),
                at: 5,
                direction: Direction::In,
                device: "gate-2".into(),
                conflict: true,
            }],
            cursor: 2_000,
            server_time: 2_000,
            scan_deadlines: vec![(PerformanceId(1), 250)],
            gates: Vec::new(),
        };
        device.apply_delta(&delta);
        match device.decide(&Barcode::parse("A").expect("barcode"), &checkpoint, 50, "gate-1") {
            Verdict::Refused { reason: Refusal::AlreadyScanned { device, .. } } => assert_eq!(device, "gate-2"),
            other => panic!("expected already scanned, got {other:?}"),
        }
        assert_eq!(device.decide(&Barcode::parse("B").expect("barcode"), &checkpoint, 50, "gate-1"), Verdict::Refused { reason: Refusal::Cancelled });
        assert_eq!(device.counter(&[PerformanceId(1)]), Counter { admitted: 1, total: 1 });
        assert_eq!(device.conflicts(), vec!["A".to_owned()]);
        assert_eq!(device.performance(PerformanceId(1)).map(|p| p.cursor), Some(2_000));
        assert_eq!(device.scan_deadline_ms(&door(&[1])), 250, "an institution's new deadline arrives by delta");
        // The server judged the ticket's passes again (an earlier exit arrived late): cleared.
        let corrected = PassRow { conflict: false, ..delta.passes[0].clone() };
        device.apply_pass(&corrected);
        assert!(device.conflicts().is_empty(), "a corrected flag clears the conflict");
        assert_eq!(device.counter(&[PerformanceId(1)]), Counter { admitted: 1, total: 1 }, "counted once still");
    }

    #[test]
    fn a_door_refuses_performances_that_share_numbers_and_names_some() {
        let device = device_with(vec![snapshot(1, &["A", "B"], "vv"), snapshot(2, &["B", "C"], "vv"), snapshot(3, &["D"], "v")]);
        assert_eq!(device.checkpoint(&door(&[1, 2])), Err(DoorError::SharedNumbers(vec!["B".into()])));
        assert!(device.checkpoint(&door(&[1, 3])).is_ok());
        assert_eq!(device.checkpoint(&door(&[4])), Err(DoorError::NotImported(PerformanceId(4))));
        assert_eq!(device.checkpoint(&door(&[])), Err(DoorError::NothingChosen));
    }

    #[test]
    fn excluded_categories_come_from_the_imported_performance() {
        let mut device = device_with(vec![snapshot(1, &["A", "B"], "vv")]);
        let checkpoint = device.checkpoint(&door(&[1])).expect("door");
        // B is in category 1, "staff", which the snapshot excludes.
        let (_, verdict) = device.scan("B", &checkpoint, "s1", 10, "gate").expect("a number");
        assert_eq!(verdict, Verdict::Refused { reason: Refusal::FilteredCategory { category: "staff".into() } });
    }

    fn gate_set(version: i64, gates: &[(i64, &str, &[&str])]) -> GateSet {
        GateSet {
            rules_version: version,
            gates: gates
                .iter()
                .map(|(id, name, categories)| PerformanceGate {
                    id: GateId(*id),
                    rules: crate::engine::Gate {
                        name: (*name).into(),
                        mode: Mode::EntryExit { direction: Direction::In },
                        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
                        window: None,
                        per_category: vec![crate::engine::CategoryRule {
                            category: "general".into(),
                            window: None,
                            instruction: Some("Wristband".into()),
                        }],
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn a_device_on_a_gate_decides_with_its_rules_and_takes_changes_from_the_delta() {
        let mut with_gates = snapshot(1, &["G1", "S1", "G2"], "vvv");
        with_gates.excluded_categories.clear();
        with_gates.gates = gate_set(1, &[(10, "North", &["general"]), (11, "Staff door", &["staff"])]);
        let mut device = device_with(vec![with_gates]);
        let on_north = Door { gate: Some(GateId(10)), ..door(&[1]) };
        let checkpoint = device.checkpoint(&on_north).expect("door");
        assert_eq!(checkpoint.mode, Mode::EntryExit { direction: Direction::In }, "the gate's mode, not the door's");
        let (_, staff) = device.scan("S1", &checkpoint, "s1", 10, "pda").expect("a number");
        assert_eq!(staff, Verdict::Refused { reason: Refusal::WrongEntrance { category: "staff".into(), gates: vec!["Staff door".into()] } });
        let (g1, general) = device.scan("G1", &checkpoint, "s2", 20, "pda").expect("a number");
        assert!(general.is_accepted());
        assert_eq!(device.instruction(&g1, &checkpoint).as_deref(), Some("Wristband"));
        assert_eq!(device.gate(&on_north).map(|(g, set)| (g.rules.name.as_str(), set.rules_version)), Some(("North", 1)));

        // The back office lets staff in at North too: the next delta brings it, no re-import.
        let delta = Delta {
            tickets: vec![],
            passes: vec![],
            cursor: 2_000,
            server_time: 2_000,
            scan_deadlines: vec![],
            gates: vec![(PerformanceId(1), gate_set(2, &[(10, "North", &["general", "staff"])]))],
        };
        device.apply_delta(&delta);
        let checkpoint = device.checkpoint(&on_north).expect("door");
        assert!(device.decide(&Barcode::parse("S1").expect("barcode"), &checkpoint, 30, "pda").is_accepted());
        assert_eq!(device.gate(&on_north).map(|(_, set)| set.rules_version), Some(2));

        let deleted = Delta { gates: vec![(PerformanceId(1), gate_set(3, &[]))], ..delta };
        device.apply_delta(&deleted);
        assert_eq!(device.checkpoint(&on_north), Err(DoorError::NoSuchGate(GateId(10))));
        assert!(device.checkpoint(&door(&[1])).is_ok(), "a door on no gate works as before");
    }
}

//! How a group of door scans is decided, on the group's tickets as stored: pure, no database.
//! Each scan is decided in arrival order on the stored passes plus the admissions before it in
//! the group, so grouping changes no decision (the property test below); each dialect makes
//! the decision and its record one atomic step (`Dialect::write_door_group`).

use std::collections::HashMap;

use app::ssr::storage::{DoorAnswer, DoorScan, Millis, ScanRecord, StorageError, StorageResult};
use app::engine::{Pass, Ticket};

use super::rows::CandidateRow;
use super::shared::time_from;

/// A ticket a scan of the group may be about, with its passes oldest first.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub id: i64,
    pub barcode: String,
    pub institution: i64,
    pub ticket: Ticket,
    pub passes: Vec<Pass>,
}

/// A decided scan to write: its record (an index into the group's answers) and its ticket's
/// row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Decided {
    pub answer: usize,
    pub ticket_id: Option<i64>,
    pub login: Option<i64>,
    pub client_time: Millis,
    /// The door's rules, as JSON.
    pub door_mode: Option<String>,
}

/// The candidates read (`CandidateRow`s, a row a pass, by ticket id), each with its passes.
pub(super) fn candidates_from(rows: Vec<CandidateRow>) -> StorageResult<Vec<Candidate>> {
    let mut candidates: Vec<Candidate> = Vec::new();
    for row in rows {
        if candidates.last().is_none_or(|c| c.id != row.id) {
            candidates.push(row.candidate()?);
        }
        if let (Some(pass), Some(candidate)) = (row.pass()?, candidates.last_mut()) {
            candidate.passes.push(pass);
        }
    }
    Ok(candidates)
}

/// The ticket a door sees for its scan: in a controlled performance first, else in another
/// performance of its institutions (so the door can say which). Two tickets sharing a number
/// at one door: the first imported wins. `candidates` are by id.
pub(super) fn ticket_for(candidates: &[Candidate], door_scan: &DoorScan) -> Option<usize> {
    let number = door_scan.scan.barcode.as_str();
    let of_number = || candidates.iter().enumerate().filter(move |(_, c)| c.barcode == number);
    of_number()
        .find(|(_, c)| door_scan.performances.contains(&c.ticket.performance))
        .or_else(|| of_number().find(|(_, c)| door_scan.institutions.iter().any(|i| i.0 == c.institution)))
        .map(|(index, _)| index)
}

/// Decides each scan of `group` in order, on `candidates` as stored plus the admissions before
/// it in the group. Scans in `recorded` (retries), or met earlier in the group, are answered
/// with their first record. Returns every scan's answer, and what to write.
pub(super) fn decide_group(
    group: &[DoorScan],
    mut candidates: Vec<Candidate>,
    recorded: HashMap<String, ScanRecord>,
) -> StorageResult<(Vec<ScanRecord>, Vec<Decided>)> {
    let mut answers: Vec<ScanRecord> = Vec::with_capacity(group.len());
    let mut decided = Vec::with_capacity(group.len());
    let mut decided_here: HashMap<&str, usize> = HashMap::new();
    for door_scan in group {
        let scan = &door_scan.scan;
        if let Some(first) = recorded.get(&scan.scan_uuid) {
            answers.push(first.clone());
            continue;
        }
        if let Some(&first) = decided_here.get(scan.scan_uuid.as_str()) {
            answers.push(answers[first].clone());
            continue;
        }
        let found = ticket_for(&candidates, door_scan);
        let judgement = match found {
            Some(index) => (door_scan.judge)(Some(&candidates[index].ticket), &candidates[index].passes),
            None => (door_scan.judge)(None, &[]),
        };
        if let (Some(index), true) = (found, judgement.admitted) {
            let pass = Pass { at: time_from(scan.scanned_at)?, direction: scan.direction, device: scan.device.clone() };
            let passes = &mut candidates[index].passes;
            let position = passes.partition_point(|p| p.at <= pass.at);
            passes.insert(position, pass);
        }
        decided_here.insert(&scan.scan_uuid, answers.len());
        decided.push(Decided {
            answer: answers.len(),
            ticket_id: found.map(|index| candidates[index].id),
            login: scan.login.map(|l| l.0),
            client_time: scan.client_time,
            door_mode: scan.door_mode.map(|mode| serde_json::to_string(&mode)).transpose().map_err(|e| StorageError::Database(Box::new(e)))?,
        });
        answers.push(ScanRecord {
            scan_uuid: scan.scan_uuid.clone(),
            performance: found.map(|index| candidates[index].ticket.performance),
            barcode: scan.barcode.to_string(),
            device: scan.device.clone(),
            scanned_at: scan.scanned_at,
            server_time: scan.server_time,
            direction: scan.direction,
            admitted: judgement.admitted,
            verdict: judgement.verdict,
            offline: scan.offline,
            anomaly: judgement.anomaly,
            client_time: scan.client_time,
            round_trip_ms: None,
            device_reason: scan.device_reason,
            server_agreed: judgement.server_agreed,
            clock_skew_ms: scan.clock_skew_ms,
        });
    }
    Ok((answers, decided))
}

/// The group's answers as its doors get them, once `decided` is written: each record with
/// whether this write made it (a retry's first record was made before).
pub(super) fn door_answers(answers: Vec<ScanRecord>, decided: &[Decided]) -> Vec<DoorAnswer> {
    let mut answers: Vec<DoorAnswer> = answers.into_iter().map(|record| DoorAnswer { record, written_now: false }).collect();
    for d in decided {
        answers[d.answer].written_now = true;
    }
    answers
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use app::ssr::storage::{Anomaly, DoorScan, Judgement, NewScan, ScanRecord};
    use app::domain::InstitutionId;
    use app::engine::{Barcode, Checkpoint, Direction, Mode, Pass, PerformanceId, Scan, Ticket, TicketState, decide};
    use proptest::prelude::*;

    use super::{Candidate, decide_group};

    const PERFORMANCE: PerformanceId = PerformanceId(1);
    /// Another performance of the door's institution: its tickets are refused, by name.
    const ELSEWHERE: PerformanceId = PerformanceId(2);
    const INSTITUTION: i64 = 7;
    const START: i64 = 1_800_000_000_000;

    /// One scan as the property generates it: which number, which scan id (a few, so that
    /// retries happen), when, which device, and whether its device decided it offline.
    #[derive(Debug, Clone)]
    struct Arrival {
        number: usize,
        scan_id: usize,
        after_ms: i64,
        device: usize,
        offline_admitted: Option<bool>,
    }

    fn arrival() -> impl Strategy<Value = Arrival> {
        (0..6usize, 0..12usize, 0..90_000i64, 0..3usize, prop::option::of(any::<bool>()))
            .prop_map(|(number, scan_id, after_ms, device, offline_admitted)| Arrival { number, scan_id, after_ms, device, offline_admitted })
    }

    fn mode() -> impl Strategy<Value = Mode> {
        prop_oneof![
            Just(Mode::SinglePass),
            Just(Mode::EntryExit { direction: Direction::In }),
            Just(Mode::EntryExit { direction: Direction::Out }),
            (prop::option::of(1..4u32), prop::option::of(1..3u32))
                .prop_map(|(max_total, max_per_day)| Mode::MultiPass { max_total, max_per_day }),
        ]
    }

    /// The stored tickets: numbers 0 to 3 in the door's performance (number 3 cancelled),
    /// number 4 in another performance of the institution; number 5 is not known.
    fn stored() -> Vec<Candidate> {
        let ticket = |id: i64, number: usize, performance, state| Candidate {
            id,
            barcode: format!("TICKET{number:04}"),
            institution: INSTITUTION,
            ticket: Ticket { performance, state, category: "standard".to_owned(), window: None },
            passes: Vec::new(),
        };
        vec![
            ticket(1, 0, PERFORMANCE, TicketState::Valid),
            ticket(2, 1, PERFORMANCE, TicketState::Valid),
            ticket(3, 2, PERFORMANCE, TicketState::Valid),
            ticket(4, 3, PERFORMANCE, TicketState::Cancelled),
            ticket(5, 4, ELSEWHERE, TicketState::Valid),
        ]
    }

    /// A door scan judged by the engine, as the sync service judges them: online, the
    /// engine's verdict; offline, the device's, with the engine's as the anomaly.
    fn door_scan(mode: Mode, arrival: &Arrival, at: i64) -> DoorScan {
        let checkpoint = Checkpoint {
            mode,
            under_control: vec![PERFORMANCE],
            excluded: Vec::new(),
            time_zone: chrono_tz::Europe::Paris,
            gates: Default::default(),
        };
        let direction = match mode {
            Mode::EntryExit { direction } => direction,
            _ => Direction::In,
        };
        let device = format!("device-{}", arrival.device);
        let scanned = chrono::DateTime::from_timestamp_millis(at).expect("a time in range");
        let offline = arrival.offline_admitted;
        let judging_device = device.clone();
        let judge = Box::new(move |ticket: Option<&Ticket>, passes: &[Pass]| {
            let verdict = decide(ticket, passes, &checkpoint, &Scan { at: scanned, device: &judging_device });
            match offline {
                None => Judgement { admitted: verdict.is_accepted(), anomaly: Anomaly::of_verdict(&verdict), verdict, server_agreed: None },
                Some(admitted) => Judgement {
                    admitted,
                    anomaly: (admitted && !verdict.is_accepted()).then_some(Anomaly::AdmittedAgainstRules),
                    server_agreed: Some(verdict.is_accepted() == admitted),
                    verdict,
                },
            }
        });
        DoorScan {
            scan: NewScan {
                scan_uuid: format!("scan-{}", arrival.scan_id),
                barcode: Barcode::parse(&format!("TICKET{:04}", arrival.number)).expect("a valid number"),
                device,
                login: None,
                scanned_at: at,
                client_time: at,
                server_time: at,
                direction,
                door_mode: Some(mode),
                offline: offline.is_some(),
                device_reason: None,
                clock_skew_ms: None,
            },
            performances: vec![PERFORMANCE],
            institutions: vec![InstitutionId(INSTITUTION)],
            judge,
        }
    }

    /// What the database holds after a group is written: each admission a pass of its ticket
    /// (read back ordered by time, then by record), each record under its scan id.
    fn store(candidates: &mut [Candidate], recorded: &mut HashMap<String, ScanRecord>, answers: &[ScanRecord], decided: &[super::Decided]) {
        for d in decided {
            let record = &answers[d.answer];
            if let (Some(id), true) = (d.ticket_id, record.admitted) {
                let candidate = candidates.iter_mut().find(|c| c.id == id).expect("a stored ticket");
                let at = chrono::DateTime::from_timestamp_millis(record.scanned_at).expect("a time in range");
                candidate.passes.push(Pass { at, direction: record.direction, device: record.device.clone() });
                candidate.passes.sort_by_key(|p| p.at);
            }
            recorded.insert(record.scan_uuid.clone(), record.clone());
        }
    }

    proptest! {
        /// The README's claim: grouping changes no decision. A group decided at once answers
        /// exactly what its scans decided one at a time, in arrival order, would have; and a
        /// scan id met again (a retry, stored or earlier in the group) gets its first record.
        #[test]
        fn deciding_a_group_equals_deciding_its_scans_one_at_a_time(
            mode in mode(),
            earlier in prop::collection::vec(arrival(), 0..6),
            group in prop::collection::vec(arrival(), 1..24),
        ) {
            // Scans recorded by earlier groups, in time before this one's.
            let mut candidates = stored();
            let mut recorded = HashMap::new();
            let mut at = START;
            for arrival in &earlier {
                at += arrival.after_ms;
                let scans = [door_scan(mode, arrival, at)];
                let (answers, decided) = decide_group(&scans, candidates.clone(), recorded.clone()).expect("decided");
                store(&mut candidates, &mut recorded, &answers, &decided);
            }
            let mut times = Vec::with_capacity(group.len());
            for arrival in &group {
                at += arrival.after_ms;
                times.push(at);
            }
            let scans: Vec<DoorScan> = group.iter().zip(&times).map(|(a, at)| door_scan(mode, a, *at)).collect();
            let (together, decided) = decide_group(&scans, candidates.clone(), recorded.clone()).expect("decided");

            let (mut one_by_one, mut singles_decided) = (Vec::new(), 0);
            let (mut alone, mut alone_recorded) = (candidates, recorded.clone());
            for (arrival, at) in group.iter().zip(&times) {
                let scan = [door_scan(mode, arrival, *at)];
                let (answers, decided) = decide_group(&scan, alone.clone(), alone_recorded.clone()).expect("decided");
                store(&mut alone, &mut alone_recorded, &answers, &decided);
                singles_decided += decided.len();
                one_by_one.extend(answers);
            }
            prop_assert_eq!(&together, &one_by_one);
            // One write a scan id: retries are answered, never written again.
            prop_assert_eq!(decided.len(), singles_decided);
            let mut first: HashMap<&str, &ScanRecord> = recorded.iter().map(|(id, r)| (id.as_str(), r)).collect();
            for answer in &together {
                let first = *first.entry(answer.scan_uuid.as_str()).or_insert(answer);
                prop_assert_eq!(answer, first);
            }
            let written: std::collections::HashSet<&str> = decided.iter().map(|d| together[d.answer].scan_uuid.as_str()).collect();
            prop_assert_eq!(written.len(), decided.len());
            prop_assert!(written.iter().all(|id| !recorded.contains_key(*id)));
        }
    }
}

//! A ticket's flags from its history in time order (issue 17, item 5). Passes arrive out of
//! order: a device offline uploads an exit made at 19:50 after an entry made at 20:00 was
//! recorded (and flagged "already inside"). Each admitted scan is then judged again by the
//! engine, on the passes before it in time and the door rules it was made under, so a normal
//! re-entry is not left flagged as a double entry.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::ssr::storage::{Anomaly, Millis};
use billetix_core::engine::{Checkpoint, Direction, Mode, Pass, PerformanceId, Refusal, Scan, Ticket, TicketState, Verdict, decide};

/// What an admission the server would have refused amounts to.
pub fn anomaly_of(server_verdict: &Verdict) -> Anomaly {
    match server_verdict {
        Verdict::Refused {
            reason:
                Refusal::AlreadyScanned { .. }
                | Refusal::AlreadyInside
                | Refusal::TotalQuotaReached { .. }
                | Refusal::DailyQuotaReached { .. },
        } => Anomaly::DoubleEntry,
        Verdict::Refused { reason: Refusal::ExitWithoutEntry } => Anomaly::ExitWithoutEntry,
        _ => Anomaly::AdmittedAgainstRules,
    }
}

/// An admitted scan of one ticket, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedPass {
    pub at: Millis,
    pub direction: Direction,
    pub device: String,
    /// The door's rules it was made under; `None` for scans recorded before they were kept.
    pub mode: Option<Mode>,
    pub anomaly: Option<Anomaly>,
}

/// The anomaly of each of a ticket's admitted scans (`passes`, in time order) judged on the
/// passes before it. What the order cannot change stays: a scan admitted against other rules
/// (the ticket cancelled then), and a scan whose door rules are not known.
pub fn reflagged(performance: PerformanceId, time_zone: Tz, passes: &[RecordedPass]) -> Vec<Option<Anomaly>> {
    // Only the order is judged again: the ticket as valid, at a door that controls it.
    let ticket = Ticket { performance, state: TicketState::Valid, category: String::new(), window: None };
    let mut before: Vec<Pass> = Vec::with_capacity(passes.len());
    let mut flags = Vec::with_capacity(passes.len());
    for recorded in passes {
        let at = DateTime::<Utc>::from_timestamp_millis(recorded.at).unwrap_or_default();
        let flag = match (recorded.anomaly, recorded.mode) {
            (Some(Anomaly::AdmittedAgainstRules), _) | (_, None) => recorded.anomaly,
            (_, Some(mode)) => {
                let checkpoint = Checkpoint { mode, under_control: vec![performance], excluded: Vec::new(), time_zone, gates: Default::default() };
                let verdict = decide(Some(&ticket), &before, &checkpoint, &Scan { at, device: &recorded.device });
                (!verdict.is_accepted()).then(|| anomaly_of(&verdict))
            }
        };
        flags.push(flag);
        before.push(Pass { at, direction: recorded.direction, device: recorded.device.clone() });
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARIS: Tz = chrono_tz::Europe::Paris;
    const MINUTE: Millis = 60_000;

    fn pass(minute: i64, direction: Direction, anomaly: Option<Anomaly>) -> RecordedPass {
        RecordedPass { at: minute * MINUTE, direction, device: "door".to_owned(), mode: Some(Mode::EntryExit { direction }), anomaly }
    }

    #[test]
    fn an_exit_uploaded_late_clears_the_re_entry_it_explains() {
        // Recorded first: in at 0, in at 30 (flagged, nobody saw the exit). Then the exit at 20.
        let history = [
            pass(0, Direction::In, None),
            pass(20, Direction::Out, None),
            pass(30, Direction::In, Some(Anomaly::DoubleEntry)),
        ];
        assert_eq!(reflagged(PerformanceId(1), PARIS, &history), vec![None, None, None]);
    }

    #[test]
    fn a_late_entry_moves_the_double_entry_to_the_later_scan() {
        let single = |minute, anomaly| RecordedPass { mode: Some(Mode::SinglePass), ..pass(minute, Direction::In, anomaly) };
        // The entry at 5 was uploaded after the one at 10 was recorded clean.
        let history = [single(5, Some(Anomaly::DoubleEntry)), single(10, None)];
        assert_eq!(reflagged(PerformanceId(1), PARIS, &history), vec![None, Some(Anomaly::DoubleEntry)]);
    }

    #[test]
    fn an_exit_before_any_entry_stays_an_anomaly_and_an_entry_before_it_clears_it() {
        assert_eq!(reflagged(PerformanceId(1), PARIS, &[pass(10, Direction::Out, None)]), vec![Some(Anomaly::ExitWithoutEntry)]);
        let history = [pass(5, Direction::In, None), pass(10, Direction::Out, Some(Anomaly::ExitWithoutEntry))];
        assert_eq!(reflagged(PerformanceId(1), PARIS, &history), vec![None, None]);
    }

    #[test]
    fn what_the_order_cannot_change_stays() {
        let unknown_rules = RecordedPass { mode: None, ..pass(30, Direction::In, Some(Anomaly::DoubleEntry)) };
        let against_rules = pass(40, Direction::In, Some(Anomaly::AdmittedAgainstRules));
        let history = [pass(0, Direction::In, None), pass(20, Direction::Out, None), unknown_rules, against_rules];
        let flags = reflagged(PerformanceId(1), PARIS, &history);
        assert_eq!(flags[2..], [Some(Anomaly::DoubleEntry), Some(Anomaly::AdmittedAgainstRules)]);
    }

    #[test]
    fn daily_quotas_count_the_venue_s_day() {
        let multi = |minute, anomaly| RecordedPass {
            mode: Some(Mode::MultiPass { max_total: None, max_per_day: Some(1) }),
            ..pass(minute, Direction::In, anomaly)
        };
        // 22:30 and 23:30 UTC on one day are 23:30 and 00:30 in Paris (winter): two days there.
        let history = [multi(22 * 60 + 30, None), multi(23 * 60 + 30, Some(Anomaly::DoubleEntry))];
        assert_eq!(reflagged(PerformanceId(1), PARIS, &history), vec![None, None]);
        assert_eq!(reflagged(PerformanceId(1), chrono_tz::UTC, &history), vec![None, Some(Anomaly::DoubleEntry)]);
    }
}

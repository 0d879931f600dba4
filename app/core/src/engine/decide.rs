use chrono::{DateTime, Utc};

use super::checkpoint::{Checkpoint, Mode};
use super::gate::Timing;
use super::ticket::{Direction, Pass, Ticket, TicketState};
use super::verdict::{Refusal, Verdict};

/// One read of a code at a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan<'a> {
    pub at: DateTime<Utc>,
    pub device: &'a str,
}

/// The verdict for `ticket` (`None`: the number is not known here), given its earlier passes
/// (oldest first), at `checkpoint`.
///
/// Checks run from what the ticket *is* to what it has *done*: known at all, at a door that
/// controls its performance, in a state that may enter, within its validity window; then the
/// mode's pass rules. The category filter, then the gate's categories and entry window, come
/// last, so a ticket already in gets the standard answer ("already scanned", "already
/// inside") rather than "filtered", and anyone inside may leave by any gate at any time.
pub fn decide(ticket: Option<&Ticket>, history: &[Pass], checkpoint: &Checkpoint, scan: &Scan<'_>) -> Verdict {
    let refuse = |reason| Verdict::Refused { reason };
    if checkpoint.under_control.is_empty() {
        return refuse(Refusal::PerformanceNotUnderControl);
    }
    let Some(ticket) = ticket else {
        return refuse(Refusal::UnknownNumber);
    };
    if !checkpoint.controls(ticket.performance) {
        return refuse(Refusal::OtherPerformance { performance: ticket.performance });
    }
    match ticket.state {
        TicketState::Valid => {}
        TicketState::Cancelled => return refuse(Refusal::Cancelled),
        TicketState::Duplicated => return refuse(Refusal::Reissued),
        TicketState::Unknown => return refuse(Refusal::UnknownStateTicket),
    }
    if let Some(window) = ticket.window.filter(|w| !w.contains(scan.at)) {
        return refuse(Refusal::NotValidNow { from: window.from, to: window.to });
    }
    let filtered = checkpoint.excludes(ticket.performance, &ticket.category);
    let admit_in = || {
        let category = &ticket.category;
        if filtered {
            return refuse(Refusal::FilteredCategory { category: category.clone() });
        }
        if let Some(gate) = &checkpoint.gates.joined {
            if !gate.admits(category) {
                return refuse(Refusal::WrongEntrance { category: category.clone(), gates: checkpoint.gates.admitting(category) });
            }
            if let Some(window) = gate.window_for(category) {
                match window.timing(scan.at, checkpoint.time_zone) {
                    Timing::Open => {}
                    Timing::TooEarly => return refuse(Refusal::TooEarly { opens: window.opens }),
                    Timing::TooLate => return refuse(Refusal::TooLate { last_entry: window.last_entry }),
                }
            }
        }
        Verdict::Accepted { direction: Direction::In }
    };
    match checkpoint.mode {
        Mode::SinglePass => match history.first() {
            Some(first) => refuse(Refusal::AlreadyScanned { first_at: first.at, device: first.device.clone() }),
            None => admit_in(),
        },
        Mode::EntryExit { direction } => {
            let inside = history.last().is_some_and(|last| last.direction == Direction::In);
            match (direction, inside) {
                (Direction::In, true) => refuse(Refusal::AlreadyInside),
                (Direction::In, false) => admit_in(),
                // Someone inside may always leave, filtered category or not.
                (Direction::Out, true) => Verdict::Accepted { direction: Direction::Out },
                (Direction::Out, false) => refuse(Refusal::ExitWithoutEntry),
            }
        }
        Mode::MultiPass { max_total, max_per_day } => {
            let entries = || history.iter().filter(|p| p.direction == Direction::In);
            if let Some(max) = max_total.filter(|max| entries().count() >= *max as usize) {
                return refuse(Refusal::TotalQuotaReached { max });
            }
            if let Some(max) = max_per_day {
                let today = scan.at.with_timezone(&checkpoint.time_zone).date_naive();
                let today_entries =
                    entries().filter(|p| p.at.with_timezone(&checkpoint.time_zone).date_naive() == today).count();
                if today_entries >= max as usize {
                    return refuse(Refusal::DailyQuotaReached { max });
                }
            }
            admit_in()
        }
    }
}

/// The pass to record for an accepted scan.
pub fn pass_for(verdict: &Verdict, scan: &Scan<'_>) -> Option<Pass> {
    match verdict {
        Verdict::Accepted { direction } => {
            Some(Pass { at: scan.at, direction: *direction, device: scan.device.to_owned() })
        }
        Verdict::Refused { .. } => None,
    }
}

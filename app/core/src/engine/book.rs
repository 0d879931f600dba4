use std::collections::HashMap;

use super::barcode::Barcode;
use super::checkpoint::Checkpoint;
use super::decide::{Scan, decide, pass_for};
use super::ticket::{Pass, Ticket};
use super::verdict::Verdict;
use crate::ids::PerformanceId;

/// Tickets with their passes, held in memory: the scanner's working copy, and the reference
/// the tests compare the server with.
#[derive(Debug, Default, Clone)]
pub struct TicketBook {
    // A number may exist in several imported performances; a door never controls two
    // performances that share a number, so at most one entry is under control.
    entries: HashMap<Barcode, Vec<(Ticket, Vec<Pass>)>>,
}

impl TicketBook {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds or replaces the ticket of that number in that performance, keeping its passes.
    pub fn upsert(&mut self, barcode: Barcode, ticket: Ticket) {
        let slot = self.entries.entry(barcode).or_default();
        match slot.iter_mut().find(|(t, _)| t.performance == ticket.performance) {
            Some((existing, _)) => *existing = ticket,
            None => slot.push((ticket, Vec::new())),
        }
    }

    /// The entry a checkpoint sees for a number: the one under control, else any other.
    fn entry_index(&self, barcode: &Barcode, checkpoint: &Checkpoint) -> Option<usize> {
        let slot = self.entries.get(barcode)?;
        slot.iter().position(|(t, _)| checkpoint.controls(t.performance)).or((!slot.is_empty()).then_some(0))
    }

    pub fn decide(&self, barcode: &Barcode, checkpoint: &Checkpoint, scan: &Scan<'_>) -> Verdict {
        let entry = self
            .entry_index(barcode, checkpoint)
            .and_then(|i| self.entries.get(barcode).map(|slot| &slot[i]));
        match entry {
            Some((ticket, passes)) => decide(Some(ticket), passes, checkpoint, scan),
            None => decide(None, &[], checkpoint, scan),
        }
    }

    /// Decides and, when accepted, records the pass: what a door does on each scan.
    pub fn scan(&mut self, barcode: &Barcode, checkpoint: &Checkpoint, scan: &Scan<'_>) -> Verdict {
        let verdict = self.decide(barcode, checkpoint, scan);
        if let Some(pass) = pass_for(&verdict, scan) {
            self.record(barcode, checkpoint, pass);
        }
        verdict
    }

    /// Adds a pass made elsewhere (another device, an upload), kept in time order.
    pub fn record(&mut self, barcode: &Barcode, checkpoint: &Checkpoint, pass: Pass) {
        let Some(index) = self.entry_index(barcode, checkpoint) else { return };
        if let Some(slot) = self.entries.get_mut(barcode) {
            insert_in_time_order(&mut slot[index].1, pass);
        }
    }

    /// Adds a pass of that number in that performance; false when the book has no such ticket.
    pub fn record_in(&mut self, barcode: &Barcode, performance: PerformanceId, pass: Pass) -> bool {
        let entry = self.entries.get_mut(barcode).and_then(|slot| slot.iter_mut().find(|(t, _)| t.performance == performance));
        match entry {
            Some((_, passes)) => {
                insert_in_time_order(passes, pass);
                true
            }
            None => false,
        }
    }

    /// The ticket of that number in that performance.
    pub fn ticket_in(&self, barcode: &Barcode, performance: PerformanceId) -> Option<&Ticket> {
        self.entries.get(barcode)?.iter().map(|(t, _)| t).find(|t| t.performance == performance)
    }

    /// Up to `limit` numbers that two or more of `performances` share: a door may not control
    /// them together, since one number would then stand for two tickets.
    pub fn shared_numbers(&self, performances: &[PerformanceId], limit: usize) -> Vec<Barcode> {
        let mut shared: Vec<Barcode> = self
            .entries
            .iter()
            .filter(|(_, slot)| slot.iter().filter(|(t, _)| performances.contains(&t.performance)).count() > 1)
            .map(|(barcode, _)| barcode.clone())
            .collect();
        shared.sort();
        shared.truncate(limit);
        shared
    }
}

fn insert_in_time_order(passes: &mut Vec<Pass>, pass: Pass) {
    let at = passes.partition_point(|p| p.at <= pass.at);
    passes.insert(at, pass);
}

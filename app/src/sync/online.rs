//! Whether a scanner asks the server for its verdicts (pure: the page gives it the clock).
//!
//! Online first: each scan goes to the server, whose verdict is shown if it comes within the
//! deadline; otherwise the device's own is. After [`FAILURES_TO_SWITCH`] timeouts or errors in
//! a row the device stops asking (so the steward no longer waits the deadline at each scan)
//! and probes the server in the background; [`QUICK_TO_RETURN`] probes answered within the
//! deadline in a row bring it back. The two thresholds keep it from flapping on one slow
//! answer.

use serde::{Deserialize, Serialize};

use super::protocol::{DeviceReason, Millis};

/// Timeouts or errors in a row that make the device stop asking.
pub const FAILURES_TO_SWITCH: u32 = 3;
/// Quick probe answers in a row that make it ask again.
pub const QUICK_TO_RETURN: u32 = 2;
/// Between two probes while the device decides alone.
pub const PROBE_EVERY_MS: Millis = 3_000;

/// Why the server's verdict was not used for one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Miss {
    Timeout,
    Error,
}

impl From<Miss> for DeviceReason {
    fn from(miss: Miss) -> Self {
        match miss {
            Miss::Timeout => DeviceReason::Timeout,
            Miss::Error => DeviceReason::Error,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum LinkMode {
    OnlineFirst,
    /// Deciding alone since `since`, after misses of this kind.
    DeviceOnly { since: Millis, after: Miss },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnlineFirst {
    mode: LinkMode,
    misses: u32,
    quick: u32,
    last_probe: Millis,
}

impl Default for OnlineFirst {
    fn default() -> Self {
        Self::new()
    }
}

impl OnlineFirst {
    pub fn new() -> Self {
        Self { mode: LinkMode::OnlineFirst, misses: 0, quick: 0, last_probe: 0 }
    }

    pub fn mode(&self) -> LinkMode {
        self.mode
    }

    /// Ask the server for this scan's verdict (else the device decides, as `DeviceOnly`).
    pub fn asks(&self) -> bool {
        self.mode == LinkMode::OnlineFirst
    }

    /// The server's verdict came within the deadline.
    pub fn answered(&mut self) {
        self.misses = 0;
    }

    /// No usable verdict for a scan: after enough in a row, the device decides alone.
    pub fn missed(&mut self, miss: Miss, now: Millis) {
        if self.mode != LinkMode::OnlineFirst {
            return;
        }
        self.misses += 1;
        if self.misses >= FAILURES_TO_SWITCH {
            self.mode = LinkMode::DeviceOnly { since: now, after: miss };
            self.quick = 0;
            self.last_probe = now;
        }
    }

    /// Time for a background probe (deciding alone, and none for a while).
    pub fn probe_due(&self, now: Millis) -> bool {
        !self.asks() && now - self.last_probe >= PROBE_EVERY_MS
    }

    pub fn probing(&mut self, now: Millis) {
        self.last_probe = now;
    }

    /// A probe's answer: `within_deadline` false for a slow one or an error.
    pub fn probed(&mut self, within_deadline: bool) {
        if self.asks() {
            return;
        }
        if !within_deadline {
            self.quick = 0;
            return;
        }
        self.quick += 1;
        if self.quick >= QUICK_TO_RETURN {
            *self = Self::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slow_answer_changes_nothing_three_in_a_row_switch_to_the_device() {
        let mut link = OnlineFirst::new();
        link.missed(Miss::Timeout, 10);
        link.missed(Miss::Timeout, 20);
        link.answered();
        link.missed(Miss::Error, 30);
        link.missed(Miss::Timeout, 40);
        assert!(link.asks(), "the count starts again after an answer in time");
        link.missed(Miss::Timeout, 50);
        assert_eq!(link.mode(), LinkMode::DeviceOnly { since: 50, after: Miss::Timeout });
        assert!(!link.asks());
    }

    #[test]
    fn back_to_online_first_after_quick_probes_in_a_row() {
        let mut link = OnlineFirst::new();
        (0..FAILURES_TO_SWITCH).for_each(|i| link.missed(Miss::Error, i64::from(i)));
        assert!(!link.probe_due(1_000));
        assert!(link.probe_due(PROBE_EVERY_MS + 2));
        link.probing(PROBE_EVERY_MS + 2);
        link.probed(true);
        link.probed(false);
        link.probed(true);
        assert!(!link.asks(), "a slow probe in between starts the count again");
        link.probed(true);
        assert!(link.asks());
        assert_eq!(link.mode(), LinkMode::OnlineFirst);
    }
}

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::checkpoint::Mode;
use super::ticket::Direction;

/// When a gate lets a category in, as local times of day in the venue's zone, every day:
/// doors open at `opens`, the last entry is at `last_entry` (its whole minute included).
/// `opens` after `last_entry` is a window across midnight (22:00 → 02:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryWindow {
    pub opens: NaiveTime,
    pub last_entry: NaiveTime,
}

/// Where a moment falls against an [`EntryWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Open,
    TooEarly,
    TooLate,
}

/// The instant the venue's clock reads `time` on `date`. A time the clock skips (the spring
/// change) is read an hour on, as elapsed time would have it; one it shows twice (autumn), the
/// first time, so "last entry 02:30" ends at the first 02:30.
fn instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    let resolved = zone.from_local_datetime(&local).earliest().or_else(|| zone.from_local_datetime(&(local + Duration::hours(1))).earliest());
    resolved.map_or_else(|| local.and_utc(), |t| t.to_utc())
}

impl EntryWindow {
    /// The window that opens on `date`, as instants: from the opening to the end of the last
    /// entry's minute ("last entry 23:30" still lets in at 23:30:59), the next day when it
    /// crosses midnight.
    fn on(&self, date: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let closing_day = if self.crosses_midnight() { date.succ_opt().unwrap_or(date) } else { date };
        (instant(zone, date, self.opens), instant(zone, closing_day, self.last_entry) + Duration::minutes(1))
    }

    pub fn crosses_midnight(&self) -> bool {
        self.opens > self.last_entry
    }

    /// Where `at` falls, on the venue's clock. Outside a window of one day, before the doors
    /// open is too early and after the last entry too late. Between a window across midnight
    /// and the next (say at 04:00 for 22:00 → 02:00), the nearer of the two ends names it: too
    /// late in the first half of the gap, too early in the second.
    pub fn timing(&self, at: DateTime<Utc>, zone: Tz) -> Timing {
        let today = at.with_timezone(&zone).date_naive();
        let (opens, closes) = self.on(today, zone);
        if !self.crosses_midnight() {
            return if at < opens {
                Timing::TooEarly
            } else if at >= closes {
                Timing::TooLate
            } else {
                Timing::Open
            };
        }
        let (_, last_night_closes) = self.on(today.pred_opt().unwrap_or(today), zone);
        if at < last_night_closes || (opens <= at && at < closes) {
            Timing::Open
        } else if at - last_night_closes < opens - at {
            Timing::TooLate
        } else {
            Timing::TooEarly
        }
    }
}

/// What differs for one category at a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryRule {
    pub category: String,
    /// Its own window (early entry for VIPs); `None`: the gate's.
    #[serde(default)]
    pub window: Option<EntryWindow>,
    /// Shown on the green screen ("wristband", "ID check").
    #[serde(default)]
    pub instruction: Option<String>,
}

/// A door's rules, set once in the back office for every device that joins it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub name: String,
    /// How it counts passes; for entry/exit, the direction is the steward's (see [`Gate::mode_for`]).
    pub mode: Mode,
    /// The categories it lets in; empty: every one.
    #[serde(default)]
    pub categories: Vec<String>,
    /// When the categories without a window of their own enter; `None`: at any time.
    #[serde(default)]
    pub window: Option<EntryWindow>,
    #[serde(default)]
    pub per_category: Vec<CategoryRule>,
}

impl Gate {
    pub fn admits(&self, category: &str) -> bool {
        self.categories.is_empty() || self.categories.iter().any(|c| c == category)
    }

    fn rule(&self, category: &str) -> Option<&CategoryRule> {
        self.per_category.iter().find(|r| r.category == category)
    }

    pub fn window_for(&self, category: &str) -> Option<EntryWindow> {
        self.rule(category).and_then(|r| r.window).or(self.window)
    }

    pub fn instruction_for(&self, category: &str) -> Option<&str> {
        self.rule(category).and_then(|r| r.instruction.as_deref()).filter(|i| !i.is_empty())
    }

    /// The mode a door on this gate decides with, the steward choosing the direction of an
    /// entry/exit gate.
    pub fn mode_for(&self, direction: Direction) -> Mode {
        match self.mode {
            Mode::EntryExit { .. } => Mode::EntryExit { direction },
            other => other,
        }
    }

    /// Whether the rules can be kept: a name, limits above zero, one rule per category, short
    /// texts.
    pub fn check(&self) -> Result<(), GateError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(GateError::NoName);
        }
        if name.chars().count() > MAX_TEXT {
            return Err(GateError::TooLong(name.to_owned()));
        }
        if let Mode::MultiPass { max_total, max_per_day } = self.mode
            && (max_total == Some(0) || max_per_day == Some(0))
        {
            return Err(GateError::ZeroLimit);
        }
        let texts = self.categories.iter().chain(self.per_category.iter().map(|r| &r.category));
        let instructions = self.per_category.iter().filter_map(|r| r.instruction.as_ref());
        if let Some(long) = texts.chain(instructions).find(|t| t.chars().count() > MAX_TEXT) {
            return Err(GateError::TooLong(long.clone()));
        }
        for (i, rule) in self.per_category.iter().enumerate() {
            if self.per_category[..i].iter().any(|r| r.category == rule.category) {
                return Err(GateError::TwoRules(rule.category.clone()));
            }
        }
        Ok(())
    }
}

const MAX_TEXT: usize = 120;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("a gate needs a name")]
    NoName,
    #[error("too long (at most 120 characters): {0}")]
    TooLong(String),
    #[error("a multi-pass limit must be at least 1")]
    ZeroLimit,
    #[error("two rules for category {0}")]
    TwoRules(String),
}

/// The gate a door joined, and its performance's other gates: a ticket refused here is told
/// which of them lets it in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gates {
    pub joined: Option<Gate>,
    pub others: Vec<Gate>,
}

impl Gates {
    /// The names of the other gates that let `category` in.
    pub fn admitting(&self, category: &str) -> Vec<String> {
        self.others.iter().filter(|g| g.admits(category)).map(|g| g.name.clone()).collect()
    }
}

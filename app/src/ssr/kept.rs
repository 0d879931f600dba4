//! Values read from the database and kept a moment (`FRESH_FOR`) by one process, for what is
//! read on every scan but changes rarely. A change made in this process drops what it affects at
//! once; one made in another process is seen within `FRESH_FOR`.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FRESH_FOR: Duration = Duration::from_secs(2);

/// Past this many entries, stale ones are swept out on the next insert.
const SWEEP_ABOVE: usize = 4_096;

pub struct Kept<K, V> {
    state: Mutex<State<K, V>>,
}

struct State<K, V> {
    entries: HashMap<K, (Instant, V)>,
    /// Counts the forgets: a value read before one may predate the change it announced.
    forgets: u64,
}

/// Taken before reading a value from the database, and handed back to `keep` with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading(u64);

impl<K, V> Default for Kept<K, V> {
    fn default() -> Self {
        Self { state: Mutex::new(State { entries: HashMap::new(), forgets: 0 }) }
    }
}

impl<K: Eq + Hash, V: Clone> Kept<K, V> {
    /// The value kept for `key`, if it was read less than `FRESH_FOR` ago.
    pub fn fresh<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let state = self.state.lock().ok()?;
        state.entries.get(key).filter(|(at, _)| at.elapsed() < FRESH_FOR).map(|(_, value)| value.clone())
    }

    /// To call before reading a value to `keep`.
    pub fn before_reading(&self) -> Reading {
        Reading(self.state.lock().map(|state| state.forgets).unwrap_or(u64::MAX))
    }

    /// Keeps `value`, read after `reading` was taken, unless something was forgotten meanwhile:
    /// the read may then have seen the database before the change.
    pub fn keep(&self, reading: Reading, key: K, value: V) {
        let Ok(mut state) = self.state.lock() else { return };
        if state.forgets != reading.0 {
            return;
        }
        if state.entries.len() > SWEEP_ABOVE {
            state.entries.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
        }
        state.entries.insert(key, (Instant::now(), value));
    }

    /// After a change to what `key` names, made in this process.
    pub fn forget(&self, key: &K) {
        if let Ok(mut state) = self.state.lock() {
            state.entries.remove(key);
            state.forgets += 1;
        }
    }

    /// After a change that may touch any entry.
    pub fn forget_all(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.entries.clear();
            state.forgets += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_value_is_fresh_until_forgotten() {
        let kept = Kept::default();
        kept.keep(kept.before_reading(), "door", 1);
        assert_eq!(kept.fresh(&"door"), Some(1));
        assert_eq!(kept.fresh(&"other"), None);
        kept.forget(&"door");
        assert_eq!(kept.fresh(&"door"), None);
        kept.keep(kept.before_reading(), "door", 2);
        kept.forget_all();
        assert_eq!(kept.fresh(&"door"), None);
    }

    #[test]
    fn a_value_read_before_a_forget_is_not_kept() {
        let kept = Kept::default();
        let reading = kept.before_reading();
        // Rights change here while the old ones are being read.
        kept.forget_all();
        kept.keep(reading, "session", "old rights");
        assert_eq!(kept.fresh(&"session"), None);
        kept.keep(kept.before_reading(), "session", "new rights");
        assert_eq!(kept.fresh(&"session"), Some("new rights"));
    }
}

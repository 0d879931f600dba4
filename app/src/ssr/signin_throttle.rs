//! Sign-in throttling as pure rules; the database applies them atomically (`reserve_signin_attempt`
//! in the storage contract), so several server processes and a burst of concurrent requests
//! count as one.
//!
//! Every attempt is counted *before* its password is checked, on two keys: the (login, client
//! address) pair and the client address alone. A key's first attempts are free; after that each
//! attempt makes the next one wait, twice as long each time (1 s, 2 s, 4 s… up to 15 minutes).
//! So a burst of concurrent guesses gets the free attempts checked and no more, while a steward
//! who mistyped five times waits a second, not a quarter of an hour, and a guesser at another
//! address delays nobody else. A key is forgotten after 15 quiet minutes, and a successful
//! sign-in forgets its pair and gives its attempt back to its address.

use billetix_core::ids::Millis;

/// Attempts a (login, address) pair makes before they are delayed.
pub const FREE_PER_LOGIN_AND_ADDRESS: u32 = 5;
/// Attempts an address makes, all logins together, before they are delayed.
pub const FREE_PER_ADDRESS: u32 = 30;
/// The first delay, doubled at each further attempt.
pub const FIRST_DELAY_MS: Millis = 1_000;
/// The longest delay, and the quiet time after which a key starts afresh.
pub const MAX_DELAY_MS: Millis = 15 * 60 * 1000;

/// One counter an attempt is counted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKey {
    pub key: String,
    /// The login it belongs to, so a Master can clear that login's delays.
    pub login: Option<String>,
    pub free_attempts: u32,
}

impl ThrottleKey {
    pub fn login_at_address(login: &str, address: &str) -> Self {
        Self {
            key: format!("login:{login}|address:{address}"),
            login: Some(login.to_owned()),
            free_attempts: FREE_PER_LOGIN_AND_ADDRESS,
        }
    }

    pub fn address(address: &str) -> Self {
        Self { key: format!("address:{address}"), login: None, free_attempts: FREE_PER_ADDRESS }
    }
}

/// A counter as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyState {
    pub attempts: u32,
    pub last_attempt_at: Millis,
    /// No attempt is taken before this time.
    pub next_allowed_at: Millis,
}

/// The delay an attempt imposes on the next one, once `attempts` were made.
pub fn delay_after(attempts: u32, free: u32) -> Millis {
    if attempts < free {
        return 0;
    }
    let doublings = (attempts - free).min(20);
    (FIRST_DELAY_MS << doublings).min(MAX_DELAY_MS)
}

/// One more attempt on a key at `now`: the counter to store, or the time before which it is
/// refused (and nothing is counted).
pub fn attempt(current: KeyState, free: u32, now: Millis) -> Result<KeyState, Millis> {
    if now < current.next_allowed_at {
        return Err(current.next_allowed_at);
    }
    let quiet = now - current.last_attempt_at >= MAX_DELAY_MS;
    let attempts = if quiet { 1 } else { current.attempts.saturating_add(1) };
    Ok(KeyState { attempts, last_attempt_at: now, next_allowed_at: now + delay_after(attempts, free) })
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted: the password may be checked.
    Granted,
    /// Not counted: come back in this many milliseconds.
    Wait { retry_after_ms: Millis },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(free: u32, times: &[Millis]) -> Vec<Result<u32, Millis>> {
        let mut state = KeyState::default();
        times
            .iter()
            .map(|now| match attempt(state, free, *now) {
                Ok(next) => {
                    state = next;
                    Ok(next.attempts)
                }
                Err(until) => Err(until - now),
            })
            .collect()
    }

    #[test]
    fn a_burst_gets_its_free_attempts_and_no_more() {
        let at_once = vec![1_000_000; 40];
        let granted = run(5, &at_once).iter().filter(|r| r.is_ok()).count();
        assert_eq!(granted, 5);
    }

    #[test]
    fn delays_double_then_stop_growing() {
        assert_eq!(delay_after(4, 5), 0);
        assert_eq!(delay_after(5, 5), 1_000);
        assert_eq!(delay_after(6, 5), 2_000);
        assert_eq!(delay_after(9, 5), 16_000);
        assert_eq!(delay_after(40, 5), MAX_DELAY_MS);
        assert_eq!(delay_after(u32::MAX, 5), MAX_DELAY_MS);
    }

    #[test]
    fn a_mistyping_steward_waits_seconds_not_minutes() {
        let t0 = 1_000_000;
        // Five wrong passwords, then the right one a second and a half later.
        let answers = run(5, &[t0, t0 + 1, t0 + 2, t0 + 3, t0 + 4, t0 + 1_504]);
        assert!(answers.iter().all(|a| a.is_ok()), "{answers:?}");
        // Straight away it would have waited the one second.
        assert_eq!(run(5, &[t0, t0, t0, t0, t0, t0 + 10])[5], Err(990));
    }

    #[test]
    fn a_key_starts_afresh_after_a_quiet_quarter_of_an_hour() {
        let t0 = 1_000_000;
        let mut times = vec![t0; 5];
        times.push(t0 + MAX_DELAY_MS);
        assert_eq!(run(5, &times).last(), Some(&Ok(1)));
    }
}

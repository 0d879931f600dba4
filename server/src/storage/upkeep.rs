//! A storage's background upkeep: jobs run every so often for as long as the storage lives.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Ties background jobs to the storage that owns it: they stop once it is dropped.
pub(super) struct Upkeep {
    alive: Arc<()>,
}

impl Upkeep {
    pub(super) fn new() -> Self {
        Self { alive: Arc::new(()) }
    }

    /// Runs `job` every `period`, in the background.
    pub(super) fn every<F, Fut>(&self, period: Duration, job: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let alive: Weak<()> = Arc::downgrade(&self.alive);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if alive.upgrade().is_none() {
                    return;
                }
                job().await;
            }
        });
    }
}

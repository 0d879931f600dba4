//! `/scanner`: the steward's app. Imports performances to the device (IndexedDB), decides every
//! scan on the device with the shared engine, never waiting for the network, keeps each scan
//! until the server has it, and follows the other devices' scans when online.
//!
//! The server renders only the empty frame: everything the device knows is its own, read from
//! IndexedDB once the page runs, so the same page works with no network at all.

pub mod camera;
mod door;
mod link;
pub mod open_performances;
mod store;
mod verdict;
#[cfg(any(feature = "hydrate", test))]
mod wedge;

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::engine::{Checkpoint, Direction, Mode, PerformanceId, Verdict};
use crate::error::AppError;
use crate::i18n::*;
use crate::pages::me::Me;
use crate::sync::device::{Counter, DeviceBook, DeviceScan, DoorError, OpenPerformance};
use crate::sync::protocol::{Door, Millis};
use open_performances::ImportProgress;

/// Scans listed under the verdict.
const RECENT_SHOWN: usize = 20;
/// A verdict stays on screen this long unless the next scan replaces it.
const VERDICT_MS: u64 = 2_500;
/// Past this difference with the server's clock, the steward is told to set the device's.
pub const MAX_SKEW_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Reading the device's copy.
    Loading,
    Ready,
    /// The device's storage cannot be used: nothing can be kept, so nothing is scanned.
    Broken(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Session {
    /// Not asked yet, or offline.
    Unknown,
    SignedIn(Me),
    SignInNeeded(Option<AppError>),
}

/// The verdict on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub scan_id: String,
    pub barcode: String,
    pub verdict: Verdict,
    pub at: Millis,
    /// How long the engine took, deciding and counting on the device's copy (milliseconds,
    /// as finely as the browser's clock tells).
    pub decided_in_ms: f64,
}

/// The scanner's state, shared by its parts as a context. Handles only: copies are free.
#[derive(Clone, Copy)]
pub struct Scanner {
    pub book: StoredValue<DeviceBook>,
    /// Every scan made on this device, oldest first.
    pub scans: StoredValue<Vec<DeviceScan>>,
    /// Bumped whenever `book` or `scans` change, for what is drawn from them.
    pub changed: RwSignal<u64>,
    pub phase: RwSignal<Phase>,
    pub door: RwSignal<Option<Door>>,
    pub checkpoint: StoredValue<Option<Checkpoint>>,
    pub online: RwSignal<bool>,
    pub session: RwSignal<Session>,
    /// Server time minus device time, as last measured.
    pub skew: RwSignal<Option<i64>>,
    pub shown: RwSignal<Option<Shown>>,
    pub device: RwSignal<String>,
    pub open: RwSignal<Vec<OpenPerformance>>,
    pub imports: RwSignal<BTreeMap<PerformanceId, ImportProgress>>,
    pub problem: RwSignal<Option<Problem>>,
}

/// Something the steward should know that is not a verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Server(AppError),
    Storage(String),
    Door(DoorError),
}

impl Scanner {
    fn new() -> Self {
        Self {
            book: StoredValue::new(DeviceBook::new()),
            scans: StoredValue::new(Vec::new()),
            changed: RwSignal::new(0),
            phase: RwSignal::new(Phase::Loading),
            door: RwSignal::new(None),
            checkpoint: StoredValue::new(None),
            online: RwSignal::new(true),
            session: RwSignal::new(Session::Unknown),
            skew: RwSignal::new(None),
            shown: RwSignal::new(None),
            device: RwSignal::new(String::new()),
            open: RwSignal::new(Vec::new()),
            imports: RwSignal::new(BTreeMap::new()),
            problem: RwSignal::new(None),
        }
    }

    fn touch(&self) {
        self.changed.update(|v| *v += 1);
    }

    pub fn counter(&self) -> Counter {
        self.changed.track();
        let performances = self.door.with(|d| d.as_ref().map(|d| d.performances.clone()).unwrap_or_default());
        self.book.with_value(|b| b.counter(&performances))
    }

    pub fn pending(&self) -> usize {
        self.changed.track();
        self.scans.with_value(|s| s.iter().filter(|s| !s.uploaded).count())
    }

    /// Scans the server will never take, kept aside with the reason.
    pub fn set_aside(&self) -> Vec<DeviceScan> {
        self.changed.track();
        self.scans.with_value(|s| s.iter().filter(|s| s.set_aside.is_some()).cloned().collect())
    }

    pub fn recent(&self) -> Vec<DeviceScan> {
        self.changed.track();
        self.scans.with_value(|s| s.iter().rev().take(RECENT_SHOWN).cloned().collect())
    }

    /// Runs a door: checks it against the device's copy first.
    pub fn open_door(&self, door: Door) -> Result<(), DoorError> {
        let checkpoint = self.book.with_value(|b| b.checkpoint(&door))?;
        self.checkpoint.set_value(Some(checkpoint));
        self.door.set(Some(door.clone()));
        link::save_door(*self, door);
        Ok(())
    }

    pub fn close_door(&self) {
        self.checkpoint.set_value(None);
        self.door.set(None);
        link::forget_door(*self);
    }

    pub fn set_direction(&self, direction: Direction) {
        if let Some(mut door) = self.door.get_untracked() {
            if let Mode::EntryExit { .. } = door.mode {
                door.mode = Mode::EntryExit { direction };
                let _ = self.open_door(door);
            }
        }
    }

    /// After new tickets or filters: the running door's checkpoint is built anew.
    fn refresh_checkpoint(&self) {
        if let Some(door) = self.door.get_untracked() {
            match self.book.with_value(|b| b.checkpoint(&door)) {
                Ok(checkpoint) => self.checkpoint.set_value(Some(checkpoint)),
                Err(e) => self.problem.set(Some(Problem::Door(e))),
            }
        }
    }

    /// One read at the door, from any input: decided here and now, then kept and sent.
    pub fn scan(&self, raw: String) {
        let Some(door) = self.door.get_untracked() else { return };
        let now = now_millis();
        let scan_id = link::new_scan_id();
        let device = self.device.get_untracked();
        let started = performance_now();
        let decided = self.checkpoint.with_value(|checkpoint| {
            let checkpoint = checkpoint.as_ref()?;
            self.book.try_update_value(|b| b.scan(&raw, checkpoint, &scan_id, now, &device)).flatten()
        });
        let decided_in_ms = performance_now() - started;
        let Some((barcode, verdict)) = decided else { return };
        let barcode = String::from(barcode);
        let shown = Shown { scan_id: scan_id.clone(), barcode: barcode.clone(), verdict: verdict.clone(), at: now, decided_in_ms };
        self.shown.set(Some(shown));
        #[cfg(feature = "hydrate")]
        verdict::sound_and_vibrate(verdict.colour());
        let scan = DeviceScan {
            scan: crate::sync::protocol::OfflineScan { scan_id: scan_id.clone(), barcode, device, scanned_at: now, door, device_verdict: verdict },
            uploaded: false,
            conflict: false,
            set_aside: None,
        };
        self.scans.update_value(|s| s.push(scan.clone()));
        self.touch();
        link::keep_scan(*self, scan);
        let shown = self.shown;
        set_timeout(
            move || {
                if shown.with_untracked(|s| s.as_ref().is_some_and(|s| s.scan_id == scan_id)) {
                    shown.set(None);
                }
            },
            std::time::Duration::from_millis(VERDICT_MS),
        );
    }

    pub fn import(&self, about: OpenPerformance) {
        link::import(*self, about);
    }

    /// The name of an imported performance, for "belongs to another performance".
    pub fn performance_name(&self, id: i64) -> String {
        self.book
            .with_value(|b| b.performance(PerformanceId(id)).map(|p| open_performances::performance_title(&p.about)))
            .unwrap_or_else(|| format!("#{id}"))
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The page's monotonic clock, in milliseconds.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

pub fn now_millis() -> Millis {
    js_sys::Date::now() as Millis
}

#[component]
pub fn ScannerPage() -> impl IntoView {
    let i18n = use_i18n();
    let scanner = Scanner::new();
    provide_context(scanner);
    // Effects run only in the browser, once the page is live.
    Effect::new(move || link::start(scanner));

    let skew_warning = move || {
        scanner.skew.get().filter(|s| s.abs() > MAX_SKEW_MS).map(|skew| {
            let minutes = (skew.abs() as f64 / 60_000.0).round().max(1.0) as i64;
            view! {
                <p class="warning" data-testid="clock-skew" role="alert">
                    {crate::components::error_text::fill(t_string!(i18n, scanner_clock_skew), &[("minutes", &minutes.to_string())])}
                </p>
            }
        })
    };

    view! {
        <main class="scanner" data-testid="scanner" data-phase=move || match scanner.phase.get() {
            Phase::Loading => "loading",
            Phase::Ready => "ready",
            Phase::Broken(_) => "broken",
        }>
            <header class="scanner-bar">
                <strong>"Billetix"</strong>
                <span class="device" title=move || t_string!(i18n, scanner_device)>{move || scanner.device.get()}</span>
                <span class="link" data-testid="online" data-online=move || scanner.online.get().to_string()
                    class:offline=move || !scanner.online.get()>
                    {move || if scanner.online.get() { t_string!(i18n, scanner_online) } else { t_string!(i18n, scanner_offline) }}
                </span>
                <span class="pending" data-testid="pending" data-count=move || scanner.pending().to_string()>
                    {move || crate::components::error_text::fill(t_string!(i18n, scanner_pending), &[("count", &scanner.pending().to_string())])}
                </span>
                <button class="language" on:click=move |_| {
                    let next = if i18n.get_locale() == Locale::fr { Locale::en } else { Locale::fr };
                    i18n.set_locale(next);
                }>{t!(i18n, other_language)}</button>
            </header>
            {skew_warning}
            {move || scanner.problem.get().map(|p| {
                let text = match p {
                    Problem::Server(e) => crate::components::error_text::error_text(i18n, &e),
                    Problem::Storage(why) => crate::components::error_text::fill(t_string!(i18n, scanner_storage_broken), &[("why", &why)]),
                    Problem::Door(e) => door::door_error_text(i18n, &e, scanner),
                };
                view! { <p class="error" role="alert" data-testid="scanner-problem">{text}</p> }
            })}
            {move || match scanner.phase.get() {
                Phase::Loading => view! { <p class="hint">{t!(i18n, scanner_loading)}</p> }.into_any(),
                Phase::Broken(why) => view! {
                    <p class="error" role="alert">
                        {crate::components::error_text::fill(t_string!(i18n, scanner_storage_broken), &[("why", &why)])}
                    </p>
                }.into_any(),
                Phase::Ready => view! {
                    <Show when=move || scanner.door.with(Option::is_some) fallback=|| view! { <door::DoorSetup /> }>
                        <door::DoorView />
                    </Show>
                }.into_any(),
            }}
            <door::VerdictOverlay />
        </main>
    }
}

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
pub mod sign_out;
mod store;
pub(crate) mod verdict;
#[cfg(any(feature = "hydrate", test))]
mod wedge;

use std::collections::BTreeMap;

use leptos::prelude::*;

use billetix_core::engine::{Barcode, Checkpoint, Direction, Mode, PerformanceId, Verdict};

use crate::error::AppError;
use crate::i18n::*;
use crate::me::Me;
use crate::sync::device::{Counter, DeviceBook, DeviceScan, DoorError, OpenPerformance};
use crate::sync::online::{LinkMode, Miss, OnlineFirst};
use crate::sync::protocol::{DecidedBy, DeviceReason, Door, Millis, OfflineScan, ScanLogin, ScanOutcome};
use open_performances::ImportProgress;

/// Scans listed under the verdict.
const RECENT_SHOWN: usize = 20;
/// A verdict stays on screen this long unless the next scan replaces it.
const VERDICT_MS: u64 = 2_500;
/// Past this difference with the server's clock, the steward is told to set the device's.
pub const MAX_SKEW_MS: i64 = crate::sync::protocol::MAX_CLOCK_SKEW_MS;

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
    /// From the read to the verdict: the engine on the device's copy, or the server's answer
    /// (milliseconds, as finely as the browser's clock tells).
    pub decided_in_ms: f64,
    pub decided: DecidedBy,
    /// What the joined gate asks for this ticket's category on admission ("wristband").
    pub instruction: Option<String>,
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
    /// The login signed in on this device, kept while offline: each scan is tagged with it,
    /// so only that login uploads it. `None` once signed out.
    pub login: RwSignal<Option<ScanLogin>>,
    /// Server time minus device time, as last measured.
    pub skew: RwSignal<Option<i64>>,
    pub shown: RwSignal<Option<Shown>>,
    pub device: RwSignal<String>,
    pub open: RwSignal<Vec<OpenPerformance>>,
    pub imports: RwSignal<BTreeMap<PerformanceId, ImportProgress>>,
    pub problem: RwSignal<Option<Problem>>,
    /// Whether scans go to the server first, and since when not.
    pub link: StoredValue<OnlineFirst>,
    /// `link`'s mode, for the screen.
    pub link_mode: RwSignal<LinkMode>,
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
            login: RwSignal::new(None),
            skew: RwSignal::new(None),
            shown: RwSignal::new(None),
            device: RwSignal::new(String::new()),
            open: RwSignal::new(Vec::new()),
            imports: RwSignal::new(BTreeMap::new()),
            problem: RwSignal::new(None),
            link: StoredValue::new(OnlineFirst::new()),
            link_mode: RwSignal::new(LinkMode::OnlineFirst),
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

    /// Scans the server does not have yet (those it decided only wait to be told their round trip).
    pub fn pending(&self) -> usize {
        self.changed.track();
        self.scans.with_value(|s| s.iter().filter(|s| !s.uploaded && !matches!(s.scan.decided, DecidedBy::Server { .. })).count())
    }

    /// How long this door waits for the server's verdict.
    pub fn deadline_ms(&self) -> u32 {
        self.changed.track();
        self.door.with(|door| door.as_ref().map(|d| self.book.with_value(|b| b.scan_deadline_ms(d))))
            .unwrap_or(crate::sync::protocol::DEFAULT_SCAN_DEADLINE_MS)
    }

    /// Why the server would not be asked now, if it would not.
    fn not_asking(&self) -> Option<DeviceReason> {
        let signed_in = matches!(self.session.get_untracked(), Session::SignedIn(_));
        if !self.online.get_untracked() || !signed_in {
            Some(DeviceReason::Offline)
        } else if !self.link.with_value(OnlineFirst::asks) {
            Some(DeviceReason::DeviceOnly)
        } else {
            None
        }
    }

    fn link_changed(&self) {
        let mode = self.link.with_value(OnlineFirst::mode);
        if self.link_mode.get_untracked() != mode {
            self.link_mode.set(mode);
        }
    }

    /// Queued scans of other logins than the one signed in, by login.
    pub fn waiting_for_others(&self) -> Vec<(ScanLogin, Vec<DeviceScan>)> {
        self.changed.track();
        let login = self.login.get();
        self.scans.with_value(|s| {
            crate::sync::device::waiting_for_others(s, login.as_ref())
                .into_iter()
                .map(|(l, scans)| (l, scans.into_iter().cloned().collect()))
                .collect()
        })
    }

    /// What a sign-out would clear.
    fn copy_summary(&self) -> sign_out::CopySummary {
        let performances = self.book.with_value(|b| b.performances().count() as u32);
        let unrecorded = self.scans.with_value(|s| s.iter().filter(|s| s.unrecorded()).count() as u32);
        sign_out::CopySummary { performances, unrecorded }
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
            // The checkpoint's mode: a gate's is set in the back office, whatever the door says.
            if let Some(Mode::EntryExit { .. }) = self.checkpoint.with_value(|c| c.as_ref().map(|c| c.mode)) {
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

    /// One read at the door, from any input. Online, the server decides if it answers within
    /// the door's deadline; otherwise (or offline) the device does, at once. Either way the scan
    /// is kept on the device first, and sent until the server has it.
    pub fn scan(&self, raw: String) {
        let Some(door) = self.door.get_untracked() else { return };
        let started = performance_now();
        let Ok(barcode) = Barcode::parse(&raw) else { return };
        let now = now_millis();
        let device = self.device.get_untracked();
        let scan = OfflineScan {
            scan_id: link::new_scan_id(),
            barcode: String::from(barcode.clone()),
            device,
            scanned_at: now,
            door,
            device_verdict: Verdict::Accepted { direction: Direction::In },
            decided: DecidedBy::Device { why: DeviceReason::Offline },
            clock_skew_ms: self.skew.get_untracked(),
            login: self.login.get_untracked(),
        };
        match self.not_asking() {
            Some(why) => self.decide_here(scan, why, started),
            None => {
                // What the device would say, kept first: if the page dies while the server is
                // asked, the scan is uploaded as decided here (the server counts its id once).
                let Some(local) = self.checkpoint.with_value(|c| c.as_ref().map(|c| self.book.with_value(|b| b.decide(&barcode, c, now, &scan.device)))) else {
                    return;
                };
                let pending = OfflineScan { device_verdict: local, decided: DecidedBy::Device { why: DeviceReason::Timeout }, ..scan };
                link::ask_server(*self, pending, self.deadline_ms(), started);
            }
        }
    }

    /// The device's own verdict, counted on its copy, shown and kept for upload.
    fn decide_here(&self, mut scan: OfflineScan, why: DeviceReason, started: f64) {
        let known = self.book.with_value(|b| b.knows(&scan.scan_id));
        // The server's admission may have come by the live feed before its answer: then it
        // is counted already, and the device's decision made before stands.
        if !known {
            let decided = self.checkpoint.with_value(|checkpoint| {
                let checkpoint = checkpoint.as_ref()?;
                self.book.try_update_value(|b| b.scan(&scan.barcode, checkpoint, &scan.scan_id, scan.scanned_at, &scan.device)).flatten()
            });
            let Some((_, verdict)) = decided else { return };
            scan.device_verdict = verdict;
        }
        scan.decided = DecidedBy::Device { why };
        self.show(&scan, performance_now() - started);
        self.keep(scan);
    }

    /// The server's verdict, in time: counted on the device's copy, shown, and kept to tell
    /// the server its round trip.
    fn decided_by_server(&self, mut scan: OfflineScan, outcome: ScanOutcome, round_trip_ms: u32, started: f64) {
        if let Some(row) = &outcome.pass {
            self.book.update_value(|b| b.apply_pass(row));
        }
        scan.device_verdict = outcome.verdict;
        scan.decided = DecidedBy::Server { round_trip_ms };
        self.show(&scan, performance_now() - started);
        self.keep(scan);
    }

    /// No verdict from the server in time: the device's, and maybe fewer questions from now on.
    fn missed(&self, scan: OfflineScan, miss: Miss, started: f64) {
        self.link.update_value(|l| l.missed(miss, now_millis()));
        self.link_changed();
        self.decide_here(scan, miss.into(), started);
    }

    /// The server answered after the device decided: an admission the device refused is
    /// counted on its copy (the server's copy is the one that holds).
    fn late_answer(&self, scan_id: &str, outcome: ScanOutcome) {
        let Some(row) = outcome.pass else { return };
        let admitted_here = self.scans.with_value(|s| s.iter().any(|s| s.scan.scan_id == scan_id && s.scan.device_verdict.is_accepted()));
        if !admitted_here {
            self.book.update_value(|b| b.count_late_pass(&row));
            self.touch();
            link::keep_passes(*self, vec![row]);
        }
    }

    fn show(&self, scan: &OfflineScan, decided_in_ms: f64) {
        let verdict = scan.device_verdict.clone();
        let scan_id = scan.scan_id.clone();
        let instruction = match (&verdict, Barcode::parse(&scan.barcode)) {
            (Verdict::Accepted { direction: Direction::In }, Ok(barcode)) => {
                self.checkpoint.with_value(|c| c.as_ref().and_then(|c| self.book.with_value(|b| b.instruction(&barcode, c))))
            }
            _ => None,
        };
        let shown = Shown {
            scan_id: scan_id.clone(),
            barcode: scan.barcode.clone(),
            verdict: verdict.clone(),
            at: scan.scanned_at,
            decided_in_ms,
            decided: scan.decided,
            instruction,
        };
        self.shown.set(Some(shown));
        #[cfg(feature = "hydrate")]
        {
            // Once the colour is painted: the first sound creates the page's audio context, tens
            // of milliseconds the steward should not wait for the verdict.
            let colour = verdict.colour();
            request_animation_frame(move || set_timeout(move || verdict::sound_and_vibrate(colour), std::time::Duration::ZERO));
        }
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

    /// Listed, stored and sent on the next round.
    fn keep(&self, scan: OfflineScan) {
        let scan = DeviceScan { scan, uploaded: false, conflict: false, set_aside: None };
        self.scans.update_value(|s| s.push(scan.clone()));
        self.touch();
        link::keep_scan(*self, scan);
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

/// Who decides this door's scans now: the server first, or the device alone.
fn decision_mode_code(scanner: Scanner) -> &'static str {
    let signed_in = matches!(scanner.session.get(), Session::SignedIn(_));
    match scanner.link_mode.get() {
        _ if !scanner.online.get() || !signed_in => "offline",
        LinkMode::OnlineFirst => "online_first",
        LinkMode::DeviceOnly { .. } => "device_only",
    }
}

fn decision_mode_text(i18n: leptos_i18n::I18nContext<Locale>, scanner: Scanner) -> String {
    use crate::components::error_text::fill;
    match (decision_mode_code(scanner), scanner.link_mode.get()) {
        ("offline", _) => t_string!(i18n, scanner_mode_offline).to_string(),
        (_, LinkMode::DeviceOnly { after: Miss::Timeout, .. }) => t_string!(i18n, scanner_mode_device_only_timeout).to_string(),
        (_, LinkMode::DeviceOnly { after: Miss::Error, .. }) => t_string!(i18n, scanner_mode_device_only_error).to_string(),
        _ => fill(t_string!(i18n, scanner_mode_online_first), &[("ms", &scanner.deadline_ms().to_string())]),
    }
}

/// Why the device decided, in words.
pub fn why_text(i18n: leptos_i18n::I18nContext<Locale>, why: DeviceReason) -> String {
    match why {
        DeviceReason::Offline => t_string!(i18n, why_offline),
        DeviceReason::Timeout => t_string!(i18n, why_timeout),
        DeviceReason::Error => t_string!(i18n, why_error),
        DeviceReason::DeviceOnly => t_string!(i18n, why_device_only),
    }
    .to_string()
}

/// Who decided a scan, in words: the server and its round trip, or the device and why.
pub fn decided_text(i18n: leptos_i18n::I18nContext<Locale>, decided: DecidedBy) -> String {
    use crate::components::error_text::fill;
    match decided {
        DecidedBy::Server { round_trip_ms } => fill(t_string!(i18n, scanner_decided_server), &[("ms", &round_trip_ms.to_string())]),
        DecidedBy::Device { why } => fill(t_string!(i18n, scanner_decided_device), &[("why", &why_text(i18n, why))]),
    }
}

/// `server` or `device`, for tests and styles.
pub fn decided_code(decided: DecidedBy) -> &'static str {
    match decided {
        DecidedBy::Server { .. } => "server",
        DecidedBy::Device { .. } => "device",
    }
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

    // The sign-out dialog, open with what the device holds.
    let leaving = RwSignal::new(None::<sign_out::CopySummary>);
    let signed_in_here = move || scanner.login.with(Option::is_some) || matches!(scanner.session.get(), Session::SignedIn(_));
    let ask_sign_out = move |_| {
        let summary = scanner.copy_summary();
        if summary.performances > 0 {
            leaving.set(Some(summary));
        } else {
            link::sign_out(scanner, sign_out::SignOutChoice::Keep);
        }
    };
    let chosen = Callback::new(move |choice: Option<sign_out::SignOutChoice>| {
        leaving.set(None);
        if let Some(choice) = choice {
            link::sign_out(scanner, choice);
        }
    });

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
                <span class="decision-mode" data-testid="decision-mode" data-mode=move || decision_mode_code(scanner)
                    data-deadline=move || scanner.deadline_ms().to_string()>
                    {move || decision_mode_text(i18n, scanner)}
                </span>
                <span class="pending" data-testid="pending" data-count=move || scanner.pending().to_string()>
                    {move || crate::components::error_text::fill(t_string!(i18n, scanner_pending), &[("count", &scanner.pending().to_string())])}
                </span>
                <button class="language" on:click=move |_| {
                    let next = if i18n.get_locale() == Locale::fr { Locale::en } else { Locale::fr };
                    i18n.set_locale(next);
                }>{t!(i18n, other_language)}</button>
                <Show when=signed_in_here>
                    <button class="link-button" data-testid="scanner-sign-out" on:click=ask_sign_out>
                        {move || scanner.login.get().map(|l| format!("{} · ", l.name)).unwrap_or_default()}
                        {t!(i18n, scanner_sign_out)}
                    </button>
                </Show>
            </header>
            {move || leaving.get().map(|summary| view! { <sign_out::SignOutDialog summary on_choice=chosen /> })}
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
                    <door::WaitingForLogins />
                    <Show when=move || scanner.door.with(Option::is_some) fallback=|| view! { <door::DoorSetup /> }>
                        <door::DoorView />
                    </Show>
                }.into_any(),
            }}
            <door::VerdictOverlay />
        </main>
    }
}

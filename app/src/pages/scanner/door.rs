//! The scanner's screens: choosing the door (a gate, or performances and mode), the door at work
//! (counter, direction, typed entry, last scans, double entries) and the verdict itself.

use leptos::prelude::*;

use billetix_core::engine::{Direction, Mode, PerformanceId};
use billetix_core::ids::GateId;

use super::camera::CameraError;
use super::open_performances::{OpenPerformances, performance_title};
use super::verdict::{colour_code, reason_code, verdict_text};
use super::{Scanner, Session};
use crate::components::error_text::{ErrorLine, fill};
use crate::error::AppError;
use crate::i18n::*;
use crate::sync::device::{DeviceScan, DoorError};
use crate::sync::protocol::Door;

pub fn door_error_text(i18n: leptos_i18n::I18nContext<Locale>, error: &DoorError, scanner: Scanner) -> String {
    match error {
        DoorError::NothingChosen => t_string!(i18n, scanner_choose_one).to_string(),
        DoorError::NotImported(id) => fill(t_string!(i18n, scanner_not_imported), &[("performance", &scanner.performance_name(id.0))]),
        DoorError::SharedNumbers(numbers) => fill(t_string!(i18n, scanner_shared_numbers), &[("numbers", &numbers.join(", "))]),
        DoorError::TimeZone(zone) => fill(t_string!(i18n, scanner_bad_zone), &[("zone", zone)]),
        DoorError::NoSuchGate(_) => t_string!(i18n, scanner_no_such_gate).to_string(),
    }
}

fn zone(scanner: Scanner) -> chrono_tz::Tz {
    scanner.checkpoint.with_value(|c| c.as_ref().map(|c| c.time_zone)).unwrap_or(chrono_tz::UTC)
}

/// Signing in from the scanner: needed to import and to upload, not to scan.
#[component]
fn SignInPanel() -> impl IntoView {
    let i18n = use_i18n();
    let scanner = expect_context::<Scanner>();
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        leptos::task::spawn_local(async move {
            match crate::pages::signin::sign_in(login.get_untracked(), password.get_untracked()).await {
                Ok(me) => super::link::signed_in(scanner, me),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let previous = move || match scanner.session.get() {
        Session::SignInNeeded(Some(e)) => Some(e),
        _ => None,
    };
    view! {
        <form class="scanner-signin" data-testid="scanner-signin" on:submit=submit>
            <p>{t!(i18n, scanner_sign_in_needed)}</p>
            {move || previous().map(|e| view! { <ErrorLine error=Signal::derive(move || Some(e.clone())) /> })}
            <label>{t!(i18n, field_login)}
                <input name="login" autocomplete="username" required bind:value=login />
            </label>
            <label>{t!(i18n, field_password)}
                <input name="password" type="password" autocomplete="current-password" required bind:value=password />
            </label>
            <button type="submit">{t!(i18n, signin_button)}</button>
            <ErrorLine error=error />
        </form>
    }
}

/// Choosing what this door controls, and how.
#[component]
pub fn DoorSetup() -> impl IntoView {
    let i18n = use_i18n();
    let scanner = expect_context::<Scanner>();
    let chosen = RwSignal::new(Vec::<PerformanceId>::new());
    let mode = RwSignal::new("single".to_owned());
    let max_total = RwSignal::new(String::new());
    let max_per_day = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let imported = move || {
        scanner.changed.track();
        scanner.book.with_value(|b| b.performances().map(|p| p.about.clone()).collect::<Vec<_>>())
    };
    // The gates of the imported performances: joining one takes its rules from the back office.
    let joined = RwSignal::new(None::<(PerformanceId, GateId)>);
    let gates = move || {
        scanner.changed.track();
        scanner.book.with_value(|b| {
            b.performances()
                .flat_map(|p| p.gates.gates.iter().map(|g| (p.about.clone(), g.id, g.rules.name.clone())).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        })
    };
    let limit = |text: String| text.trim().parse::<u32>().ok().filter(|n| *n > 0);
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let door_mode = match mode.get_untracked().as_str() {
            "entry_exit" => Mode::EntryExit { direction: Direction::In },
            "multi" => Mode::MultiPass { max_total: limit(max_total.get_untracked()), max_per_day: limit(max_per_day.get_untracked()) },
            _ => Mode::SinglePass,
        };
        let door = match joined.get_untracked() {
            // Entering first: an entry/exit gate's direction is the steward's, by the big button.
            Some((performance, gate)) => Door { performances: vec![performance], mode: Mode::EntryExit { direction: Direction::In }, gate: Some(gate) },
            None => Door { performances: chosen.get_untracked(), mode: door_mode, gate: None },
        };
        match scanner.open_door(door) {
            Ok(()) => error.set(None),
            Err(e) => error.set(Some(door_error_text(i18n, &e, scanner))),
        }
    };
    let toggle = move |id: PerformanceId| {
        chosen.update(|c| match c.iter().position(|p| *p == id) {
            Some(i) => {
                c.remove(i);
            }
            None => c.push(id),
        })
    };
    view! {
        <div class="door-setup">
            {move || match scanner.session.get() {
                Session::SignInNeeded(_) if scanner.online.get() => view! { <SignInPanel /> }.into_any(),
                Session::SignedIn(me) if !me.pda => view! { <p class="error">{t!(i18n, scanner_no_pda)}</p> }.into_any(),
                Session::SignedIn(_) => view! { <OpenPerformances /> }.into_any(),
                _ if !scanner.online.get() => view! { <p class="hint">{t!(i18n, scanner_import_needs_network)}</p> }.into_any(),
                _ => ().into_any(),
            }}
            <form class="door-choice" data-testid="door-choice" on:submit=start>
                <h2>{t!(i18n, scanner_choose)}</h2>
                <Show when=move || imported().is_empty()>
                    <p class="hint">{t!(i18n, scanner_nothing_imported)}</p>
                </Show>
                // Erased views, here and below: the whole form is too deep a type otherwise.
                {move || (!gates().is_empty()).then(|| view! {
                    <fieldset class="gates">
                        <legend>{t!(i18n, scanner_join_gate)}</legend>
                        <label>
                            <input type="radio" name="gate" data-testid="no-gate" prop:checked=move || joined.get().is_none()
                                on:change=move |_| joined.set(None) />
                            {t!(i18n, scanner_no_gate)}
                        </label>
                        {move || gates().into_iter().map(|(about, id, name)| {
                            let performance = about.id;
                            view! {
                                <label>
                                    <input type="radio" name="gate" data-testid="join-gate" data-gate=id.0 data-name=name.clone()
                                        prop:checked=move || joined.get() == Some((performance, id))
                                        on:change=move |_| joined.set(Some((performance, id))) />
                                    {performance_title(&about)}" · "<strong>{name.clone()}</strong>
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                }.into_any())}
                {move || joined.get().is_none().then(|| view! {
                    <ul>
                        <For each=imported key=|p| p.id let:about>
                            {
                                let id = about.id;
                                view! {
                                    <li>
                                        <label>
                                            <input type="checkbox" data-testid="control" data-performance=id.0
                                                prop:checked=move || chosen.with(|c| c.contains(&id))
                                                on:change=move |_| toggle(id) />
                                            {performance_title(&about)}
                                        </label>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                    <fieldset class="modes">
                        <legend>{t!(i18n, scanner_mode)}</legend>
                        {[("single", 0), ("entry_exit", 1), ("multi", 2)].into_iter().map(|(code, index)| view! {
                            <label>
                                <input type="radio" name="mode" value=code data-testid=format!("mode-{code}")
                                    prop:checked=move || mode.get() == code on:change=move |_| mode.set(code.to_owned()) />
                                {match index {
                                    0 => t_string!(i18n, mode_single),
                                    1 => t_string!(i18n, mode_entry_exit),
                                    _ => t_string!(i18n, mode_multi),
                                }}
                            </label>
                        }).collect_view()}
                        <Show when=move || mode.get() == "multi">
                            <label>{t!(i18n, multi_max_total)}<input type="number" min="1" bind:value=max_total /></label>
                            <label>{t!(i18n, multi_max_per_day)}<input type="number" min="1" bind:value=max_per_day /></label>
                        </Show>
                    </fieldset>
                }.into_any())}
                <button type="submit" class="primary" data-testid="start-door">{t!(i18n, scanner_start)}</button>
                {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="door-error">{e}</p> })}
            </form>
        </div>
    }
}

fn camera_error_text(i18n: leptos_i18n::I18nContext<Locale>, error: &CameraError) -> String {
    match error {
        CameraError::Unsupported => t_string!(i18n, camera_unsupported).to_string(),
        CameraError::PermissionDenied => t_string!(i18n, camera_denied).to_string(),
        CameraError::NoCamera => t_string!(i18n, camera_none).to_string(),
        CameraError::Busy => t_string!(i18n, camera_busy).to_string(),
        CameraError::Failed(why) => fill(t_string!(i18n, camera_failed), &[("why", why)]),
    }
}

/// The camera as an input: codes it reads are scans like any other.
#[component]
fn CameraPanel() -> impl IntoView {
    let i18n = use_i18n();
    let scanner = expect_context::<Scanner>();
    let video = NodeRef::<leptos::html::Video>::new();
    let running = RwSignal::new(false);
    let error = RwSignal::new(None::<CameraError>);
    // Dropped with the panel, which stops the camera and its decoder.
    #[cfg(feature = "hydrate")]
    let camera = StoredValue::new_local(None::<super::camera::Camera>);
    let toggle = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if running.get_untracked() {
                camera.set_value(None);
                running.set(false);
                return;
            }
            let Some(element) = video.get_untracked() else { return };
            error.set(None);
            running.set(true);
            leptos::task::spawn_local(async move {
                match super::camera::Camera::start(element, move |code| scanner.scan(code)).await {
                    Ok(started) => camera.set_value(Some(started)),
                    Err(e) => {
                        error.set(Some(e));
                        running.set(false);
                    }
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (scanner, video);
    };
    view! {
        <section class="camera">
            <button data-testid="camera" data-running=move || running.get().to_string() on:click=toggle>
                {move || if running.get() { t_string!(i18n, camera_stop) } else { t_string!(i18n, camera_start) }}
            </button>
            <video node_ref=video data-testid="camera-video" class:hidden=move || !running.get()></video>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="camera-error">{camera_error_text(i18n, &e)}</p> })}
        </section>
    }
}

/// The door at work.
#[component]
pub fn DoorView() -> impl IntoView {
    let i18n = use_i18n();
    let scanner = expect_context::<Scanner>();
    let typed = RwSignal::new(String::new());
    // The checkpoint's: a gate's mode comes from the back office, and may change by delta.
    let direction = move || {
        scanner.door.track();
        scanner.changed.track();
        scanner.checkpoint.with_value(|c| match c.as_ref().map(|c| c.mode) {
            Some(Mode::EntryExit { direction }) => Some(direction),
            _ => None,
        })
    };
    // The gate joined and the rules version the device decides with.
    let gate = move || {
        scanner.changed.track();
        let door = scanner.door.get()?;
        scanner.book.with_value(|b| b.gate(&door).map(|(g, set)| (g.rules.name.clone(), set.rules_version)))
    };
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let code = typed.get_untracked();
        typed.set(String::new());
        scanner.scan(code);
    };
    let titles = move || {
        scanner.door.with(|d| {
            d.as_ref()
                .map(|d| d.performances.iter().map(|p| scanner.performance_name(p.0)).collect::<Vec<_>>().join(" + "))
                .unwrap_or_default()
        })
    };
    let counter = move || scanner.counter();
    let conflicts = move || {
        scanner.changed.track();
        scanner.book.with_value(|b| b.conflicts())
    };
    // Scans keep waiting on the device until someone signs in again.
    let signin_needed = move || matches!(scanner.session.get(), Session::SignInNeeded(_)) && scanner.online.get();
    view! {
        <div class="door">
            <Show when=signin_needed>
                <SignInPanel />
            </Show>
            <p class="door-title">{titles}
                <button class="link-button" data-testid="change-door" on:click=move |_| scanner.close_door()>{t!(i18n, scanner_change_door)}</button>
            </p>
            {move || gate().map(|(name, version)| view! {
                <p class="door-gate" data-testid="door-gate" data-name=name.clone() data-rules-version=version.to_string()>
                    <strong>{name.clone()}</strong>" · "{fill(t_string!(i18n, scanner_rules_version), &[("version", &version.to_string())])}
                </p>
            })}
            <p class="counter" data-testid="device-counter" data-admitted=move || counter().admitted.to_string()>
                <span class="big">{move || counter().admitted}</span>" / "{move || counter().total}
                " "{t!(i18n, scanner_admitted)}
            </p>
            {move || direction().map(|d| {
                let next = if d == Direction::In { Direction::Out } else { Direction::In };
                view! {
                    <button class="direction" class:exit=d == Direction::Out data-testid="direction" data-direction=d.as_str()
                        on:click=move |_| scanner.set_direction(next)>
                        {if d == Direction::In { t_string!(i18n, direction_in) } else { t_string!(i18n, direction_out) }}
                    </button>
                }
            })}
            <form class="typed-entry" on:submit=check>
                <input data-testid="typed-number" inputmode="text" autocomplete="off" placeholder=move || t_string!(i18n, scanner_type_number)
                    bind:value=typed />
                <button type="submit">{t!(i18n, scanner_check)}</button>
            </form>
            <CameraPanel />
            <Show when=move || !conflicts().is_empty()>
                <section class="conflicts" data-testid="conflicts">
                    <h3>{t!(i18n, scanner_double_entries)}</h3>
                    <ul>{move || conflicts().into_iter().map(|c| view! { <li data-testid="conflict">{c}</li> }).collect_view()}</ul>
                </section>
            </Show>
            <SetAsideScans />
            <section class="recent">
                <h3>{t!(i18n, scanner_recent)}</h3>
                <ol data-testid="recent">
                    {move || scanner.recent().into_iter().map(|s| {
                        let verdict = s.scan.device_verdict.clone();
                        let (title, detail) = verdict_text(i18n, &verdict, zone(scanner), &|id| scanner.performance_name(id));
                        let time = chrono::DateTime::from_timestamp_millis(s.scan.scanned_at)
                            .map(|t| t.with_timezone(&zone(scanner)).format("%H:%M:%S").to_string())
                            .unwrap_or_default();
                        view! {
                            <li class=colour_code(verdict.colour()) data-reason=reason_code(&verdict) data-decided-by=super::decided_code(s.scan.decided)>
                                <span class="time">{time}</span>
                                <span class="number">{s.scan.barcode.clone()}</span>
                                <span class="reason">{title}" "{detail}</span>
                                <span class="decided">{super::decided_text(i18n, s.scan.decided)}</span>
                                {(!s.uploaded && super::decided_code(s.scan.decided) == "device").then(|| view! { <span class="badge">{t!(i18n, scanner_waiting)}</span> })}
                                {s.conflict.then(|| view! { <span class="badge anomaly">{t!(i18n, scanner_double_entry)}</span> })}
                                {s.set_aside.is_some().then(|| view! { <span class="badge anomaly">{t!(i18n, scanner_set_aside_badge)}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </section>
        </div>
    }
}

/// Scans kept on the device with why they are there, as a CSV download link's address, for
/// whoever sorts them out.
fn scans_csv(scans: &[(DeviceScan, String)]) -> String {
    let mut text = String::from("scan_id;barcode;device;scanned_at;reason\n");
    for (s, reason) in scans {
        let at = chrono::DateTime::from_timestamp_millis(s.scan.scanned_at).map(|t| t.to_rfc3339()).unwrap_or_default();
        let cells = [s.scan.scan_id.as_str(), s.scan.barcode.as_str(), s.scan.device.as_str(), at.as_str(), reason.as_str()];
        let quoted: Vec<String> = cells.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
        text.push_str(&quoted.join(";"));
        text.push('\n');
    }
    format!("data:text/csv;charset=utf-8,{}", String::from(js_sys::encode_uri_component(&text)))
}

/// Scans queued under another login than the one signed in (or under any, when nobody is):
/// they wait for that login, counted and downloadable.
#[component]
pub fn WaitingForLogins() -> impl IntoView {
    let i18n = use_i18n();
    let scanner = expect_context::<Scanner>();
    move || {
        scanner.waiting_for_others().into_iter().map(|(login, scans)| {
            let count = scans.len().to_string();
            let reason = fill(t_string!(i18n, err_scanned_under_another_login), &[("login", &login.name)]);
            let rows: Vec<(DeviceScan, String)> = scans.into_iter().map(|s| (s, reason.clone())).collect();
            view! {
                <section class="waiting-for-login" data-testid="waiting-for-login" data-login=login.name.clone() data-count=count.clone()>
                    <h3>{fill(t_string!(i18n, scanner_waiting_for_login), &[("count", &count), ("login", &login.name)])}</h3>
                    <p>{t!(i18n, scanner_waiting_for_login_help)}</p>
                    <a class="link-button" download=format!("billetix-scans-{}.csv", login.name) href=scans_csv(&rows)
                        data-testid="waiting-download">
                        {t!(i18n, scanner_set_aside_download)}
                    </a>
                </section>
            }
        }).collect_view()
    }
}

/// Scans the server refused for good (their performance closed for scanning, say): listed
/// with the reason, and downloadable as a CSV for whoever sorts them out.
#[component]
fn SetAsideScans() -> impl IntoView {
    let i18n = use_i18n();
    let scanner = expect_context::<Scanner>();
    let scans = move || scanner.set_aside();
    let csv = move || {
        let rows: Vec<(DeviceScan, String)> = scans()
            .into_iter()
            .map(|s| {
                let reason = s.set_aside.as_ref().map(|e| crate::components::error_text::error_text(i18n, e)).unwrap_or_default();
                (s, reason)
            })
            .collect();
        scans_csv(&rows)
    };
    view! {
        <Show when=move || !scans().is_empty()>
            <section class="set-aside" data-testid="set-aside">
                <h3>{t!(i18n, scanner_set_aside)}" ("<span data-testid="set-aside-count">{move || scans().len()}</span>")"</h3>
                <p>{t!(i18n, scanner_set_aside_help)}</p>
                <ul>
                    {move || scans().into_iter().map(|s| {
                        let reason = s.set_aside.as_ref().map(|e| crate::components::error_text::error_text(i18n, e)).unwrap_or_default();
                        view! { <li data-testid="set-aside-scan"><span class="number">{s.scan.barcode.clone()}</span>" "<span class="reason">{reason}</span></li> }
                    }).collect_view()}
                </ul>
                <a class="link-button" download="billetix-set-aside-scans.csv" href=csv data-testid="set-aside-download">
                    {t!(i18n, scanner_set_aside_download)}
                </a>
            </section>
        </Show>
    }
}

/// The whole screen in the verdict's colour, with the reason in words; a tap dismisses it.
#[component]
pub fn VerdictOverlay() -> impl IntoView {
    let i18n = use_i18n();
    let scanner = expect_context::<Scanner>();
    move || {
        scanner.shown.get().map(|shown| {
            let (title, detail) = verdict_text(i18n, &shown.verdict, zone(scanner), &|id| scanner.performance_name(id));
            view! {
                <div class=format!("verdict {}", colour_code(shown.verdict.colour())) data-testid="verdict"
                    data-colour=colour_code(shown.verdict.colour()) data-reason=reason_code(&shown.verdict)
                    data-scan=shown.scan_id.clone() data-decided-ms=shown.decided_in_ms.to_string()
                    data-decided-by=super::decided_code(shown.decided) role="alert" on:click=move |_| scanner.shown.set(None)>
                    <p class="verdict-title">{title}</p>
                    <p class="verdict-detail">{detail}</p>
                    {shown.instruction.clone().map(|i| view! { <p class="verdict-instruction" data-testid="verdict-instruction">{i}</p> })}
                    <p class="verdict-number">{shown.barcode.clone()}</p>
                    <p class="verdict-decided" data-testid="verdict-decided">{super::decided_text(i18n, shown.decided)}</p>
                </div>
            }
        })
    }
}

//! What a steward sees and hears of a verdict: the reason in words, a sound and a vibration.

use chrono_tz::Tz;
use leptos_i18n::I18nContext;

use billetix_core::engine::{Colour, Direction, Refusal, Verdict};

use crate::components::error_text::fill;
use crate::i18n::*;

/// The verdict's headline and, where there is one, its detail line.
pub fn verdict_text(i18n: I18nContext<Locale>, verdict: &Verdict, zone: Tz, performance_name: &dyn Fn(i64) -> String) -> (String, String) {
    let local = |at: &chrono::DateTime<chrono::Utc>| at.with_timezone(&zone).format("%d/%m %H:%M:%S").to_string();
    let refused = t_string!(i18n, verdict_refused).to_string();
    match verdict {
        Verdict::Accepted { direction: Direction::In } => (t_string!(i18n, verdict_welcome).to_string(), String::new()),
        Verdict::Accepted { direction: Direction::Out } => (t_string!(i18n, verdict_exit_ok).to_string(), String::new()),
        Verdict::Refused { reason } => {
            let detail = match reason {
                Refusal::AlreadyScanned { first_at, device } => {
                    fill(t_string!(i18n, reason_already_scanned), &[("time", &local(first_at)), ("device", device)])
                }
                Refusal::Cancelled => t_string!(i18n, reason_cancelled).to_string(),
                Refusal::Reissued => t_string!(i18n, reason_reissued).to_string(),
                Refusal::UnknownNumber => t_string!(i18n, reason_unknown_number).to_string(),
                Refusal::UnknownStateTicket => t_string!(i18n, reason_unknown_state).to_string(),
                Refusal::FilteredCategory { category } => fill(t_string!(i18n, reason_filtered), &[("category", category)]),
                Refusal::OtherPerformance { performance } => {
                    fill(t_string!(i18n, reason_other_performance), &[("performance", &performance_name(performance.0))])
                }
                Refusal::PerformanceNotUnderControl => t_string!(i18n, reason_not_under_control).to_string(),
                Refusal::ExitWithoutEntry => t_string!(i18n, reason_exit_without_entry).to_string(),
                Refusal::AlreadyInside => t_string!(i18n, reason_already_inside).to_string(),
                Refusal::TotalQuotaReached { max } => fill(t_string!(i18n, reason_total_quota), &[("max", &max.to_string())]),
                Refusal::DailyQuotaReached { max } => fill(t_string!(i18n, reason_daily_quota), &[("max", &max.to_string())]),
                Refusal::NotValidNow { from, to } => fill(t_string!(i18n, reason_not_valid_now), &[("from", &local(from)), ("to", &local(to))]),
                Refusal::WrongEntrance { .. } | Refusal::TooEarly { .. } | Refusal::TooLate { .. } => gate_reason_text(i18n, reason),
            };
            (refused, detail)
        }
    }
}

/// The words for a gate's refusals (the door's and the report's); empty for other reasons.
pub fn gate_reason_text(i18n: I18nContext<Locale>, reason: &Refusal) -> String {
    match reason {
        Refusal::WrongEntrance { category, gates } if gates.is_empty() => fill(t_string!(i18n, reason_wrong_entrance_nowhere), &[("category", category)]),
        Refusal::WrongEntrance { category, gates } => fill(t_string!(i18n, reason_wrong_entrance), &[("category", category), ("gates", &gates.join(", "))]),
        Refusal::TooEarly { opens } => fill(t_string!(i18n, reason_too_early), &[("time", &opens.format("%H:%M").to_string())]),
        Refusal::TooLate { last_entry } => fill(t_string!(i18n, reason_too_late), &[("time", &last_entry.format("%H:%M").to_string())]),
        _ => String::new(),
    }
}

/// A short machine name for the reason, for styling and tests.
pub fn reason_code(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Accepted { direction: Direction::In } => "accepted_in",
        Verdict::Accepted { direction: Direction::Out } => "accepted_out",
        Verdict::Refused { reason } => match reason {
            Refusal::AlreadyScanned { .. } => "already_scanned",
            Refusal::Cancelled => "cancelled",
            Refusal::Reissued => "reissued",
            Refusal::UnknownNumber => "unknown_number",
            Refusal::UnknownStateTicket => "unknown_state_ticket",
            Refusal::FilteredCategory { .. } => "filtered_category",
            Refusal::OtherPerformance { .. } => "other_performance",
            Refusal::PerformanceNotUnderControl => "performance_not_under_control",
            Refusal::ExitWithoutEntry => "exit_without_entry",
            Refusal::AlreadyInside => "already_inside",
            Refusal::TotalQuotaReached { .. } => "total_quota_reached",
            Refusal::DailyQuotaReached { .. } => "daily_quota_reached",
            Refusal::NotValidNow { .. } => "not_valid_now",
            Refusal::WrongEntrance { .. } => "wrong_entrance",
            Refusal::TooEarly { .. } => "too_early",
            Refusal::TooLate { .. } => "too_late",
        },
    }
}

pub fn colour_code(colour: Colour) -> &'static str {
    match colour {
        Colour::Green => "green",
        Colour::Red => "red",
        Colour::Orange => "orange",
    }
}

/// A beep and a buzz a steward can tell apart without looking: one high note for yes, two
/// low ones for no, a middle one for "look at this".
#[cfg(feature = "hydrate")]
pub fn sound_and_vibrate(colour: Colour) {
    use std::cell::RefCell;
    thread_local! {
        // One audio context for the page: browsers limit how many may exist.
        static AUDIO: RefCell<Option<web_sys::AudioContext>> = const { RefCell::new(None) };
    }
    let (notes, pattern): (&[(f32, f64)], &[u32]) = match colour {
        Colour::Green => (&[(1_320.0, 0.12)], &[80]),
        Colour::Red => (&[(220.0, 0.18), (180.0, 0.25)], &[200, 80, 200]),
        Colour::Orange => (&[(660.0, 0.3)], &[120, 60, 120]),
    };
    AUDIO.with(|audio| {
        let mut audio = audio.borrow_mut();
        if audio.is_none() {
            *audio = web_sys::AudioContext::new().ok();
        }
        if let Some(context) = audio.as_ref() {
            let mut start = context.current_time();
            for (frequency, length) in notes {
                let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain()) else { return };
                oscillator.frequency().set_value(*frequency);
                gain.gain().set_value(0.2);
                let _ = oscillator.connect_with_audio_node(&gain);
                let _ = gain.connect_with_audio_node(&context.destination());
                let _ = oscillator.start_with_when(start);
                let _ = oscillator.stop_with_when(start + length);
                start += length + 0.05;
            }
        }
    });
    if let Some(window) = web_sys::window() {
        let pattern: js_sys::Array = pattern.iter().map(|ms| wasm_bindgen::JsValue::from(*ms)).collect();
        let _ = window.navigator().vibrate_with_pattern(&pattern);
    }
}

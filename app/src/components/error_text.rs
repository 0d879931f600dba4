//! Every error a person can see, in their language, saying what to do.

use billetix_core::domain::ParseFailure;
use leptos::prelude::*;
use leptos_i18n::I18nContext;

use crate::error::AppError;
use crate::i18n::*;

pub fn error_text(i18n: I18nContext<Locale>, error: &AppError) -> String {
    match error {
        AppError::NotSignedIn => t_string!(i18n, err_not_signed_in).to_string(),
        AppError::SignedInElsewhere => t_string!(i18n, err_signed_in_elsewhere).to_string(),
        AppError::WrongCredentials => t_string!(i18n, err_wrong_credentials).to_string(),
        AppError::LoginDisabled => t_string!(i18n, err_login_disabled).to_string(),
        AppError::TooManyAttempts { retry_after_secs } if *retry_after_secs < 120 => {
            fill(t_string!(i18n, err_too_many_attempts_seconds), &[("seconds", &retry_after_secs.max(&1).to_string())])
        }
        AppError::TooManyAttempts { retry_after_secs } => {
            let minutes = retry_after_secs.div_ceil(60);
            fill(t_string!(i18n, err_too_many_attempts), &[("minutes", &minutes.to_string())])
        }
        AppError::Forbidden => t_string!(i18n, err_forbidden).to_string(),
        AppError::NotFound => t_string!(i18n, err_not_found).to_string(),
        AppError::ClosedForScanning => t_string!(i18n, err_closed_for_scanning).to_string(),
        AppError::ScannedUnderAnotherLogin { login } => fill(t_string!(i18n, err_scanned_under_another_login), &[("login", login)]),
        AppError::Unavailable => t_string!(i18n, err_unavailable).to_string(),
        AppError::DetachNeedsConfirmation { passes } => {
            fill(t_string!(i18n, err_detach_needs_confirmation), &[("passes", &passes.to_string())])
        }
        AppError::AlreadyExists(what) => fill(t_string!(i18n, err_already_exists), &[("what", what)]),
        AppError::InvalidInput { field, reason } => {
            let field = field_label(i18n, field);
            let reason = failure_text(i18n, *reason);
            fill(t_string!(i18n, err_invalid_input), &[("field", &field), ("reason", &reason)])
        }
        AppError::SourceSettings { field, cause } => {
            fill(t_string!(i18n, err_source_settings), &[("field", &source_field_label(i18n, field)), ("cause", cause)])
        }
        AppError::Partner(why) => fill(t_string!(i18n, err_partner), &[("why", why)]),
        AppError::FileTooLarge { max_mb } => fill(t_string!(i18n, err_file_too_large), &[("max", &max_mb.to_string())]),
        AppError::FileUnreadable(why) => fill(t_string!(i18n, err_file_unreadable), &[("why", why)]),
        AppError::FileRejected { rows, more } => {
            let lines: Vec<String> = rows.iter().map(|r| fill(t_string!(i18n, rejected_row), &[("line", &r.line.to_string()), ("reason", &r.reason)])).collect();
            let mut text = fill(t_string!(i18n, err_file_rejected), &[("count", &(rows.len() as u64 + more).to_string())]);
            text.push(' ');
            text.push_str(&lines.join(" · "));
            if *more > 0 {
                text.push_str(&format!(" … (+{more})"));
            }
            text
        }
        AppError::Internal => t_string!(i18n, err_internal).to_string(),
        AppError::Communication(_) => t_string!(i18n, err_communication).to_string(),
    }
}

/// Puts values into a translated text's `%name%` slots.
pub fn fill(text: impl std::fmt::Display, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(text.to_string(), |text, (name, value)| text.replace(&format!("%{name}%"), value))
}

fn field_label(i18n: I18nContext<Locale>, field: &str) -> String {
    match field {
        "login" => t_string!(i18n, field_login).to_string(),
        "password" => t_string!(i18n, field_password).to_string(),
        "name" => t_string!(i18n, field_name).to_string(),
        "barcode" => t_string!(i18n, field_barcode).to_string(),
        other => other.to_owned(),
    }
}

/// A source parameter's label in the person's language.
pub fn source_field_label(i18n: I18nContext<Locale>, field: &str) -> String {
    let french = i18n.get_locale() == Locale::fr;
    billetix_core::domain::SourceKind::ALL
        .iter()
        .flat_map(|k| k.fields().iter().chain(k.attachment_fields()))
        .find(|f| f.name == field)
        .map_or_else(|| field.to_owned(), |f| if french { f.label_fr } else { f.label_en }.to_owned())
}

fn failure_text(i18n: I18nContext<Locale>, failure: ParseFailure) -> String {
    match failure {
        ParseFailure::Empty => t_string!(i18n, fail_empty).to_string(),
        ParseFailure::TooShort { min } => fill(t_string!(i18n, fail_too_short), &[("min", &min.to_string())]),
        ParseFailure::TooLong { max } => fill(t_string!(i18n, fail_too_long), &[("max", &max.to_string())]),
        ParseFailure::BadCharacters => t_string!(i18n, fail_bad_characters).to_string(),
        ParseFailure::OutOfRange { min, max } => {
            fill(t_string!(i18n, fail_out_of_range), &[("min", &min.to_string()), ("max", &max.to_string())])
        }
    }
}

/// A red message line, empty when there is nothing to say.
#[component]
pub fn ErrorLine(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().map(|e| {
            view! { <p class="error" role="alert">{error_text(i18n, &e)}</p> }
        })
    }
}

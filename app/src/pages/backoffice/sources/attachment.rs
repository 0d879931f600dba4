//! One source attached to a performance: ticket counts, last refresh and its result, and for
//! admins refresh and detach; a file source's upload box.

use leptos::prelude::*;

use billetix_core::domain::AttachmentView;

use super::api::{DetachSource, RefreshSource};
use super::fields::kind_title;
use super::panel::PanelActions;
use super::upload::FileUpload;
use crate::components::error_text::fill;
use crate::i18n::*;

/// A time in the browser's zone (a refresh is the server's, not a venue's).
fn format_millis(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.with_timezone(&chrono::Local).format("%d/%m/%Y %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Without `manage` (not an admin of the institution) the line only shows how imports went.
#[component]
pub(super) fn AttachmentLine(attachment: AttachmentView, manage: bool, actions: PanelActions, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let a = attachment;
    let (performance, source, passes) = (a.performance, a.source, a.passes);
    let last = match a.last_refresh_at {
        Some(at) => format_millis(at),
        None => t_string!(i18n, never).to_string(),
    };
    let detach = move |_| {
        let question = if passes > 0 {
            fill(t_string!(i18n, confirm_detach_with_passes), &[("passes", &passes.to_string())])
        } else {
            t_string!(i18n, confirm_detach).to_string()
        };
        if window().confirm_with_message(&question).unwrap_or(false) {
            actions.detach.dispatch(DetachSource { performance, source, passes_confirmed: Some(passes) });
        }
    };
    let refresh = move |_| {
        actions.refresh.dispatch(RefreshSource { performance, source });
    };
    let is_file = a.kind.is_file();
    view! {
        <li data-attachment=a.name.clone() data-testid="attachment">
            <strong>{a.name.clone()}</strong> " (" {kind_title(i18n, a.kind)} ") · "
            {t!(i18n, tickets_count)} ": " <span data-testid="attachment-tickets">{a.tickets}</span>
            {(a.duplicates > 0).then(|| view! { " · " {t!(i18n, duplicates_count)} ": " {a.duplicates} })}
            " · " {t!(i18n, last_refresh)} ": " {last}
            {a.running.then(|| view! { " " <progress data-testid="refresh-progress"></progress> " " {a.progress} })}
            {a.last_error.clone().map(|e| view! { <p class="error" data-testid="attachment-error">{e}</p> })}
            {a.push_error.clone().map(|e| view! { <p class="error">{t!(i18n, push_failed)} " " {e}</p> })}
            {manage.then(|| view! {
                <div>
                    <Show when=move || !is_file>
                        <button type="button" data-testid="refresh-now" on:click=refresh>{t!(i18n, refresh_now)}</button>
                    </Show>
                    <button type="button" class="danger" on:click=detach>{t!(i18n, detach)}</button>
                </div>
            })}
            {is_file.then(|| view! { <FileUpload performance source done=reload /> }.into_any())}
        </li>
    }
}

//! The sources of one performance, in its grid line: how its imports went and, for the
//! institution's admins, attach, detach and refresh.

use leptos::prelude::*;

use billetix_core::domain::{FieldValues, SourceView};
use billetix_core::engine::PerformanceId;

use super::api::{AttachSource, DetachSource, RefreshSource, performance_sources};
use super::attachment::AttachmentLine;
use super::fields::field_inputs;
use crate::components::answers::{on_success, show_answers};
use crate::components::error_text::{ErrorLine, error_text};
use crate::error::AppError;
use crate::i18n::*;

/// The panel's writes: after each success the panel and the grid are read again.
#[derive(Clone, Copy)]
pub(super) struct PanelActions {
    pub attach: ServerAction<AttachSource>,
    pub detach: ServerAction<DetachSource>,
    pub refresh: ServerAction<RefreshSource>,
}

#[component]
pub fn PerformanceSourcesPanel(
    performance: PerformanceId,
    changed: Callback<()>,
    /// Performances whose box is open: kept by the grid, so a refreshed row stays open.
    open_panels: RwSignal<std::collections::HashSet<PerformanceId>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = Signal::derive(move || open_panels.with(|p| p.contains(&performance)));
    let (error, set_error) = signal(None::<AppError>);
    let actions = PanelActions { attach: ServerAction::new(), detach: ServerAction::new(), refresh: ServerAction::new() };
    let reloaded = RwSignal::new(0u32);
    let reload = move || {
        reloaded.update(|v| *v += 1);
        changed.run(());
    };
    show_answers(actions.attach, set_error);
    show_answers(actions.detach, set_error);
    show_answers(actions.refresh, set_error);
    on_success(actions.attach, move |_| reload());
    on_success(actions.detach, move |_| reload());
    on_success(actions.refresh, move |_| reload());
    let data = Resource::new(move || (open.get(), reloaded.get()), move |(open, _)| async move {
        if open { performance_sources(performance).await.map(Some) } else { Ok(None) }
    });
    // While an import runs, look again every second for its progress.
    Effect::new(move || {
        let running = data.get().and_then(|r| r.ok()).flatten().is_some_and(|d| d.attached.iter().any(|a| a.running));
        if running {
            set_timeout(move || reloaded.update(|v| *v += 1), std::time::Duration::from_secs(1));
        }
    });
    view! {
        <details class="sources" data-testid="performance-sources" prop:open=move || open.get()>
            <summary on:click=move |ev| {
                // The grid's set decides, not the browser's own toggle.
                ev.prevent_default();
                open_panels.update(|p| if !p.remove(&performance) { p.insert(performance); });
            }>{t!(i18n, sources_button)}</summary>
            <ErrorLine error />
            <Transition>
                {move || data.get().map(|r| match r {
                    Ok(Some(d)) => {
                        let manage = d.manage;
                        view! {
                            <ul class="attachments">{d.attached.into_iter().map(|attachment| view! {
                                <AttachmentLine attachment manage actions reload=Callback::new(move |()| reload()) />
                            }).collect_view()}</ul>
                            {manage.then(|| view! { <AttachForm performance available=d.available action=actions.attach /> })}
                        }.into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <p class="error">{error_text(i18n, &e)}</p> }.into_any(),
                })}
            </Transition>
        </details>
    }
}

/// Attaches one of the institution's other sources, with the options its kind asks for.
#[component]
fn AttachForm(performance: PerformanceId, available: Vec<SourceView>, action: ServerAction<AttachSource>) -> impl IntoView {
    let i18n = use_i18n();
    let choice = RwSignal::new(None::<SourceView>);
    let options = RwSignal::new(FieldValues::new());
    let attach = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(source) = choice.get_untracked() else { return };
        action.dispatch(AttachSource { performance, source: source.id, options: options.get_untracked() });
    };
    let choices = available.iter().map(|s| view! { <option value=s.id.to_string()>{s.name.clone()}</option> }).collect_view();
    view! {
        <form class="attach" on:submit=attach data-testid="attach-form">
            <select name="attach-source" on:change=move |ev| {
                let id = event_target_value(&ev).parse::<i64>().ok();
                choice.set(available.iter().find(|s| Some(s.id.0) == id).cloned());
                options.set(FieldValues::new());
            }>
                <option value="">"—"</option>
                {choices}
            </select>
            {move || choice.get().map(|s| field_inputs(s.kind.attachment_fields(), options, Vec::new()))}
            <button type="submit">{t!(i18n, attach_source)}</button>
        </form>
    }
}

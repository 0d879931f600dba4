//! The institution's sources tab: its sources, each to edit or delete, and the add button.

use leptos::prelude::*;

use billetix_core::domain::{InstitutionId, SourceView};

use super::api::{DeleteSource, institution_sources};
use super::fields::kind_title;
use super::source_form::SourceForm;
use crate::components::answers::{on_success, show_answers};
use crate::components::error_text::ErrorLine;
use crate::error::AppError;
use crate::i18n::*;

#[component]
pub fn SourcesTab(institution: InstitutionId) -> impl IntoView {
    let i18n = use_i18n();
    let saved = RwSignal::new(0u32);
    let delete = ServerAction::<DeleteSource>::new();
    let sources = Resource::new(move || (saved.get(), delete.version().get()), move |_| institution_sources(institution));
    // `Some(None)`: a new source; `Some(Some(s))`: editing `s`.
    let editing = RwSignal::new(None::<Option<SourceView>>);
    let (error, set_error) = signal(None::<AppError>);
    let done = Callback::new(move |()| {
        editing.set(None);
        saved.update(|v| *v += 1);
    });
    show_answers(delete, set_error);
    on_success(delete, move |_| done.run(()));
    let row = move |source: SourceView| view! { <SourceLine source editing delete /> };
    view! {
        <section data-testid="sources-tab">
            <ErrorLine error />
            <table class="grid" data-testid="sources">
                <thead><tr><th>{t!(i18n, source_name)}</th><th>{t!(i18n, source_kind)}</th><th></th></tr></thead>
                <tbody>
                    <Transition>
                        {move || sources.get().map(|r| match r {
                            Ok(list) if list.is_empty() => view! { <tr><td colspan="3" class="empty">{t!(i18n, sources_none)}</td></tr> }.into_any(),
                            Ok(list) => list.into_iter().map(row).collect_view().into_any(),
                            Err(e) => { set_error.set(Some(e)); ().into_any() }
                        })}
                    </Transition>
                </tbody>
            </table>
            {move || match editing.get() {
                Some(source) => view! { <SourceForm institution editing=source done /> }.into_any(),
                None => view! {
                    <button data-testid="add-source" on:click=move |_| editing.set(Some(None))>{t!(i18n, add_source)}</button>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn SourceLine(source: SourceView, editing: RwSignal<Option<Option<SourceView>>>, delete: ServerAction<DeleteSource>) -> impl IntoView {
    let i18n = use_i18n();
    let id = source.id;
    let remove = move |_| {
        if window().confirm_with_message(&t_string!(i18n, confirm_delete_source).to_string()).unwrap_or(false) {
            delete.dispatch(DeleteSource { source: id });
        }
    };
    view! {
        <tr data-source=source.name.clone()>
            <td>{source.name.clone()}</td><td>{kind_title(i18n, source.kind)}</td>
            <td>
                <button on:click={
                    let source = source.clone();
                    move |_| editing.set(Some(Some(source.clone())))
                }>{t!(i18n, edit)}</button>
                <button class="danger" on:click=remove>{t!(i18n, delete)}</button>
            </td>
        </tr>
    }
}

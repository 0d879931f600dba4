//! The category checkboxes of one performance: tickets of an excluded category are refused
//! as "filtered".

use leptos::prelude::*;

use billetix_core::engine::PerformanceId;

use super::api::{SetCategoryFilters, category_filters};
use crate::components::answers::{on_success, show_answers};
use crate::error::AppError;
use crate::i18n::*;

#[component]
pub(super) fn CategoryFilters(performance: PerformanceId, changed: Callback<()>, error: WriteSignal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let set_filters = ServerAction::<SetCategoryFilters>::new();
    show_answers(set_filters, error);
    on_success(set_filters, move |_| changed.run(()));
    let categories = Resource::new(move || set_filters.version().get(), move |_| category_filters(performance));
    view! {
        <details class="filters" data-testid="filters">
            <summary>{t!(i18n, category_filters)}</summary>
            <Transition>
                {move || categories.get().and_then(|c| c.ok()).map(|list| {
                    let all = list.clone();
                    list.into_iter().map(|(category, excluded)| {
                        let all = all.clone();
                        let name = category.clone();
                        let toggle = move |ev: leptos::ev::Event| {
                            let exclude = event_target_checked(&ev);
                            let excluded = all
                                .iter()
                                .filter(|(c, e)| if *c == name { exclude } else { *e })
                                .map(|(c, _)| c.clone())
                                .collect();
                            set_filters.dispatch(SetCategoryFilters { performance, excluded });
                        };
                        view! {
                            <label class="check">
                                <input type="checkbox" data-category=category.clone() prop:checked=excluded on:change=toggle />
                                {t!(i18n, exclude)} " " {category}
                            </label>
                        }
                    }).collect_view()
                })}
            </Transition>
        </details>
    }
}

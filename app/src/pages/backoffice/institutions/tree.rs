//! The institution tree on the left of the back office.

use leptos::prelude::*;

use billetix_core::domain::InstitutionId;

use super::api::InstitutionView;

/// The tree, nested by parent; roots are the nodes whose parent the login cannot see.
#[component]
pub fn InstitutionTree(
    institutions: Vec<InstitutionView>,
    selected: RwSignal<Option<InstitutionId>>,
) -> impl IntoView {
    let top: Vec<InstitutionView> = institutions
        .iter()
        .filter(|i| i.parent.is_none_or(|p| !institutions.iter().any(|o| o.id == p)))
        .cloned()
        .collect();
    view! { <ul class="tree" data-testid="institution-tree">{branch_views(&institutions, top, selected)}</ul> }
}

fn branch_views(
    all: &[InstitutionView],
    level: Vec<InstitutionView>,
    selected: RwSignal<Option<InstitutionId>>,
) -> Vec<AnyView> {
    level
        .into_iter()
        .map(|node| {
            let id = node.id;
            let children: Vec<InstitutionView> =
                all.iter().filter(|c| c.parent == Some(id)).cloned().collect();
            let nested = (!children.is_empty())
                .then(|| view! { <ul>{branch_views(all, children, selected)}</ul> });
            view! {
                <li>
                    <button class="node" class:selected=move || selected.get() == Some(id)
                        on:click=move |_| selected.set(Some(id))>{node.name}</button>
                    {nested}
                </li>
            }
            .into_any()
        })
        .collect()
}

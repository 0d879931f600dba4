//! The institution tree: listing what a login may see, creating and renaming institutions.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use billetix_core::domain::InstitutionId;

use crate::components::error_text::ErrorLine;
use crate::error::AppError;
use crate::i18n::*;

/// One institution as a given login sees it, with what that login may do there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionView {
    pub id: InstitutionId,
    pub parent: Option<InstitutionId>,
    pub name: String,
    pub can_create_child: bool,
    pub can_rename: bool,
    pub can_administer: bool,
}

#[cfg(feature = "ssr")]
async fn view_of(
    storage: &dyn crate::ssr::storage::Storage,
    actor: &billetix_core::authorization::Actor,
    institution: billetix_core::domain::Institution,
) -> Result<InstitutionView, AppError> {
    let place = crate::ssr::ancestry_of(storage, institution.id).await?;
    Ok(InstitutionView {
        id: institution.id,
        parent: institution.parent,
        name: institution.name.to_string(),
        can_create_child: actor.can_create_child_of(&place),
        can_rename: actor.can_rename(&place),
        can_administer: actor.can_administer(&place),
    })
}

/// Everything the caller may open in the back office: their Master branch, plus each
/// institution where they have back-office access.
#[server(endpoint = "list_institutions", input = leptos::server_fn::codec::Json)]
pub async fn list_institutions() -> Result<Vec<InstitutionView>, AppError> {
    use crate::ssr::{context, session::current_actor};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let mut visible = match actor.master_of {
        Some(branch) => storage.branch(branch).await?,
        None => Vec::new(),
    };
    let member_ids: Vec<InstitutionId> = actor
        .memberships
        .iter()
        .filter(|(id, rights)| rights.backoffice && !visible.iter().any(|i| i.id == *id))
        .map(|(id, _)| *id)
        .collect();
    visible.extend(storage.institutions(&member_ids).await?);
    let mut views = Vec::with_capacity(visible.len());
    for institution in visible {
        views.push(view_of(storage.as_ref(), &actor, institution).await?);
    }
    views.sort_by_key(|v| v.name.to_lowercase());
    Ok(views)
}

#[server(endpoint = "create_institution", input = leptos::server_fn::codec::Json)]
pub async fn create_institution(parent: InstitutionId, name: String) -> Result<InstitutionView, AppError> {
    use billetix_core::domain::InstitutionName;

    use crate::ssr::{ancestry_of, context, session::current_actor};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let name = InstitutionName::parse(&name)?;
    let place = ancestry_of(storage.as_ref(), parent).await?;
    if !actor.can_create_child_of(&place) {
        return Err(AppError::Forbidden);
    }
    let created = storage.create_institution(Some(parent), &name).await?;
    tracing::info!(id = %created.id, parent = %parent, "institution created");
    view_of(storage.as_ref(), &actor, created).await
}

#[server(endpoint = "rename_institution", input = leptos::server_fn::codec::Json)]
pub async fn rename_institution(id: InstitutionId, name: String) -> Result<(), AppError> {
    use billetix_core::domain::InstitutionName;

    use crate::ssr::{ancestry_of, context, session::current_actor};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let name = InstitutionName::parse(&name)?;
    let place = ancestry_of(storage.as_ref(), id).await?;
    if !actor.can_rename(&place) {
        return Err(AppError::Forbidden);
    }
    Ok(storage.rename_institution(id, &name).await?)
}

/// How long the institution's scanners wait for the server's verdict (ms).
#[server(endpoint = "scan_deadline", input = leptos::server_fn::codec::Json)]
pub async fn scan_deadline(institution: InstitutionId) -> Result<u32, AppError> {
    use crate::ssr::{ancestry_of, context, session::current_actor};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let place = ancestry_of(storage.as_ref(), institution).await?;
    if !actor.can_use_backoffice(&place) {
        return Err(AppError::Forbidden);
    }
    Ok(storage.scan_deadline(institution).await?)
}

/// Sets it, for the institution's admins; devices learn it with their next delta.
#[server(endpoint = "set_scan_deadline", input = leptos::server_fn::codec::Json)]
pub async fn set_scan_deadline(institution: InstitutionId, deadline_ms: u32) -> Result<(), AppError> {
    use crate::ssr::{ancestry_of, context, session::current_actor};
    use crate::sync::protocol::SCAN_DEADLINE_RANGE_MS;
    let storage = context()?.storage;
    let actor = current_actor().await?;
    if !SCAN_DEADLINE_RANGE_MS.contains(&deadline_ms) {
        let reason = billetix_core::domain::ParseFailure::OutOfRange { min: *SCAN_DEADLINE_RANGE_MS.start(), max: *SCAN_DEADLINE_RANGE_MS.end() };
        return Err(AppError::InvalidInput { field: "scan_deadline_ms".to_owned(), reason });
    }
    let place = ancestry_of(storage.as_ref(), institution).await?;
    if !actor.can_administer(&place) {
        return Err(AppError::Forbidden);
    }
    storage.set_scan_deadline(institution, deadline_ms).await?;
    tracing::info!(%institution, deadline_ms, "scan deadline set");
    Ok(())
}

/// Remembers the institution last worked on, so the back office reopens there.
#[server(endpoint = "open_institution", input = leptos::server_fn::codec::Json)]
pub async fn open_institution(id: InstitutionId) -> Result<(), AppError> {
    use crate::ssr::{ancestry_of, context, session::current_actor};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let place = ancestry_of(storage.as_ref(), id).await?;
    if !actor.can_use_backoffice(&place) {
        return Err(AppError::Forbidden);
    }
    Ok(storage.set_last_institution(actor.login_id, id).await?)
}

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

/// Rename the selected institution and add sub-institutions, where the login may.
#[component]
pub fn InstitutionForms(institution: InstitutionView, on_change: Callback<InstitutionId>) -> impl IntoView {
    let i18n = use_i18n();
    let id = institution.id;
    let (new_name, set_new_name) = signal(institution.name.clone());
    let (child_name, set_child_name) = signal(String::new());
    let (error, set_error) = signal(None::<AppError>);

    let rename = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            match rename_institution(id, new_name.get_untracked()).await {
                Ok(()) => {
                    set_error.set(None);
                    on_change.run(id);
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            match create_institution(id, child_name.get_untracked()).await {
                Ok(created) => {
                    set_error.set(None);
                    set_child_name.set(String::new());
                    on_change.run(created.id);
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };

    view! {
        <div class="forms">
            <Show when=move || institution.can_rename>
                <form class="inline" on:submit=rename data-testid="rename-form">
                    <input name="name" prop:value=new_name on:input=move |ev| set_new_name.set(event_target_value(&ev)) />
                    <button type="submit">{t!(i18n, rename)}</button>
                </form>
            </Show>
            <Show when=move || institution.can_create_child>
                <form class="inline" on:submit=create data-testid="create-child-form">
                    <input name="child" placeholder=move || t_string!(i18n, new_sub_institution_name)
                        prop:value=child_name on:input=move |ev| set_child_name.set(event_target_value(&ev)) />
                    <button type="submit">{t!(i18n, add_sub_institution)}</button>
                </form>
            </Show>
            <Show when=move || institution.can_administer>
                <ScanDeadlineForm institution=id />
            </Show>
            <ErrorLine error />
        </div>
    }
}

/// The institution's scan deadline, for its admins.
#[component]
fn ScanDeadlineForm(institution: InstitutionId) -> impl IntoView {
    let i18n = use_i18n();
    let typed = RwSignal::new(String::new());
    let (error, set_error) = signal(None::<AppError>);
    let saved = RwSignal::new(false);
    let current = Resource::new(move || institution, scan_deadline);
    Effect::new(move || {
        if let Some(Ok(ms)) = current.get() {
            typed.set(ms.to_string());
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let Ok(ms) = typed.get_untracked().trim().parse::<u32>() else {
            let (min, max) = (*crate::sync::protocol::SCAN_DEADLINE_RANGE_MS.start(), *crate::sync::protocol::SCAN_DEADLINE_RANGE_MS.end());
            set_error.set(Some(AppError::InvalidInput { field: "scan_deadline_ms".to_owned(), reason: billetix_core::domain::ParseFailure::OutOfRange { min, max } }));
            return;
        };
        spawn_local(async move {
            match set_scan_deadline(institution, ms).await {
                Ok(()) => {
                    set_error.set(None);
                    saved.set(true);
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="inline" on:submit=save data-testid="scan-deadline-form" data-saved=move || saved.get().to_string()>
            <label>{t!(i18n, institution_scan_deadline)} " "
                <input name="scan_deadline_ms" type="number" min="50" max="5000" prop:value=typed
                    on:input=move |ev| typed.set(event_target_value(&ev)) />
            </label>
            <button type="submit">{t!(i18n, save)}</button>
            <ErrorLine error />
        </form>
    }
}

//! The back office: institution tree on the left, the selected institution on the right.

pub mod automatic;
pub mod institutions;
pub mod performances;
pub mod reports;
pub mod sources;
pub mod usage;
pub mod users;

use leptos::prelude::*;
use leptos_router::components::Redirect;

use billetix_core::domain::InstitutionId;
use institutions::{list_institutions, InstitutionForms, InstitutionTree, OpenInstitution};
use performances::PerformanceGrid;
use sources::SourcesTab;
use usage::UsageTab;
use users::UsersTab;

use crate::components::header::Header;
use crate::components::session_gate::{needs_signin, signin_path_for};
use crate::i18n::*;
use crate::me::whoami;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Performances,
    Users,
    Sources,
    Usage,
}

#[component]
pub fn BackOfficePage() -> impl IntoView {
    let i18n = use_i18n();
    let me = Resource::new(|| (), |_| whoami());
    let version = RwSignal::new(0u32);
    let institutions = Resource::new(move || version.get(), |_| list_institutions());
    let selected = RwSignal::new(None::<InstitutionId>);
    let tab = RwSignal::new(Tab::Performances);

    // Reopen on the institution last worked on, else the first one listed.
    Effect::new(move || {
        if selected.get().is_some() {
            return;
        }
        let last = me.get().and_then(|m| m.ok()).and_then(|m| m.last_institution);
        if let Some(Ok(list)) = institutions.get() {
            let pick = last.filter(|id| list.iter().any(|i| i.id == *id)).or(list.first().map(|i| i.id));
            selected.set(pick);
        }
    });
    // Remember each choice on the server.
    let open = ServerAction::<OpenInstitution>::new();
    Effect::watch(
        move || selected.get(),
        move |id, _, _| {
            if let Some(id) = *id {
                open.dispatch(OpenInstitution { id });
            }
        },
        false,
    );
    let on_change = Callback::new(move |id: InstitutionId| {
        selected.set(Some(id));
        version.update(|v| *v += 1);
    });
    let login = Signal::derive(move || me.get().and_then(|m| m.ok()).map(|m| m.login.to_string()));

    view! {
        <Header login />
        <Suspense>
            {move || me.get().and_then(|m| m.err()).filter(needs_signin).map(|e| view! { <Redirect path=signin_path_for(&e) /> })}
        </Suspense>
        <div class="backoffice">
            <aside>
                <h2>{t!(i18n, institutions)}</h2>
                <Transition>
                    {move || institutions.get().map(|r| r.map(|list| view! { <InstitutionTree institutions=list selected /> }).ok())}
                </Transition>
            </aside>
            <main>
                <Transition>
                    {move || {
                        let list = institutions.get().and_then(|r| r.ok())?;
                        let current = list.into_iter().find(|i| Some(i.id) == selected.get())?;
                        let id = current.id;
                        let can_administer = current.can_administer;
                        let is_root = current.parent.is_none() && can_administer;
                        Some(view! {
                            <h1 data-testid="institution-name">{current.name.clone()}</h1>
                            <InstitutionForms institution=current on_change />
                            <nav class="tabs">
                                <button class:active=move || tab.get() == Tab::Performances
                                    on:click=move |_| tab.set(Tab::Performances)>{t!(i18n, tab_performances)}</button>
                                <Show when=move || can_administer>
                                    <button class:active=move || tab.get() == Tab::Users data-testid="users-tab-button"
                                        on:click=move |_| tab.set(Tab::Users)>{t!(i18n, tab_users)}</button>
                                    <button class:active=move || tab.get() == Tab::Sources data-testid="sources-tab-button"
                                        on:click=move |_| tab.set(Tab::Sources)>{t!(i18n, tab_sources)}</button>
                                </Show>
                                <Show when=move || is_root>
                                    <button class:active=move || tab.get() == Tab::Usage data-testid="usage-tab-button"
                                        on:click=move |_| tab.set(Tab::Usage)>{t!(i18n, tab_usage)}</button>
                                </Show>
                            </nav>
                            {move || match tab.get() {
                                Tab::Users if can_administer => view! { <UsersTab institution=id /> }.into_any(),
                                Tab::Sources if can_administer => view! { <SourcesTab institution=id /> }.into_any(),
                                Tab::Usage if is_root => view! { <UsageTab /> }.into_any(),
                                _ => view! { <PerformanceGrid institution=id /> }.into_any(),
                            }}
                        })
                    }}
                </Transition>
            </main>
        </div>
    }
}

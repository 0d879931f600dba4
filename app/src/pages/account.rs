use leptos::prelude::*;
use leptos_router::components::Redirect;

use super::me::whoami;
use crate::components::header::Header;
use crate::components::session_gate::signin_path_for;
use crate::i18n::*;

/// Landing page of a login without back-office access (scan staff).
#[component]
pub fn AccountPage() -> impl IntoView {
    let i18n = use_i18n();
    let me = Resource::new(|| (), |_| whoami());
    let login = Signal::derive(move || me.get().and_then(|m| m.ok()).map(|m| m.login.to_string()));
    view! {
        <Header login />
        <main class="account">
            <Suspense>
                {move || me.get().map(|me| match me {
                    Ok(me) => view! {
                        <h1>{t!(i18n, account_title)}</h1>
                        <p data-testid="account-login">{me.login.to_string()}</p>
                        <p>{if me.pda { t_string!(i18n, account_can_scan) } else { t_string!(i18n, account_no_rights) }}</p>
                        {me.pda.then(|| view! { <a class="button" href="/scanner" data-testid="open-scanner">{t!(i18n, account_open_scanner)}</a> })}
                    }.into_any(),
                    Err(e) => view! { <Redirect path=signin_path_for(&e) /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

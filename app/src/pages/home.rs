use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::me::whoami;
use crate::components::session_gate::signin_path_for;

/// `/`: sends each person where they work.
#[component]
pub fn HomePage() -> impl IntoView {
    let me = Resource::new(|| (), |_| whoami());
    view! {
        <Suspense>
            {move || me.get().map(|me| match me {
                Ok(me) => view! { <Redirect path=me.home_path() /> }.into_any(),
                Err(e) => view! { <Redirect path=signin_path_for(&e) /> }.into_any(),
            })}
        </Suspense>
    }
}

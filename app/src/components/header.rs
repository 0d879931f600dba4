use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::*;
use crate::me::sign_out;

/// The top bar: product name, who is signed in, language, sign-out.
#[component]
pub fn Header(#[prop(into)] login: Signal<Option<String>>) -> impl IntoView {
    let i18n = use_i18n();
    let switch_language = move |_| {
        let next = match i18n.get_locale() {
            Locale::en => Locale::fr,
            Locale::fr => Locale::en,
        };
        i18n.set_locale(next);
    };
    let on_sign_out = move |_| {
        spawn_local(async move {
            // Whatever the answer, the person wanted out: go to the sign-in page.
            let _ = sign_out().await;
            if let Some(window) = web_sys::window() {
                let _ = window.location().set_href("/signin");
            }
        });
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Billetix"</a>
            <span class="spacer"></span>
            // `login` comes from a resource: read it under a Transition so the server and the
            // hydrating browser render the same thing.
            <Transition>
                {move || login.get().map(|name| view! { <a class="who" href="/account" data-testid="who">{name}</a> })}
            </Transition>
            <button class="link" data-testid="language" on:click=switch_language>
                {t!(i18n, other_language)}
            </button>
            <Transition>
                {move || login.get().map(|_| view! {
                    <button class="link" data-testid="sign-out" on:click=on_sign_out>{t!(i18n, sign_out)}</button>
                })}
            </Transition>
        </header>
    }
}

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::error_text::fill;
use crate::i18n::*;
use crate::me::sign_out;
use crate::pages::scanner::sign_out::{CopySummary, SignOutChoice, SignOutDialog, leave_device, stored_copy};

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
    // On a browser that also runs the scanner, the device's copy is offered to be cleared.
    let leaving = RwSignal::new(None::<CopySummary>);
    let problem = RwSignal::new(None::<String>);
    let leave = move |choice: SignOutChoice| {
        spawn_local(async move {
            if let Err(e) = leave_device(choice).await {
                // Not signed out: the person asked for the copy to go, and may try again.
                problem.set(Some(fill(t_string!(i18n, scanner_storage_broken), &[("why", &e.to_string())])));
                return;
            }
            // Whatever the answer, the person wanted out: go to the sign-in page.
            let _ = sign_out().await;
            if let Some(window) = web_sys::window() {
                let _ = window.location().set_href("/signin");
            }
        });
    };
    let on_sign_out = move |_| {
        spawn_local(async move {
            match stored_copy().await {
                Some(summary) => leaving.set(Some(summary)),
                None => leave(SignOutChoice::Keep),
            }
        });
    };
    let chosen = Callback::new(move |choice: Option<SignOutChoice>| {
        leaving.set(None);
        if let Some(choice) = choice {
            leave(choice);
        }
    });
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
        {move || problem.get().map(|text| view! { <p class="error" role="alert" data-testid="sign-out-problem">{text}</p> })}
        {move || leaving.get().map(|summary| view! { <SignOutDialog summary on_choice=chosen /> })}
    }
}

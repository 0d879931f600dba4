use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, Meta, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::i18n::I18nContextProvider;
use crate::pages::account::AccountPage;
use crate::pages::backoffice::BackOfficePage;
use crate::pages::home::HomePage;
use crate::pages::scanner::ScannerPage;
use crate::pages::signin::SignInPage;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <leptos_meta::MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this marks the moment the WASM app took over.
    Effect::new(|| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });
    view! {
        <Link rel="manifest" href="/manifest.webmanifest" />
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Meta name="theme-color" content="#12355b" />
        <Title text="Billetix" />
        <I18nContextProvider>
            <Router>
                <Routes fallback=|| view! { <p class="notice">"404"</p> }>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/signin") view=SignInPage />
                    <Route path=path!("/backoffice") view=BackOfficePage />
                    <Route path=path!("/account") view=AccountPage />
                    <Route path=path!("/scanner") view=ScannerPage />
                </Routes>
            </Router>
        </I18nContextProvider>
    }
}

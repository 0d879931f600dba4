//! Billetix's UI crate: pages and the server functions beside the components that call them,
//! on the pure core (`billetix_core`: engine, domain types, access rules, device protocol).
//! Compiled into the server (`ssr`) and into the WASM UI (`hydrate`).

// The back office's largest views nest deeper than rustc's default type layout depth.
#![recursion_limit = "256"]

pub mod components;
pub mod error;
pub mod me;
pub mod pages;
pub mod sync;
mod shell;

#[cfg(feature = "ssr")]
pub mod ssr;

// The core at the paths the server crate has always used.
pub use billetix_core::{authorization, domain, engine, ids};

// The macro reads app/locales at compile time; its build.rs successor pulls a CLDR
// downloader into the build, which these machines cannot use.
#[allow(deprecated)]
mod i18n_generated {
    leptos_i18n::load_locales!();
}
pub use i18n_generated::i18n;

pub use shell::{App, shell};

//! Billetix's shared crate: domain types, the rules, pages and the server functions beside the
//! components that call them. Compiled into the server (`ssr`) and into the WASM UI (`hydrate`).

pub mod authorization;
pub mod domain;
pub mod engine;
pub mod error;
pub mod components;
pub mod pages;
pub mod sync;
mod shell;

#[cfg(feature = "ssr")]
pub mod backend;

// The macro reads app/locales at compile time; its build.rs successor pulls a CLDR
// downloader into the build, which these machines cannot use.
#[allow(deprecated)]
mod i18n_generated {
    leptos_i18n::load_locales!();
}
pub use i18n_generated::i18n;

pub use shell::{App, shell};

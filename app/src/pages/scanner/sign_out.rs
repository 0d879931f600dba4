//! Signing out of a device that keeps a copy for the doors (finding 25 of the security review):
//! an in-page dialog says what the copy holds and lets the person clear it or keep it for the
//! next login. Used by the scanner's sign-out and by the header's, in the same browser.

use leptos::prelude::*;

pub use super::store::CopySummary;
use super::store::{DeviceStore, StoreError};
use crate::components::error_text::fill;
use crate::i18n::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOutChoice {
    /// Signs out; the copy stays for the next login, queued scans wait for theirs.
    Keep,
    /// Removes the imported performances with their tickets; the scans the server has not
    /// recorded stay unless `discard_scans`.
    Clear { discard_scans: bool },
}

/// Asks what to do with the device's copy: `on_choice` gets the choice, or `None` to stay
/// signed in (Cancel, Escape). Keyboard first: focus starts on "keep", Tab runs through the
/// choices, Enter or Space picks one.
#[component]
pub fn SignOutDialog(summary: CopySummary, #[prop(into)] on_choice: Callback<Option<SignOutChoice>>) -> impl IntoView {
    let i18n = use_i18n();
    let discard = RwSignal::new(false);
    let keep = NodeRef::<leptos::html::Button>::new();
    Effect::new(move || {
        if let Some(button) = keep.get() {
            let _ = button.focus();
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            on_choice.run(None);
        }
    };
    let performances = summary.performances.to_string();
    let scans = summary.unrecorded.to_string();
    let scans_kept = fill(t_string!(i18n, signout_scans_kept), &[("count", &scans)]);
    let discard_label = fill(t_string!(i18n, signout_discard_scans), &[("count", &scans)]);
    view! {
        <div class="dialog-backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="signout-title" aria-describedby="signout-copy"
                data-testid="signout-dialog" data-performances=performances.clone() data-unrecorded=scans.clone() on:keydown=on_key>
                <h2 id="signout-title">{t!(i18n, signout_title)}</h2>
                <p id="signout-copy">{fill(t_string!(i18n, signout_copy), &[("count", &performances)])}</p>
                {(summary.unrecorded > 0).then(|| view! {
                    <p data-testid="signout-scans-kept">{scans_kept}</p>
                    <label class="discard">
                        <input type="checkbox" data-testid="signout-discard" bind:checked=discard />
                        {discard_label}
                    </label>
                })}
                <div class="dialog-actions">
                    <button node_ref=keep data-testid="signout-keep" on:click=move |_| on_choice.run(Some(SignOutChoice::Keep))>
                        {t!(i18n, signout_keep)}
                    </button>
                    <button class="danger" data-testid="signout-clear"
                        on:click=move |_| on_choice.run(Some(SignOutChoice::Clear { discard_scans: discard.get_untracked() }))>
                        {t!(i18n, signout_clear)}
                    </button>
                    <button class="link" data-testid="signout-cancel" on:click=move |_| on_choice.run(None)>{t!(i18n, cancel)}</button>
                </div>
            </div>
        </div>
    }
}

/// Whether this browser ever ran the scanner (it names the device at once): only then is
/// there a copy to ask about, and the header opens no database on a back-office-only browser.
fn scanner_ran_here() -> bool {
    use gloo_storage::Storage;
    gloo_storage::LocalStorage::get::<String>(super::link::DEVICE_KEY).is_ok()
}

/// What the device holds, for the header's sign-out: `None` when there is nothing to clear.
pub async fn stored_copy() -> Option<CopySummary> {
    if !scanner_ran_here() {
        return None;
    }
    let summary = DeviceStore::open().await.ok()?.summary().await.ok()?;
    (summary.performances > 0).then_some(summary)
}

/// The header's sign-out on a device with a copy: clears it if chosen, and forgets the login
/// its scans were tagged with (the scanner page keeps its own state when it is the one signing out).
pub async fn leave_device(choice: SignOutChoice) -> Result<(), StoreError> {
    if !scanner_ran_here() {
        return Ok(());
    }
    let store = DeviceStore::open().await?;
    if let SignOutChoice::Clear { discard_scans } = choice {
        store.clear_copy(discard_scans).await?;
    }
    store.save_login(None).await
}

//! Signing in: the app's call, and the same form posted by the browser before the app has
//! loaded (or without JavaScript), so a password never travels in an address.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use crate::me::Me;
use crate::components::error_text::ErrorLine;
use crate::components::header::Header;
use crate::error::AppError;
use crate::i18n::*;

#[server(endpoint = "sign_in", input = leptos::server_fn::codec::Json)]
pub async fn sign_in(login: String, password: String) -> Result<Me, AppError> {
    start_session(login, password).await
}

/// Where the sign-in form posts when the app has not taken it over: the browser's own
/// submission, the password in the body. The only server function taking a form's encoding
/// (the edge lets it through from the app's own pages only); it answers with a redirect:
/// home when signed in, else back to the form, which says why.
#[server(endpoint = "sign_in_form", input = leptos::server_fn::codec::PostUrl)]
pub async fn sign_in_form(login: String, password: String) -> Result<(), AppError> {
    use axum::http::{HeaderValue, StatusCode, header::LOCATION};
    let to = match start_session(login, password).await {
        Ok(me) => me.home_path().to_owned(),
        Err(e) => format!("/signin?{}", failure_query(&e)),
    };
    let response = use_context::<leptos_axum::ResponseOptions>().ok_or(AppError::Internal)?;
    response.set_status(StatusCode::SEE_OTHER);
    response.insert_header(LOCATION, HeaderValue::from_str(&to).map_err(|_| AppError::Internal)?);
    Ok(())
}

/// Why a posted form came back, in the sign-in page's address: a word from a closed list, since
/// anyone can type that address (it must not put arbitrary text on the page).
#[cfg(feature = "ssr")]
fn failure_query(error: &AppError) -> String {
    match error {
        AppError::WrongCredentials | AppError::LoginDisabled => "failed=credentials".to_owned(),
        AppError::TooManyAttempts { retry_after_secs } => format!("failed=wait&retry={retry_after_secs}"),
        AppError::Unavailable => "failed=unavailable".to_owned(),
        _ => "failed=error".to_owned(),
    }
}

/// The error a `failed` word (and its `retry` seconds) stands for.
fn failure_of(failed: Option<&str>, retry: Option<&str>) -> Option<AppError> {
    Some(match failed? {
        "credentials" => AppError::WrongCredentials,
        "wait" => AppError::TooManyAttempts { retry_after_secs: retry.and_then(|r| r.parse().ok()).unwrap_or(1) },
        "unavailable" => AppError::Unavailable,
        _ => AppError::Internal,
    })
}

/// Checks the password, starts a session and sets its cookie.
#[cfg(feature = "ssr")]
async fn start_session(login: String, password: String) -> Result<Me, AppError> {
    use billetix_core::domain::LoginName;

    use crate::ssr::signin_throttle::{Reservation, ThrottleKey};
    use crate::ssr::{context, metrics, now_millis, password, session};

    let ctx = context()?;
    let storage = ctx.storage.as_ref();
    // A malformed login is just a wrong one: say nothing more to a guesser.
    let name = LoginName::parse(&login).map_err(|_| AppError::WrongCredentials)?;
    let now = now_millis();
    let address = session::client_address()?;
    let pair = ThrottleKey::login_at_address(name.as_str(), &address);
    let from_address = ThrottleKey::address(&address);
    // Counted before the password is checked, so a burst gets no more checks than one by one.
    if let Reservation::Wait { retry_after_ms } =
        storage.reserve_signin_attempt(&[pair.clone(), from_address.clone()], now).await?
    {
        tracing::info!(login = %name, %address, retry_after_ms, "sign-in delayed");
        metrics::sign_in("delayed");
        return Err(AppError::TooManyAttempts { retry_after_secs: u64::try_from((retry_after_ms + 999) / 1000).unwrap_or(1) });
    }

    let record = storage.login_by_name(&name).await?;
    let stored_hash = match &record {
        Some(r) => r.password_hash.clone(),
        None => password::decoy_hash().await,
    };
    let password_ok = password::verify(password, stored_hash).await;
    // A disabled login answers as a wrong password does: the answer must not tell a guesser
    // that the password was right.
    let record = match record {
        Some(r) if password_ok && !r.disabled => r,
        Some(r) if password_ok => {
            tracing::info!(login = %r.name, "sign-in refused: login disabled");
            metrics::sign_in("disabled");
            return Err(AppError::WrongCredentials);
        }
        _ => {
            tracing::info!(login = %name, %address, "sign-in refused");
            metrics::sign_in("wrong_credentials");
            return Err(AppError::WrongCredentials);
        }
    };
    storage.signin_succeeded(&pair, &from_address).await?;
    let token = session::new_token();
    storage.start_session(record.id, &session::token_hash(&token), now).await?;
    // The login's other session just ended.
    ctx.actors.forget_all();
    session::set_session_cookie(&token)?;
    tracing::info!(login = %name, "signed in");
    metrics::sign_in("success");
    let memberships = storage.memberships(record.id).await?;
    let root = storage.root_institution().await?.map(|r| r.id);
    Ok(Me {
        id: record.id,
        root_master: root.is_some() && record.master_of == root,
        backoffice: record.master_of.is_some() || memberships.iter().any(|(_, r)| r.backoffice),
        pda: record.master_of.is_some() || memberships.iter().any(|(_, r)| r.pda),
        login: record.name,
        master_of: record.master_of,
        last_institution: record.last_institution,
    })
}

/// Lifts every sign-in delay of a login, at once (a Master's hand, for a steward locked out by
/// someone else's guesses).
#[server(endpoint = "clear_signin_delays", input = leptos::server_fn::codec::Json)]
pub async fn clear_signin_delays(login_id: billetix_core::domain::LoginId) -> Result<u64, AppError> {
    use crate::ssr::{context, guard, session::current_actor};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let target = guard::target_login(storage.as_ref(), login_id).await?;
    if actor.master_of.is_none() || !actor.can_manage_login(&target) {
        return Err(AppError::Forbidden);
    }
    let record = storage.login(login_id).await?.ok_or(AppError::NotFound)?;
    let cleared = storage.clear_signin_throttle(&record.name).await?;
    tracing::info!(login = %record.name, cleared, "sign-in delays cleared");
    Ok(cleared)
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let ended_elsewhere = move || query.read().get("ended").as_deref() == Some("elsewhere");
    // A form posted before the app loaded comes back here saying why.
    let failed = query.with_untracked(|q| failure_of(q.get("failed").as_deref(), q.get("retry").as_deref()));
    let (error, set_error) = signal(failed);
    let (busy, set_busy) = signal(false);
    // Read at submission: what was typed before the app took the form over counts too.
    let login = NodeRef::<leptos::html::Input>::new();
    let password = NodeRef::<leptos::html::Input>::new();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = |input: NodeRef<leptos::html::Input>| input.get_untracked().map(|i| i.value()).unwrap_or_default();
        let (login, password) = (value(login), value(password));
        set_busy.set(true);
        set_error.set(None);
        spawn_local(async move {
            match sign_in(login, password).await {
                Ok(me) => {
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().set_href(me.home_path());
                    }
                }
                Err(e) => {
                    set_error.set(Some(e));
                    set_busy.set(false);
                }
            }
        });
    };

    view! {
        <Header login=Signal::derive(|| None::<String>) />
        <main class="signin">
            <h1>{t!(i18n, signin_title)}</h1>
            <Show when=ended_elsewhere>
                <p class="notice" data-testid="ended-elsewhere" role="status">
                    {t!(i18n, err_signed_in_elsewhere)}
                </p>
            </Show>
            // Until the app takes it over, the browser posts it: never a GET with the password.
            <form method="post" action="/api/sign_in_form" on:submit=submit>
                <label>
                    {t!(i18n, field_login)}
                    <input name="login" autocomplete="username" required node_ref=login />
                </label>
                <label>
                    {t!(i18n, field_password)}
                    <input name="password" type="password" autocomplete="current-password" required node_ref=password />
                </label>
                <button type="submit" disabled=busy>{t!(i18n, signin_button)}</button>
                <ErrorLine error />
            </form>
        </main>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn a_failed_form_says_why_in_words_from_a_closed_list() {
        for error in [AppError::WrongCredentials, AppError::TooManyAttempts { retry_after_secs: 42 }, AppError::Unavailable, AppError::Internal] {
            let query = failure_query(&error);
            let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
            let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
            assert_eq!(failure_of(get("failed"), get("retry")), Some(error));
        }
        assert_eq!(failure_query(&AppError::LoginDisabled), "failed=credentials", "a disabled login answers as a wrong password");
        assert_eq!(failure_of(Some("<script>"), None), Some(AppError::Internal), "any other word is a plain error");
        assert_eq!(failure_of(None, Some("5")), None);
    }
}

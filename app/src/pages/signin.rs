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
    let (login, set_login) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (error, set_error) = signal(None::<AppError>);
    let (busy, set_busy) = signal(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_busy.set(true);
        set_error.set(None);
        spawn_local(async move {
            match sign_in(login.get_untracked(), password.get_untracked()).await {
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
            <form on:submit=submit>
                <label>
                    {t!(i18n, field_login)}
                    <input name="login" autocomplete="username" required
                        on:input=move |ev| set_login.set(event_target_value(&ev)) prop:value=login />
                </label>
                <label>
                    {t!(i18n, field_password)}
                    <input name="password" type="password" autocomplete="current-password" required
                        on:input=move |ev| set_password.set(event_target_value(&ev)) prop:value=password />
                </label>
                <button type="submit" disabled=busy>{t!(i18n, signin_button)}</button>
                <ErrorLine error />
            </form>
        </main>
    }
}

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use super::me::Me;
use crate::components::error_text::ErrorLine;
use crate::components::header::Header;
use crate::error::AppError;
use crate::i18n::*;

/// Failed attempts allowed in a window, per login and per client address.
#[cfg(feature = "ssr")]
mod throttle {
    pub const WINDOW_MS: i64 = 15 * 60 * 1000;
    pub const PER_LOGIN: u32 = 5;
    pub const PER_ADDRESS: u32 = 30;
}

#[server(endpoint = "sign_in", input = leptos::server_fn::codec::Json)]
pub async fn sign_in(login: String, password: String) -> Result<Me, AppError> {
    use crate::backend::{context, now_millis, password, session};
    use crate::domain::LoginName;

    let ctx = context()?;
    let storage = ctx.storage.as_ref();
    // A malformed login is just a wrong one: say nothing more to a guesser.
    let name = LoginName::parse(&login).map_err(|_| AppError::WrongCredentials)?;
    let now = now_millis();
    let since = now - throttle::WINDOW_MS;
    let login_key = format!("login:{name}");
    let address_key = format!("address:{}", session::client_address()?);
    if storage.signin_failures_since(&login_key, since).await? >= throttle::PER_LOGIN
        || storage.signin_failures_since(&address_key, since).await? >= throttle::PER_ADDRESS
    {
        return Err(AppError::TooManyAttempts { retry_after_secs: (throttle::WINDOW_MS / 1000) as u64 });
    }

    let record = storage.login_by_name(&name).await?;
    let stored_hash = match &record {
        Some(r) => r.password_hash.clone(),
        None => password::decoy_hash().await,
    };
    let password_ok = password::verify(password, stored_hash).await;
    let record = match record {
        Some(r) if password_ok => r,
        _ => {
            storage.record_signin_failure(&[login_key, address_key], now).await?;
            tracing::info!(login = %name, "sign-in refused");
            return Err(AppError::WrongCredentials);
        }
    };
    if record.disabled {
        return Err(AppError::LoginDisabled);
    }
    storage.clear_signin_failures(&login_key).await?;
    let token = session::new_token();
    storage.start_session(record.id, &session::token_hash(&token), now).await?;
    // The login's other session just ended.
    ctx.actors.forget_all();
    session::set_session_cookie(&token, ctx.secure_cookies)?;
    tracing::info!(login = %name, "signed in");
    let memberships = storage.memberships(record.id).await?;
    let root = storage.root_institution().await?.map(|r| r.id);
    Ok(Me {
        root_master: root.is_some() && record.master_of == root,
        backoffice: record.master_of.is_some() || memberships.iter().any(|(_, r)| r.backoffice),
        pda: record.master_of.is_some() || memberships.iter().any(|(_, r)| r.pda),
        login: record.name,
        master_of: record.master_of,
        last_institution: record.last_institution,
    })
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

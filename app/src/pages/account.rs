use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::Redirect;

use crate::me::whoami;
use crate::components::error_text::ErrorLine;
use crate::components::header::Header;
use crate::components::session_gate::signin_path_for;
use crate::error::AppError;
use crate::i18n::*;

/// The signed-in login replaces its own password, giving the current one again (a session
/// left open on a shared device is not enough). Every session of the login ends with the old
/// password; the caller goes on in a new one.
#[server(endpoint = "change_password", input = leptos::server_fn::codec::Json)]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    use crate::ssr::signin_throttle::{Reservation, ThrottleKey};
    use crate::ssr::{context, now_millis, password, session};
    let ctx = context()?;
    let actor = session::current_actor().await?;
    let new = billetix_core::domain::Password::parse(&new)?;
    let record = ctx.storage.login(actor.login_id).await?.ok_or(AppError::NotSignedIn)?;
    // Guesses of the current password count as sign-in attempts: a stolen session must not
    // be a way to find the password.
    let now = now_millis();
    let address = session::client_address()?;
    let pair = ThrottleKey::login_at_address(record.name.as_str(), &address);
    let from_address = ThrottleKey::address(&address);
    if let Reservation::Wait { retry_after_ms } =
        ctx.storage.reserve_signin_attempt(&[pair.clone(), from_address.clone()], now).await?
    {
        return Err(AppError::TooManyAttempts { retry_after_secs: u64::try_from((retry_after_ms + 999) / 1000).unwrap_or(1) });
    }
    if !password::verify(current, record.password_hash).await {
        tracing::info!(login = %record.name, %address, "password change refused: wrong current password");
        return Err(AppError::WrongCredentials);
    }
    ctx.storage.signin_succeeded(&pair, &from_address).await?;
    let hash = password::hash(&new).await?;
    ctx.storage.set_password_hash(actor.login_id, &hash, now).await?;
    let token = session::new_token();
    ctx.storage.start_session(actor.login_id, &session::token_hash(&token), now).await?;
    ctx.actors.forget_all();
    session::set_session_cookie(&token)?;
    tracing::info!(login = %record.name, "password changed");
    Ok(())
}

#[component]
fn ChangePasswordForm() -> impl IntoView {
    let i18n = use_i18n();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let (error, set_error) = signal(None::<AppError>);
    let (done, set_done) = signal(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            let result = change_password(current.get_untracked(), new.get_untracked()).await;
            set_done.set(result.is_ok());
            match result {
                Ok(()) => {
                    current.set(String::new());
                    new.set(String::new());
                    set_error.set(None);
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card" on:submit=submit data-testid="change-password-form">
            <h3>{t!(i18n, change_password)}</h3>
            <ErrorLine error />
            <Show when=move || done.get()>
                <p role="status">{t!(i18n, password_changed)}</p>
            </Show>
            <input name="current-password" type="password" autocomplete="current-password"
                placeholder=move || t_string!(i18n, current_password) prop:value=current
                on:input=move |ev| current.set(event_target_value(&ev)) />
            <input name="new-password" type="password" autocomplete="new-password"
                placeholder=move || t_string!(i18n, new_password) prop:value=new
                on:input=move |ev| new.set(event_target_value(&ev)) />
            <button type="submit">{t!(i18n, change_password)}</button>
        </form>
    }
}

/// Landing page of a login without back-office access (scan staff), and every login's own
/// settings (the header's login name links here).
#[component]
pub fn AccountPage() -> impl IntoView {
    let i18n = use_i18n();
    let me = Resource::new(|| (), |_| whoami());
    let login = Signal::derive(move || me.get().and_then(|m| m.ok()).map(|m| m.login.to_string()));
    view! {
        <Header login />
        <main class="account">
            <Suspense>
                {move || me.get().map(|me| match me {
                    Ok(me) => view! {
                        <h1>{t!(i18n, account_title)}</h1>
                        <p data-testid="account-login">{me.login.to_string()}</p>
                        <p>{if me.pda { t_string!(i18n, account_can_scan) } else { t_string!(i18n, account_no_rights) }}</p>
                        {me.pda.then(|| view! { <a class="button" href="/scanner" data-testid="open-scanner">{t!(i18n, account_open_scanner)}</a> })}
                        <ChangePasswordForm />
                    }.into_any(),
                    Err(e) => view! { <Redirect path=signin_path_for(&e) /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

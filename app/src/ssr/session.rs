//! Sessions: a random token in an HttpOnly, SameSite=Strict cookie; the database keeps only its
//! SHA-256, so a copy of the database opens no session.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use rand::RngCore;
use sha2::{Digest, Sha256};

use billetix_core::authorization::Actor;

use super::context::{ServerContext, context, now_millis};
use super::storage::{SessionActor, SessionEnd};
use crate::error::AppError;

pub const COOKIE_NAME: &str = "billetix_session";

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn request_parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("request parts missing from the context");
        AppError::Internal
    })
}

/// The session token the browser sent, if any.
pub fn token_from_request() -> Result<Option<String>, AppError> {
    Ok(token_from_headers(&request_parts()?.headers))
}

/// The session token in a request's cookies, if any.
pub fn token_from_headers(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|t| !t.is_empty())
}

fn peer_address(parts: &Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip())
}

/// The client's address, for throttling sign-in attempts per address (through trusted proxies).
pub fn client_address() -> Result<String, AppError> {
    let parts = request_parts()?;
    let trust = context()?.client_trust;
    Ok(trust
        .client_address(peer_address(&parts), &parts.headers)
        .map_or_else(|| "unknown".to_owned(), |address| address.to_string()))
}

/// Sets the session cookie, `Secure` when the browser reached us over https, lasting as long
/// as the session may (not only the browser's run).
pub fn set_session_cookie(token: &str) -> Result<(), AppError> {
    let parts = request_parts()?;
    let ctx = context()?;
    let secure = ctx.client_trust.cookie_is_secure(peer_address(&parts), &parts.headers);
    let secure = if secure { "; Secure" } else { "" };
    let max_age = ctx.session_limits.lifetime / 1000;
    write_cookie(&format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"))
}

pub fn clear_session_cookie() -> Result<(), AppError> {
    write_cookie(&format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"))
}

fn write_cookie(cookie: &str) -> Result<(), AppError> {
    let response = use_context::<ResponseOptions>().ok_or_else(|| {
        tracing::error!("response options missing from the context");
        AppError::Internal
    })?;
    let value = HeaderValue::from_str(cookie).map_err(|_| AppError::Internal)?;
    response.append_header(SET_COOKIE, value);
    Ok(())
}

/// Who is asking, or why they no longer may.
pub async fn current_actor() -> Result<Actor, AppError> {
    let ctx = context()?;
    let token = token_from_request()?.ok_or(AppError::NotSignedIn)?;
    actor_for_token(&ctx, &token).await
}

/// As `current_actor`, for the scan endpoints: a door scans many times a second, so its
/// session is read from the actor cache.
pub async fn current_door_actor() -> Result<Actor, AppError> {
    let ctx = context()?;
    let token = token_from_request()?.ok_or(AppError::NotSignedIn)?;
    door_actor_for_hash(&ctx, &token_hash(&token)).await
}

/// As `actor_for_hash`, through the actor cache: for what asks many times a second.
pub async fn door_actor_for_hash(context: &ServerContext, token_hash: &str) -> Result<Actor, AppError> {
    context.actors.actor(token_hash, actor_for_hash(context, token_hash)).await
}

pub async fn actor_for_token(context: &ServerContext, token: &str) -> Result<Actor, AppError> {
    actor_for_hash(context, &token_hash(token)).await
}

/// Ended and expired sessions, whatever the reason, are simply not signed in, except one
/// replaced by a sign-in elsewhere, which the scanner tells its user.
pub async fn actor_for_hash(context: &ServerContext, token_hash: &str) -> Result<Actor, AppError> {
    match context.storage.session_actor(token_hash, now_millis(), context.session_limits).await? {
        SessionActor::Live(actor) => Ok(actor),
        SessionActor::Ended(SessionEnd::SignedInElsewhere) => Err(AppError::SignedInElsewhere),
        SessionActor::Ended(_) | SessionActor::None => Err(AppError::NotSignedIn),
    }
}

/// The signed-in caller of a plain axum route (the export, the upload, the live feed), read
/// from the session cookie as server functions read it; without a live session the route
/// answers the `AppError` (401) before it runs.
pub struct SignedIn {
    pub actor: Actor,
    /// The session's token hash, as storage and the caches know it.
    pub session: String,
}

impl<S> axum::extract::FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    ServerContext: axum::extract::FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let context = <ServerContext as axum::extract::FromRef<S>>::from_ref(state);
        let token = token_from_headers(&parts.headers).ok_or(AppError::NotSignedIn)?;
        let session = token_hash(&token);
        let actor = actor_for_hash(&context, &session).await?;
        Ok(SignedIn { actor, session })
    }
}

/// Ends the caller's session, if any.
pub async fn sign_out_current() -> Result<(), AppError> {
    let ctx = context()?;
    if let Some(token) = token_from_request()? {
        ctx.storage.end_session(&token_hash(&token), now_millis()).await?;
        ctx.actors.forget_all();
    }
    clear_session_cookie()
}

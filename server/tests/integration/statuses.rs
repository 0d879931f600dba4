//! Each error answers with its own HTTP status (finding 20 of the security review: every
//! refusal was a 500, and malformed arguments read as a network error), on both databases.

use crate::support;

use app::error::AppError;
use reqwest::{Method, header};
use serde_json::{Value, json};
use support::api::{CreateInstitution, CreateLogin, SignIn};
use support::world::DOOR;
use support::{ADMIN_PASSWORD, PASSWORD};

async fn status_of(client: &support::Client, function: &str, body: Value) -> (u16, Option<AppError>, Option<String>) {
    let response = client.request(Method::POST, &format!("/api/{function}")).json(&body).send().await.expect("answered");
    let status = response.status().as_u16();
    let retry_after = response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let error = response.json::<AppError>().await.ok();
    (status, error, retry_after)
}

async fn every_error_has_its_status(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let anonymous = app.client();
    assert_eq!(status_of(&anonymous, "whoami", json!({})).await.0, 401);
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let (status, error, _) = status_of(&admin, "create_institution", json!({"parent": root, "name": ""})).await;
    assert_eq!((status, matches!(error, Some(AppError::InvalidInput { .. }))), (400, true));
    assert_eq!(status_of(&admin, "list_members", json!({"institution": 987_654})).await.0, 404);
    let (status, error, _) = status_of(&admin, "create_institution", json!({"parent": "not a number"})).await;
    assert_eq!(status, 400, "malformed arguments are the client's mistake: {error:?}");
    assert!(matches!(error, Some(AppError::InvalidInput { ref field, .. }) if field == "arguments"), "{error:?}");
    admin.call(CreateInstitution { parent: root, name: "Twice".into() }).await.expect("first");
    assert_eq!(status_of(&admin, "create_login", json!({"institution": root, "login": "admin", "password": "a long enough password",
                                                          "rights": {"admin": false, "pda": true, "backoffice": false}})).await.0, 409);
    let office = {
        admin.call(CreateLogin { institution: root, login: "scanner.only".into(), password: PASSWORD.into(), rights: DOOR }).await.expect("login");
        app.signed_in("scanner.only", PASSWORD).await
    };
    assert_eq!(status_of(&office, "list_members", json!({"institution": root})).await.0, 403);
    for _ in 0..5 {
        let _ = anonymous.call(SignIn { login: "admin".into(), password: "not the password".into() }).await;
    }
    let (status, _, retry_after) = status_of(&anonymous, "sign_in", json!({"login": "admin", "password": "not the password"})).await;
    assert_eq!((status, retry_after.as_deref()), (429, Some("1")));
}
on_both_backends!(every_error_has_its_status);

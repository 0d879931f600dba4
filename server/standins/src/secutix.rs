//! A stand-in for SecuTix's access-control web service (REST, HTTP Basic):
//! `POST …/externalAccessControlService/v1_6/exportList` serves a change log (every change to
//! an item appends it again) from `paginationStart` (null: the beginning) up to
//! `nbMaxResults` items, filtered by `performanceCodes` and `listType`, with `paginationEnd`;
//! `POST …/importControlledTicket` records the controls it receives.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{Shared, bind, spawn};

/// Where the service lives under the stand-in's address.
pub const SERVICE_PATH: &str = "/tnci/backend-apis/externalAccessControlService/v1_6";

#[derive(Default)]
pub struct Data {
    log: Vec<Value>,
}

#[derive(Clone)]
pub struct SecutixStandIn {
    /// The service address (`service_url` of the source).
    pub url: String,
    authorization: String,
    pub shared: Shared<Data>,
}

impl SecutixStandIn {
    pub async fn start(user: &str, password: &str) -> std::io::Result<Self> {
        let (listener, base) = bind().await?;
        // The header reqwest sends for these credentials, so no encoder is needed here.
        let authorization = reqwest::Client::new()
            .get(&base)
            .basic_auth(user, Some(password))
            .build()
            .ok()
            .and_then(|r| r.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned))
            .unwrap_or_default();
        let stand_in = Self { url: format!("{base}{SERVICE_PATH}"), authorization, shared: Shared::default() };
        let router = Router::new()
            .route(&format!("{SERVICE_PATH}/exportList"), post(export_list))
            .route(&format!("{SERVICE_PATH}/importControlledTicket"), post(import_controlled))
            .with_state(stand_in.clone());
        spawn(listener, router);
        Ok(stand_in)
    }

    /// A valid item of `performance`.
    pub fn item(barcode: &str, performance: &str, category: &str) -> Value {
        json!({"barcode": barcode, "performanceCode": performance, "productCode": "P1", "audienceSubCategoryCode": category,
               "cancellationCause": null})
    }

    /// A new item, or a change to one (appended to the log again).
    pub fn put(&self, item: Value) {
        self.shared.with(|d| d.log.push(item));
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(self.authorization.as_str())
    }
}

async fn export_list(State(s): State<SecutixStandIn>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !s.authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, "bad user or password").into_response();
    }
    let start: usize = body["paginationStart"].as_str().and_then(|p| p.parse().ok()).unwrap_or(0);
    let max = body["nbMaxResults"].as_u64().map_or(100, |n| n as usize).max(1);
    let performances: Vec<&str> = body["performanceCodes"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let list_type = body["listType"].as_str().unwrap_or("GREY").to_owned();
    let answer = s.shared.with(|d| {
        let mut items = Vec::new();
        let mut end = start.min(d.log.len());
        for (position, item) in d.log.iter().enumerate().skip(start) {
            if items.len() == max {
                break;
            }
            end = position + 1;
            let cancelled = !item["cancellationCause"].is_null();
            let listed = match list_type.as_str() {
                "WHITE" => !cancelled,
                "BLACK" => cancelled,
                _ => true,
            };
            if listed && performances.iter().any(|p| item["performanceCode"] == *p) {
                items.push(item.clone());
            }
        }
        json!({"statusCode": "success", "accessControlListItems": items, "paginationEnd": end.to_string()}).to_string()
    });
    s.shared.answer(answer).await
}

async fn import_controlled(State(s): State<SecutixStandIn>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !s.authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, "bad user or password").into_response();
    }
    s.shared.record_push(body, json!({"statusCode": "success"}).to_string()).await
}

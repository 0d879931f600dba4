//! The file box of a file source: a file sent to `/upload/source-file` (a plain route, not a
//! server function: the body is the file), checked first, then imported.

use leptos::prelude::*;
use leptos::task::spawn_local;

use billetix_core::domain::{SourceId, UploadAnswer};
use billetix_core::engine::PerformanceId;

use crate::components::error_text::{ErrorLine, fill};
use crate::error::AppError;
use crate::i18n::*;

/// Sends a file to `/upload/source-file` (a check when `dry_run`), and reads the answer.
async fn upload_file(performance: PerformanceId, source: SourceId, input: NodeRef<leptos::html::Input>, dry_run: bool) -> Result<UploadAnswer, AppError> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let communication = |what: &str| AppError::Communication(what.to_owned());
        let file = input.get_untracked().and_then(|i| i.files()).and_then(|f| f.get(0)).ok_or_else(|| communication("no file chosen"))?;
        let name: String = js_sys::encode_uri_component(&file.name()).into();
        let url = format!("/upload/source-file?performance={performance}&source={source}&file_name={name}&dry_run={dry_run}");
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&file);
        let request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(|_| communication("request"))?;
        let promise = window().fetch_with_request(&request);
        let response: web_sys::Response = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(|_| communication("network"))?
            .dyn_into()
            .map_err(|_| communication("response"))?;
        let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| communication("body"))?)
            .await
            .map_err(|_| communication("body"))?
            .as_string()
            .unwrap_or_default();
        if response.ok() {
            serde_json::from_str(&text).map_err(|e| communication(&e.to_string()))
        } else {
            Err(serde_json::from_str::<AppError>(&text).unwrap_or_else(|_| communication(&text)))
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (performance, source, input, dry_run);
        Err(AppError::Communication("uploads run in the browser".to_owned()))
    }
}

/// The file box of a file source: choose, check (columns and first rows), import.
#[component]
pub(super) fn FileUpload(performance: PerformanceId, source: SourceId, done: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let input = NodeRef::<leptos::html::Input>::new();
    let answer = RwSignal::new(None::<UploadAnswer>);
    let busy = RwSignal::new(false);
    let (error, set_error) = signal(None::<AppError>);
    let send = move |dry_run: bool| {
        busy.set(true);
        spawn_local(async move {
            let result = upload_file(performance, source, input, dry_run).await;
            busy.set(false);
            match result {
                Ok(a) => {
                    set_error.set(None);
                    let imported = a.imported.is_some();
                    answer.set(Some(a));
                    if imported {
                        done.run(());
                    }
                }
                Err(e) => {
                    answer.set(None);
                    set_error.set(Some(e));
                }
            }
        });
    };
    view! {
        <div class="upload" data-testid="file-upload">
            <label>{t!(i18n, upload_file)} " " <input type="file" accept=".csv,.txt,.xlsx" node_ref=input data-testid="file-input" /></label>
            <button type="button" data-testid="check-file" on:click=move |_| send(true) disabled=move || busy.get()>{t!(i18n, check_file)}</button>
            <button type="button" data-testid="import-file" on:click=move |_| send(false) disabled=move || busy.get()>{t!(i18n, import_file)}</button>
            <Show when=move || busy.get()><progress data-testid="upload-progress"></progress> " " {t!(i18n, importing)}</Show>
            <ErrorLine error />
            {move || answer.get().map(|a| {
                let result = match a.imported {
                    Some(s) => fill(t_string!(i18n, file_imported), &[
                        ("added", &s.added.to_string()), ("updated", &s.updated.to_string()),
                        ("unchanged", &s.unchanged.to_string()), ("duplicates", &s.duplicates.to_string()),
                    ]),
                    None => fill(t_string!(i18n, file_ready), &[("count", &a.tickets.to_string())]),
                };
                view! {
                    <div class="preview" data-testid="file-preview">
                        <p data-testid="upload-result">{result}</p>
                        <p><small>{a.preview.format.clone()} " · " {t!(i18n, file_preview)} ": "
                            {a.preview.mapping.iter().map(|(k, v)| format!("{k} ← {v}")).collect::<Vec<_>>().join(", ")}</small></p>
                        <table class="grid">
                            <thead><tr>{a.preview.headers.iter().map(|h| view! { <th>{h.clone()}</th> }).collect_view()}</tr></thead>
                            <tbody>{a.preview.rows.iter().map(|r| view! {
                                <tr>{r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view()}</tr>
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                }
            })}
        </div>
    }
}

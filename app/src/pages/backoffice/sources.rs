//! Sources (SPEC §3, §5): the institution's sources tab (add, edit, delete, a form per kind)
//! and, on each performance, its attached sources (attach with options, detach, refresh now,
//! last refresh and its result, ticket counts, a file upload with a check before import).

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use billetix_core::domain::{
    AttachmentView, FieldSpec, FieldType, FieldValues, InstitutionId, RefreshPeriods, SourceId, SourceKind, SourceView,
    UploadAnswer,
};
use billetix_core::engine::PerformanceId;

use crate::components::error_text::{ErrorLine, error_text, fill};
use crate::error::AppError;
use crate::i18n::*;

#[cfg(feature = "ssr")]
mod guard {
    use std::sync::Arc;

    use billetix_core::domain::{InstitutionId, SourceId};
    use billetix_core::engine::PerformanceId;

    use crate::error::AppError;
    use crate::ssr::storage::{SourceRecord, Storage};
    use crate::ssr::{ServerContext, ancestry_of, context, session::current_actor};

    /// The caller administers `institution` (admins manage sources, SPEC §2).
    pub async fn administer(institution: InstitutionId) -> Result<ServerContext, AppError> {
        let context = context()?;
        let actor = current_actor().await?;
        if !actor.can_administer(&ancestry_of(context.storage.as_ref(), institution).await?) {
            return Err(AppError::Forbidden);
        }
        Ok(context)
    }

    pub async fn administer_source(source: SourceId) -> Result<(ServerContext, SourceRecord), AppError> {
        let storage = context()?.storage;
        let record = storage.source(source).await?.ok_or(AppError::NotFound)?;
        Ok((administer(record.institution).await?, record))
    }

    /// The caller has back-office access to the performance (and administers its institution
    /// when `admin_only`); the source, if given, belongs to the performance's institution. The
    /// last value says whether the caller administers the institution.
    pub async fn performance(
        performance: PerformanceId,
        source: Option<SourceId>,
        admin_only: bool,
    ) -> Result<(ServerContext, InstitutionId, Option<SourceRecord>, bool), AppError> {
        let context = context()?;
        let actor = current_actor().await?;
        let storage: &Arc<dyn Storage> = &context.storage;
        let institution = crate::ssr::guard::backoffice_of_performance(storage.as_ref(), &actor, performance).await?;
        let administers = actor.can_administer(&ancestry_of(storage.as_ref(), institution).await?);
        if admin_only && !administers {
            return Err(AppError::Forbidden);
        }
        let record = match source {
            Some(id) => Some(storage.source(id).await?.filter(|s| s.institution == institution).ok_or(AppError::NotFound)?),
            None => None,
        };
        Ok((context, institution, record, administers))
    }
}

#[cfg(feature = "ssr")]
fn view_of(record: crate::ssr::storage::SourceRecord) -> SourceView {
    let secrets_set = record
        .sealed_secrets
        .as_ref()
        .map(|_| record.kind.fields().iter().filter(|f| f.field_type == FieldType::Secret).map(|f| f.name.to_owned()).collect())
        .unwrap_or_default();
    SourceView { id: record.id, kind: record.kind, name: record.name, settings: record.settings, secrets_set, periods: record.periods }
}

#[server(endpoint = "sources/list", input = leptos::server_fn::codec::Json)]
pub async fn institution_sources(institution: InstitutionId) -> Result<Vec<SourceView>, AppError> {
    let context = guard::administer(institution).await?;
    Ok(context.storage.sources(institution).await?.into_iter().map(view_of).collect())
}

/// Creates (`source: None`) or updates a source. Secrets left empty keep their stored value,
/// unless an address changed: then every secret is to be typed again.
#[server(endpoint = "sources/save", input = leptos::server_fn::codec::Json)]
pub async fn save_source(
    institution: InstitutionId,
    source: Option<SourceId>,
    kind: SourceKind,
    name: String,
    settings: FieldValues,
    secrets: FieldValues,
    periods: RefreshPeriods,
) -> Result<SourceId, AppError> {
    use crate::ssr::storage::NewSource;
    let context = guard::administer(institution).await?;
    let name = billetix_core::domain::DisplayName::parse(&name)?;
    let existing = match source {
        Some(id) => Some(context.storage.source(id).await?.filter(|s| s.institution == institution && s.kind == kind).ok_or(AppError::NotFound)?),
        None => None,
    };
    // Only the kind's own non-secret fields are kept.
    let settings: FieldValues = settings
        .into_iter()
        .filter(|(k, _)| kind.fields().iter().any(|f| f.name == k && f.field_type != FieldType::Secret))
        .collect();
    let sealed = context.sources.prepare(kind, &settings, &secrets, existing.as_ref()).await?;
    let periods = RefreshPeriods {
        long_minutes: periods.long_minutes.max(1),
        short_minutes: periods.short_minutes.max(1),
        short_window_hours: periods.short_window_hours,
    };
    let new = NewSource { institution, kind, name: name.as_str().to_owned(), settings, sealed_secrets: sealed, periods };
    match existing {
        Some(existing) => {
            context.storage.update_source(existing.id, &new).await?;
            Ok(existing.id)
        }
        None => context.storage.create_source(&new).await.map_err(|e| match e {
            crate::ssr::storage::StorageError::AlreadyExists => AppError::AlreadyExists(kind.title().to_owned()),
            other => other.into(),
        }),
    }
}

#[server(endpoint = "sources/delete", input = leptos::server_fn::codec::Json)]
pub async fn delete_source(source: SourceId) -> Result<(), AppError> {
    let (context, _) = guard::administer_source(source).await?;
    context.storage.delete_source(source).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcesOfPerformance {
    pub attached: Vec<AttachmentView>,
    /// The institution's sources not attached yet (for its admins only: they hold settings).
    pub available: Vec<SourceView>,
    /// Whether the caller may attach, detach and refresh (the institution's admins, SPEC §2).
    pub manage: bool,
}

#[server(endpoint = "sources/of_performance", input = leptos::server_fn::codec::Json)]
pub async fn performance_sources(performance: PerformanceId) -> Result<SourcesOfPerformance, AppError> {
    let (context, institution, _, manage) = guard::performance(performance, None, false).await?;
    let attached = context.storage.attachments(performance).await?;
    let available = match manage {
        true => context
            .storage
            .sources(institution)
            .await?
            .into_iter()
            .filter(|s| !attached.iter().any(|a| a.source == s.id))
            .map(view_of)
            .collect(),
        false => Vec::new(),
    };
    Ok(SourcesOfPerformance { attached, available, manage })
}

#[server(endpoint = "sources/attach", input = leptos::server_fn::codec::Json)]
pub async fn attach_source(performance: PerformanceId, source: SourceId, options: FieldValues) -> Result<(), AppError> {
    let (context, _, record, _) = guard::performance(performance, Some(source), true).await?;
    let record = record.ok_or(AppError::NotFound)?;
    let options: FieldValues = options.into_iter().filter(|(k, _)| record.kind.attachment_fields().iter().any(|f| f.name == k)).collect();
    context.sources.check_options(&record, &options)?;
    context.storage.attach_source(performance, source, &options, crate::ssr::now_millis()).await?;
    context.sources.wake_scheduler();
    Ok(())
}

/// Detaches a source; its scanned tickets stay, with their passes (and come back with them if
/// imported again). When they hold passes, the caller must name how many (`passes_confirmed`),
/// so nobody detaches a running door's source by a slip.
#[server(endpoint = "sources/detach", input = leptos::server_fn::codec::Json)]
pub async fn detach_source(performance: PerformanceId, source: SourceId, passes_confirmed: Option<u64>) -> Result<(), AppError> {
    let (context, _, _, _) = guard::performance(performance, Some(source), true).await?;
    let attached = context.storage.attachments(performance).await?.into_iter().find(|a| a.source == source);
    let passes = attached.map_or(0, |a| a.passes);
    if passes > 0 && passes_confirmed != Some(passes) {
        return Err(AppError::DetachNeedsConfirmation { passes });
    }
    context.storage.detach_source(performance, source).await?;
    tracing::info!(%performance, %source, passes, "source detached");
    context.performances.forget(performance);
    Ok(())
}

#[server(endpoint = "sources/refresh", input = leptos::server_fn::codec::Json)]
pub async fn refresh_source(performance: PerformanceId, source: SourceId) -> Result<(), AppError> {
    let (context, _, _, _) = guard::performance(performance, Some(source), true).await?;
    context.storage.request_refresh(performance, source, crate::ssr::now_millis()).await?;
    context.sources.wake_scheduler();
    Ok(())
}

fn label(i18n: leptos_i18n::I18nContext<Locale>, field: &FieldSpec) -> &'static str {
    if i18n.get_locale() == Locale::fr { field.label_fr } else { field.label_en }
}

fn kind_title(i18n: leptos_i18n::I18nContext<Locale>, kind: SourceKind) -> &'static str {
    if i18n.get_locale() == Locale::fr { kind.title_fr() } else { kind.title() }
}

/// Inputs for a list of fields, bound to `values`; `secrets_set` shows which secrets are kept.
fn field_inputs(fields: &'static [FieldSpec], values: RwSignal<FieldValues>, secrets_set: Vec<String>) -> impl IntoView {
    let i18n = use_i18n();
    fields
        .iter()
        .map(|field| {
            let name = field.name;
            let value = move || values.with(|v| v.get(name).cloned().unwrap_or_default());
            let set = move |text: String| values.update(|v| {
                v.insert(name.to_owned(), text);
            });
            let required = if field.required { " *" } else { "" };
            let input = match field.field_type {
                FieldType::Flag => view! {
                    <input type="checkbox" name=name prop:checked=move || value() == "true"
                        on:change=move |ev| set(event_target_checked(&ev).to_string()) />
                }
                .into_any(),
                FieldType::Secret => {
                    let kept = secrets_set.iter().any(|s| s == name);
                    view! {
                        <input type="password" name=name autocomplete="off" prop:value=value
                            placeholder=move || if kept { t_string!(i18n, secret_kept).to_string() } else { String::new() }
                            on:input=move |ev| set(event_target_value(&ev)) />
                    }
                    .into_any()
                }
                FieldType::Integer => view! {
                    <input type="text" inputmode="numeric" name=name prop:value=value placeholder=field.default
                        on:input=move |ev| set(event_target_value(&ev)) />
                }
                .into_any(),
                FieldType::Text | FieldType::Url => view! {
                    <input type="text" name=name prop:value=value placeholder=field.default
                        on:input=move |ev| set(event_target_value(&ev)) />
                }
                .into_any(),
            };
            view! { <label class="field">{label(i18n, field)} {required} " " {input}</label> }
        })
        .collect_view()
}

/// The add / edit form of a source.
#[component]
fn SourceForm(institution: InstitutionId, editing: Option<SourceView>, done: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let source = editing.as_ref().map(|s| s.id);
    let kind = RwSignal::new(editing.as_ref().map_or(SourceKind::File, |s| s.kind));
    let name = RwSignal::new(editing.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    let values = RwSignal::new(editing.as_ref().map(|s| s.settings.clone()).unwrap_or_default());
    let periods = editing.as_ref().map(|s| s.periods).unwrap_or_default();
    let long = RwSignal::new(periods.long_minutes.to_string());
    let short = RwSignal::new(periods.short_minutes.to_string());
    let window = RwSignal::new(periods.short_window_hours.to_string());
    let secrets_set = editing.as_ref().map(|s| s.secrets_set.clone()).unwrap_or_default();
    let (error, set_error) = signal(None::<AppError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let kind = kind.get_untracked();
        let all = values.get_untracked();
        let is_secret = |k: &str| kind.fields().iter().any(|f| f.name == k && f.field_type == FieldType::Secret);
        let (secrets, settings): (FieldValues, FieldValues) = all.into_iter().partition(|(k, _)| is_secret(k));
        let number = |s: RwSignal<String>, default: u32| s.get_untracked().trim().parse().unwrap_or(default);
        let periods = RefreshPeriods { long_minutes: number(long, 240), short_minutes: number(short, 5), short_window_hours: number(window, 24) };
        spawn_local(async move {
            match save_source(institution, source, kind, name.get_untracked(), settings, secrets, periods).await {
                Ok(_) => {
                    set_error.set(None);
                    done.run(());
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card source-form" on:submit=submit data-testid="source-form">
            <h3>{if source.is_some() { t!(i18n, edit).into_any() } else { t!(i18n, add_source).into_any() }}</h3>
            <label class="field">{t!(i18n, source_kind)} " "
                <select name="kind" disabled=source.is_some()
                    on:change=move |ev| if let Some(k) = SourceKind::parse(&event_target_value(&ev)) { kind.set(k) }>
                    {SourceKind::ALL.iter().map(|k| view! {
                        <option value=k.code() selected=move || kind.get() == *k>{kind_title(i18n, *k)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">{t!(i18n, source_name)} " "
                <input name="source-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) /></label>
            {move || field_inputs(kind.get().fields(), values, secrets_set.clone())}
            <Show when=move || !kind.get().is_file()>
                <label class="field">{t!(i18n, long_period)} " "
                    <input name="long-period" inputmode="numeric" prop:value=long on:input=move |ev| long.set(event_target_value(&ev)) /></label>
                <label class="field">{t!(i18n, short_period)} " "
                    <input name="short-period" inputmode="numeric" prop:value=short on:input=move |ev| short.set(event_target_value(&ev)) /></label>
                <label class="field">{t!(i18n, short_window)} " "
                    <input name="short-window" inputmode="numeric" prop:value=window on:input=move |ev| window.set(event_target_value(&ev)) /></label>
            </Show>
            <ErrorLine error />
            <button type="submit">{t!(i18n, save)}</button>
            <button type="button" on:click=move |_| done.run(())>{t!(i18n, cancel)}</button>
        </form>
    }
}

/// The institution's sources tab.
#[component]
pub fn SourcesTab(institution: InstitutionId) -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let sources = Resource::new(move || version.get(), move |_| institution_sources(institution));
    let editing = RwSignal::new(None::<Option<SourceView>>);
    let (error, set_error) = signal(None::<AppError>);
    let done = Callback::new(move |()| {
        editing.set(None);
        version.update(|v| *v += 1);
    });
    let remove = move |id: SourceId| {
        let confirmed = window().confirm_with_message(&t_string!(i18n, confirm_delete_source).to_string()).unwrap_or(false);
        if confirmed {
            spawn_local(async move {
                match delete_source(id).await {
                    Ok(()) => done.run(()),
                    Err(e) => set_error.set(Some(e)),
                }
            });
        }
    };
    view! {
        <section data-testid="sources-tab">
            <ErrorLine error />
            <table class="grid" data-testid="sources">
                <thead><tr><th>{t!(i18n, source_name)}</th><th>{t!(i18n, source_kind)}</th><th></th></tr></thead>
                <tbody>
                    <Transition>
                        {move || sources.get().map(|r| match r {
                            Ok(list) if list.is_empty() => view! { <tr><td colspan="3" class="empty">{t!(i18n, sources_none)}</td></tr> }.into_any(),
                            Ok(list) => list.into_iter().map(|s| {
                                let id = s.id;
                                let edit = s.clone();
                                view! {
                                    <tr data-source=s.name.clone()>
                                        <td>{s.name.clone()}</td><td>{kind_title(i18n, s.kind)}</td>
                                        <td>
                                            <button on:click=move |_| editing.set(Some(Some(edit.clone())))>{t!(i18n, edit)}</button>
                                            <button class="danger" on:click=move |_| remove(id)>{t!(i18n, delete)}</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view().into_any(),
                            Err(e) => { set_error.set(Some(e)); ().into_any() }
                        })}
                    </Transition>
                </tbody>
            </table>
            {move || match editing.get() {
                Some(source) => view! { <SourceForm institution editing=source done /> }.into_any(),
                None => view! {
                    <button data-testid="add-source" on:click=move |_| editing.set(Some(None))>{t!(i18n, add_source)}</button>
                }.into_any(),
            }}
        </section>
    }
}

fn format_millis(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.with_timezone(&chrono::Local).format("%d/%m/%Y %H:%M:%S").to_string())
        .unwrap_or_default()
}

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
fn FileUpload(performance: PerformanceId, source: SourceId, done: Callback<()>) -> impl IntoView {
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

/// The sources of one performance, in its grid row.
#[component]
pub fn PerformanceSourcesPanel(
    performance: PerformanceId,
    changed: Callback<()>,
    /// Performances whose box is open: kept by the grid, so a refreshed row stays open.
    open_panels: RwSignal<std::collections::HashSet<PerformanceId>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = Signal::derive(move || open_panels.with(|p| p.contains(&performance)));
    let version = RwSignal::new(0u32);
    let data = Resource::new(move || (open.get(), version.get()), move |(open, _)| async move {
        if open { performance_sources(performance).await.map(Some) } else { Ok(None) }
    });
    let (error, set_error) = signal(None::<AppError>);
    let reload = move || {
        version.update(|v| *v += 1);
        changed.run(());
    };
    let report = move |result: Result<(), AppError>| match result {
        Ok(()) => {
            set_error.set(None);
            reload();
        }
        Err(e) => set_error.set(Some(e)),
    };
    // While an import runs, look again every second for its progress.
    Effect::new(move || {
        let running = data.get().and_then(|r| r.ok()).flatten().is_some_and(|d| d.attached.iter().any(|a| a.running));
        if running {
            set_timeout(move || version.update(|v| *v += 1), std::time::Duration::from_secs(1));
        }
    });
    let choice = RwSignal::new(None::<SourceView>);
    let options = RwSignal::new(FieldValues::new());
    let attach = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(source) = choice.get_untracked() else { return };
        spawn_local(async move { report(attach_source(performance, source.id, options.get_untracked()).await) });
    };
    // Without `manage` (not an admin of the institution) the row only shows how imports went.
    let attachment_view = move |a: AttachmentView, manage: bool| {
        let source = a.source;
        let last = match a.last_refresh_at {
            Some(at) => format_millis(at),
            None => t_string!(i18n, never).to_string(),
        };
        let passes = a.passes;
        let detach = move |_| {
            let question = if passes > 0 {
                crate::components::error_text::fill(t_string!(i18n, confirm_detach_with_passes), &[("passes", &passes.to_string())])
            } else {
                t_string!(i18n, confirm_detach).to_string()
            };
            if window().confirm_with_message(&question).unwrap_or(false) {
                spawn_local(async move { report(detach_source(performance, source, Some(passes)).await) });
            }
        };
        let refresh = move |_| spawn_local(async move { report(refresh_source(performance, source).await) });
        let is_file = a.kind.is_file();
        view! {
            <li data-attachment=a.name.clone() data-testid="attachment">
                <strong>{a.name.clone()}</strong> " (" {kind_title(i18n, a.kind)} ") · "
                {t!(i18n, tickets_count)} ": " <span data-testid="attachment-tickets">{a.tickets}</span>
                {(a.duplicates > 0).then(|| view! { " · " {t!(i18n, duplicates_count)} ": " {a.duplicates} })}
                " · " {t!(i18n, last_refresh)} ": " {last}
                {a.running.then(|| view! { " " <progress data-testid="refresh-progress"></progress> " " {a.progress} })}
                {a.last_error.clone().map(|e| view! { <p class="error" data-testid="attachment-error">{e}</p> })}
                {a.push_error.clone().map(|e| view! { <p class="error">{t!(i18n, push_failed)} " " {e}</p> })}
                {manage.then(|| view! {
                    <div>
                        <Show when=move || !is_file>
                            <button type="button" data-testid="refresh-now" on:click=refresh>{t!(i18n, refresh_now)}</button>
                        </Show>
                        <button type="button" class="danger" on:click=detach>{t!(i18n, detach)}</button>
                    </div>
                })}
                {is_file.then(|| view! { <FileUpload performance source done=Callback::new(move |()| reload()) /> }.into_any())}
            </li>
        }
        .into_any()
    };
    view! {
        <details class="sources" data-testid="performance-sources" prop:open=move || open.get()>
            <summary on:click=move |ev| {
                // The grid's set decides, not the browser's own toggle.
                ev.prevent_default();
                open_panels.update(|p| if !p.remove(&performance) { p.insert(performance); });
            }>{t!(i18n, sources_button)}</summary>
            <ErrorLine error />
            <Transition>
                {move || data.get().map(|r| match r {
                    Ok(Some(d)) => {
                        let available = d.available.clone();
                        let manage = d.manage;
                        view! {
                            <ul class="attachments">{d.attached.into_iter().map(|a| attachment_view(a, manage)).collect_view()}</ul>
                            {manage.then(|| view! {
                                <form class="attach" on:submit=attach data-testid="attach-form">
                                    <select name="attach-source" on:change=move |ev| {
                                        let id = event_target_value(&ev).parse::<i64>().ok();
                                        choice.set(available.iter().find(|s| Some(s.id.0) == id).cloned());
                                        options.set(FieldValues::new());
                                    }>
                                        <option value="">"—"</option>
                                        {d.available.iter().map(|s| view! { <option value=s.id.to_string()>{s.name.clone()}</option> }).collect_view()}
                                    </select>
                                    {move || choice.get().map(|s| field_inputs(s.kind.attachment_fields(), options, Vec::new()))}
                                    <button type="submit">{t!(i18n, attach_source)}</button>
                                </form>
                            })}
                        }.into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <p class="error">{error_text(i18n, &e)}</p> }.into_any(),
                })}
            </Transition>
        </details>
    }
}

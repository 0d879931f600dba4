//! The usage report (SPEC §2, billing; root only): per month, the (institution, login) pairs
//! that downloaded ticket numbers to a device, with a CSV export.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::error_text::ErrorLine;
use crate::error::AppError;
use crate::i18n::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    /// `YYYY-MM`, in UTC.
    pub month: String,
    pub institution: String,
    pub login: String,
}

/// The pairs used in each month from `from` to `to` (both `YYYY-MM`, inclusive).
#[server(endpoint = "usage_report", input = leptos::server_fn::codec::Json)]
pub async fn usage_report(from: String, to: String) -> Result<Vec<UsageRow>, AppError> {
    use crate::ssr::{ancestry_of, context, session::current_actor};
    use chrono::{Datelike, NaiveDate};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let root = storage.root_institution().await?.ok_or(AppError::NotFound)?;
    if !actor.can_administer(&ancestry_of(storage.as_ref(), root.id).await?) {
        return Err(AppError::Forbidden);
    }
    let month = |field: &str, text: &str| {
        NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
            .map_err(|_| AppError::InvalidInput { field: field.to_owned(), reason: billetix_core::domain::ParseFailure::BadCharacters })
    };
    let start = month("from", &from)?;
    let end = month("to", &to)?;
    let after_end = if end.month() == 12 { NaiveDate::from_ymd_opt(end.year() + 1, 1, 1) } else { NaiveDate::from_ymd_opt(end.year(), end.month() + 1, 1) }
        .ok_or(AppError::InvalidInput { field: "to".into(), reason: billetix_core::domain::ParseFailure::BadCharacters })?;
    let millis = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis());
    let downloads = storage.downloads(millis(start), millis(after_end)).await?;
    let mut rows: Vec<UsageRow> = downloads
        .into_iter()
        .filter_map(|d| {
            let at = chrono::DateTime::from_timestamp_millis(d.at)?;
            Some(UsageRow { month: at.format("%Y-%m").to_string(), institution: d.institution, login: d.login })
        })
        .collect();
    rows.sort_by(|a, b| (&a.month, &a.institution, &a.login).cmp(&(&b.month, &b.institution, &b.login)));
    rows.dedup();
    Ok(rows)
}

fn csv_of(rows: &[UsageRow]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut csv = String::from("month,institution,login\n");
    for row in rows {
        csv.push_str(&format!("{},{},{}\n", row.month, quote(&row.institution), quote(&row.login)));
    }
    csv
}

/// This month as `YYYY-MM`, by the clock of wherever the tab is drawn: `chrono`'s own clock
/// panics in the browser's WASM (it did, opening this tab).
fn this_month() -> String {
    #[cfg(target_arch = "wasm32")]
    let now = chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64);
    #[cfg(not(target_arch = "wasm32"))]
    let now = Some(chrono::Utc::now());
    now.map(|at| at.format("%Y-%m").to_string()).unwrap_or_default()
}

#[component]
pub fn UsageTab() -> impl IntoView {
    let i18n = use_i18n();
    let this_month = this_month();
    let from = RwSignal::new(this_month.clone());
    let to = RwSignal::new(this_month);
    let report = Resource::new(move || (from.get(), to.get()), |(from, to)| usage_report(from, to));
    let (error, set_error) = signal(None::<AppError>);
    view! {
        <section data-testid="usage-tab">
            <div class="toolbar">
                <label>{t!(i18n, usage_from)} " " <input type="month" name="usage-from" prop:value=from
                    on:change=move |ev| from.set(event_target_value(&ev)) /></label>
                <label>{t!(i18n, usage_to)} " " <input type="month" name="usage-to" prop:value=to
                    on:change=move |ev| to.set(event_target_value(&ev)) /></label>
            </div>
            <ErrorLine error />
            <Transition>
                {move || report.get().map(|r| match r {
                    Ok(rows) => {
                        let href = format!("data:text/csv;charset=utf-8,{}", js_encode(&csv_of(&rows)));
                        view! {
                            <a href=href download="billetix-usage.csv" data-testid="usage-export">{t!(i18n, export_csv)}</a>
                            <table class="grid" data-testid="usage">
                                <thead><tr><th>{t!(i18n, usage_month)}</th><th>{t!(i18n, institutions)}</th><th>{t!(i18n, field_login)}</th></tr></thead>
                                <tbody>{rows.into_iter().map(|r| view! {
                                    <tr><td>{r.month}</td><td>{r.institution}</td><td>{r.login}</td></tr>
                                }).collect_view()}</tbody>
                            </table>
                        }.into_any()
                    }
                    Err(e) => { set_error.set(Some(e)); ().into_any() }
                })}
            </Transition>
        </section>
    }
}

/// Percent-encoding for a `data:` address.
fn js_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

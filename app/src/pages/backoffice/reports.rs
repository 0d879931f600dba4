//! Reports (SPEC §3): per performance, one row per ticket (state, category, holder, source,
//! passes, first entry), filtered by barcode or holder name, sorted on any column, paged by the
//! server; totals by category; a ticket's scan history and its fields on a click; exports to
//! .xlsx and CSV (`/export/report`, served by the server crate).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use billetix_core::domain::{
    ExportFormat, HistoryEntry, PageSize, ReportColumn, ReportFilter, ReportPage, ReportQuery,
    ReportRow, ScanAnomaly, TicketHistory,
};
use billetix_core::engine::{Direction, PerformanceId, Refusal, TicketState, Verdict};

use crate::components::error_text::{ErrorLine, fill};
use crate::error::AppError;
use crate::i18n::*;

/// A report page and the venue's time zone its times are shown in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAnswer {
    pub page: ReportPage,
    pub time_zone: String,
}

/// The storage and the venue's time zone, provided the caller has back-office access to the
/// performance.
#[cfg(feature = "ssr")]
async fn guard(
    performance: PerformanceId,
) -> Result<(std::sync::Arc<dyn crate::ssr::storage::Storage>, String), AppError> {
    let storage = crate::ssr::context()?.storage;
    let actor = crate::ssr::session::current_actor().await?;
    crate::ssr::guard::backoffice_of_performance(storage.as_ref(), &actor, performance).await?;
    let zone = storage
        .performance_contexts(&[performance])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?
        .time_zone;
    Ok((storage, zone))
}

#[server(endpoint = "reports/page", input = leptos::server_fn::codec::Json)]
pub async fn fetch_report_page(query: ReportQuery) -> Result<ReportAnswer, AppError> {
    let (storage, time_zone) = guard(query.performance).await?;
    Ok(ReportAnswer {
        page: storage.report_page(&query).await?,
        time_zone,
    })
}

#[server(endpoint = "reports/history", input = leptos::server_fn::codec::Json)]
pub async fn fetch_ticket_history(
    performance: PerformanceId,
    barcode: String,
) -> Result<TicketHistory, AppError> {
    let (storage, _) = guard(performance).await?;
    storage
        .ticket_history(performance, barcode.trim())
        .await?
        .ok_or(AppError::NotFound)
}

/// How long typing pauses before the filter is sent.
const FILTER_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(300);

/// The page sizes offered; the server clamps any other to [`PageSize::MAX`].
const PAGE_SIZES: [u32; 4] = [25, 50, 100, 200];

/// Where one page sits among the rows that match: its first and last row, counted from 1 (both
/// 0 when the page has none), and the number of the last page (pages counted from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageSpan {
    from: u64,
    to: u64,
    last_page: u32,
}

impl PageSpan {
    fn of(page: u32, size: PageSize, rows: usize, total: u64) -> Self {
        let size = u64::from(size.get());
        let last_page = u32::try_from(total.saturating_sub(1) / size).unwrap_or(u32::MAX);
        if rows == 0 {
            return PageSpan { from: 0, to: 0, last_page };
        }
        let first = u64::from(page) * size;
        PageSpan { from: first + 1, to: first + rows as u64, last_page }
    }
}

fn format_time(millis: Option<i64>, zone: &str) -> String {
    use std::str::FromStr;
    let (Some(millis), Ok(zone)) = (millis, chrono_tz::Tz::from_str(zone)) else {
        return String::new();
    };
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| {
            t.with_timezone(&zone)
                .format("%d/%m/%Y %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

fn column_title(i18n: leptos_i18n::I18nContext<Locale>, column: ReportColumn) -> String {
    match column {
        ReportColumn::Barcode => t_string!(i18n, report_col_barcode),
        ReportColumn::State => t_string!(i18n, report_col_state),
        ReportColumn::Category => t_string!(i18n, report_col_category),
        ReportColumn::Holder => t_string!(i18n, report_col_holder),
        ReportColumn::Source => t_string!(i18n, report_col_source),
        ReportColumn::FirstEntry => t_string!(i18n, report_col_first_entry),
        ReportColumn::Passes => t_string!(i18n, report_col_passes),
    }
    .to_string()
}

fn state_text(i18n: leptos_i18n::I18nContext<Locale>, state: TicketState) -> String {
    match state {
        TicketState::Valid => t_string!(i18n, report_state_valid),
        TicketState::Cancelled => t_string!(i18n, report_state_cancelled),
        TicketState::Duplicated => t_string!(i18n, report_state_duplicated),
        TicketState::Unknown => t_string!(i18n, report_state_unknown),
    }
    .to_string()
}

/// The reason a door gave, in the reader's language.
fn verdict_text(i18n: leptos_i18n::I18nContext<Locale>, verdict: &Verdict, zone: &str) -> String {
    let reason = match verdict {
        Verdict::Accepted { .. } => return t_string!(i18n, report_reason_ok).to_string(),
        Verdict::Refused { reason } => reason,
    };
    match reason {
        Refusal::AlreadyScanned { first_at, device } => fill(
            t_string!(i18n, report_reason_already_scanned),
            &[
                (
                    "when",
                    &format_time(Some(first_at.timestamp_millis()), zone),
                ),
                ("device", device),
            ],
        ),
        Refusal::Cancelled => t_string!(i18n, report_reason_cancelled).to_string(),
        Refusal::Reissued => t_string!(i18n, report_reason_reissued).to_string(),
        Refusal::UnknownNumber => t_string!(i18n, report_reason_unknown_number).to_string(),
        Refusal::UnknownStateTicket => t_string!(i18n, report_reason_unknown_state).to_string(),
        Refusal::FilteredCategory { category } => fill(
            t_string!(i18n, report_reason_filtered),
            &[("category", category)],
        ),
        Refusal::OtherPerformance { performance } => fill(
            t_string!(i18n, report_reason_other_performance),
            &[("performance", &performance.to_string())],
        ),
        Refusal::PerformanceNotUnderControl => {
            t_string!(i18n, report_reason_not_under_control).to_string()
        }
        Refusal::ExitWithoutEntry => t_string!(i18n, report_reason_exit_without_entry).to_string(),
        Refusal::AlreadyInside => t_string!(i18n, report_reason_already_inside).to_string(),
        Refusal::TotalQuotaReached { max } | Refusal::DailyQuotaReached { max } => fill(
            t_string!(i18n, report_reason_quota),
            &[("max", &max.to_string())],
        ),
        Refusal::NotValidNow { .. } => t_string!(i18n, report_reason_not_valid_now).to_string(),
        Refusal::WrongEntrance { .. } | Refusal::TooEarly { .. } | Refusal::TooLate { .. } => crate::pages::scanner::verdict::gate_reason_text(i18n, reason),
    }
}

fn anomaly_text(i18n: leptos_i18n::I18nContext<Locale>, anomaly: ScanAnomaly) -> String {
    match anomaly {
        ScanAnomaly::DoubleEntry => t_string!(i18n, report_anomaly_double_entry),
        ScanAnomaly::AdmittedAgainstRules => t_string!(i18n, report_anomaly_against_rules),
        ScanAnomaly::ExitWithoutEntry => t_string!(i18n, report_anomaly_exit_without_entry),
    }
    .to_string()
}

/// Who decided a scan: the server (and the round trip its device measured), or the device (why,
/// and whether the server's own verdict agreed).
fn decided_text(i18n: leptos_i18n::I18nContext<Locale>, entry: &HistoryEntry) -> String {
    if !entry.offline {
        let server = t_string!(i18n, report_decided_server).to_string();
        return match entry.round_trip_ms {
            Some(ms) => format!("{server} · {ms} ms"),
            None => server,
        };
    }
    let mut text = t_string!(i18n, report_decided_device).to_string();
    if let Some(why) = entry.device_reason {
        text = format!("{text} ({})", crate::pages::scanner::why_text(i18n, why));
    }
    match entry.server_agreed {
        Some(true) => format!("{text} · {}", t_string!(i18n, report_server_agreed)),
        Some(false) => format!("{text} · {}", t_string!(i18n, report_server_disagreed)),
        None => text,
    }
}

/// For a device's decision, its clock beside the server's, flagged a minute or more apart.
fn device_clock_text(i18n: leptos_i18n::I18nContext<Locale>, entry: &HistoryEntry, zone: &str) -> String {
    if !entry.offline {
        return String::new();
    }
    let device = format_time(Some(entry.client_time), zone);
    match entry.clock_skew_ms {
        Some(skew) if entry.clock_off() => {
            let minutes = (skew.abs() as f64 / 60_000.0).round().max(1.0) as i64;
            let off = crate::components::error_text::fill(t_string!(i18n, report_clock_off), &[("minutes", &minutes.to_string())]);
            format!("{device} ({}: {}) · {off}", t_string!(i18n, report_decided_server), format_time(entry.server_clock(), zone))
        }
        _ => device,
    }
}

/// The scans and fields of the ticket clicked.
#[component]
fn TicketDetail(performance: PerformanceId, row: ReportRow, zone: String) -> impl IntoView {
    let i18n = use_i18n();
    let barcode = row.barcode.clone();
    let history = Resource::new(
        move || barcode.clone(),
        move |barcode| fetch_ticket_history(performance, barcode),
    );
    let entry_view = {
        let zone = zone.clone();
        move |entry: HistoryEntry| {
            let direction = match entry.direction {
                Direction::In => t_string!(i18n, report_direction_in).to_string(),
                Direction::Out => t_string!(i18n, report_direction_out).to_string(),
            };
            view! {
                <tr class:anomaly=entry.anomaly.is_some() data-testid="history-scan">
                    <td>{format_time(Some(entry.at), &zone)}</td>
                    <td>{entry.device.clone()}</td>
                    <td>{direction}</td>
                    <td>{verdict_text(i18n, &entry.verdict, &zone)}</td>
                    <td data-testid="history-decided" data-decided-by=if entry.offline { "device" } else { "server" }>{decided_text(i18n, &entry)}</td>
                    <td data-testid="history-device-clock" class:error=entry.clock_off()>{device_clock_text(i18n, &entry, &zone)}</td>
                    <td class="error">{entry.anomaly.map(|a| anomaly_text(i18n, a))}</td>
                </tr>
            }
        }
    };
    view! {
        <div class="card report-detail" data-testid="report-detail">
            <h4>{row.barcode.clone()} " · " {row.holder.clone().unwrap_or_default()}</h4>
            {(!row.fields.is_empty()).then(|| view! {
                <dl class="report-fields">
                    {row.fields.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> }).collect_view()}
                </dl>
            })}
            <Transition>
                {move || history.get().map(|r| match r {
                    Ok(h) if h.scans.is_empty() => view! { <p class="muted">{t!(i18n, report_no_scans)}</p> }.into_any(),
                    Ok(h) => view! {
                        <table class="grid" data-testid="report-history">
                            <thead><tr>
                                <th>{t!(i18n, report_history_time)}</th><th>{t!(i18n, report_history_device)}</th>
                                <th>{t!(i18n, report_history_direction)}</th><th>{t!(i18n, report_history_verdict)}</th>
                                <th>{t!(i18n, report_history_decided)}</th><th>{t!(i18n, report_history_device_clock)}</th>
                                <th>{t!(i18n, report_history_anomaly)}</th>
                            </tr></thead>
                            <tbody>{h.scans.into_iter().map(entry_view.clone()).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{crate::components::error_text::error_text(i18n, &e)}</p> }.into_any(),
                })}
            </Transition>
        </div>
    }
}

/// The report of one performance.
#[component]
pub fn ReportPanel(performance: PerformanceId) -> impl IntoView {
    let i18n = use_i18n();
    let typed = RwSignal::new(String::new());
    let filter = RwSignal::new(ReportFilter::default());
    let sort = RwSignal::new((ReportColumn::Barcode, false));
    let page = RwSignal::new(0u32);
    let size = RwSignal::new(PageSize::DEFAULT);
    let selected = RwSignal::new(None::<ReportRow>);
    let (error, set_error) = signal(None::<AppError>);
    // The answer carries the page and size it was asked for, which the range line counts from.
    let answer = Resource::new(
        move || (filter.get(), sort.get(), page.get(), size.get()),
        move |(filter, (column, descending), page, page_size)| async move {
            let query = ReportQuery { performance, page, page_size, sort: column, descending, filter };
            fetch_report_page(query).await.map(|answer| (page, page_size, answer))
        },
    );
    // A new size keeps the first row shown on the page shown.
    let on_size = move |ev: leptos::ev::Event| {
        let Ok(rows) = event_target_value(&ev).parse::<u32>() else { return };
        let new = PageSize::new(rows);
        let first = u64::from(page.get_untracked()) * u64::from(size.get_untracked().get());
        page.set(u32::try_from(first / u64::from(new.get())).unwrap_or(0));
        size.set(new);
    };
    // Sent once typing pauses: the text still the same after the delay.
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        typed.set(text.clone());
        set_timeout(
            move || {
                if typed.get_untracked() == text {
                    page.set(0);
                    filter.set(ReportFilter::new(&text));
                }
            },
            FILTER_DEBOUNCE,
        );
    };
    let header = move |column: ReportColumn| {
        let arrow = move || match sort.get() {
            (c, false) if c == column => " ▲",
            (c, true) if c == column => " ▼",
            _ => "",
        };
        let toggle = move |_| {
            sort.update(|(c, descending)| {
                if *c == column {
                    *descending = !*descending;
                } else {
                    *c = column;
                    *descending = false;
                }
            });
            page.set(0);
        };
        view! {
            <th class="sortable" data-column=format!("{column:?}") on:click=toggle>{column_title(i18n, column)} {arrow}</th>
        }
    };
    view! {
        <section class="report" data-testid="report-panel">
            <div class="toolbar">
                <label>{t!(i18n, report_filter)} " "
                    <input type="search" data-testid="report-filter" prop:value=typed on:input=on_input
                        placeholder=move || t_string!(i18n, report_filter_placeholder).to_string() />
                </label>
                <a href=ExportFormat::Xlsx.url(performance) download data-testid="export-xlsx">{t!(i18n, report_export_xlsx)}</a>
                " "
                <a href=ExportFormat::Csv.url(performance) download data-testid="export-csv">{t!(i18n, report_export_csv)}</a>
            </div>
            <ErrorLine error />
            <Transition>
                {move || answer.get().map(|r| match r {
                    Ok((shown_page, shown_size, ReportAnswer { page: report, time_zone })) => {
                        set_error.set(None);
                        let total = report.total_matching;
                        let span = PageSpan::of(shown_page, shown_size, report.rows.len(), total);
                        let last_page = span.last_page;
                        // Past the last page (tickets went since it was asked for): to the last.
                        if total > 0 && report.rows.is_empty() && shown_page > last_page {
                            page.set(last_page);
                        }
                        let range = if total == 0 {
                            t_string!(i18n, report_no_rows).to_string()
                        } else {
                            fill(t_string!(i18n, report_rows_range), &[
                                ("from", &span.from.to_string()), ("to", &span.to.to_string()), ("total", &total.to_string()),
                            ])
                        };
                        let zone = time_zone.clone();
                        let rows = report.rows.into_iter().map(|row| {
                            let clicked = row.clone();
                            let flagged = row.anomalies > 0;
                            let is_selected = {
                                let barcode = row.barcode.clone();
                                move || selected.with(|s| s.as_ref().is_some_and(|s| s.barcode == barcode))
                            };
                            view! {
                                <tr data-barcode=row.barcode.clone() class:selected=is_selected class:anomaly=flagged
                                    on:click=move |_| selected.set(Some(clicked.clone()))>
                                    <td>{row.barcode.clone()}</td>
                                    <td>{state_text(i18n, row.state)}</td>
                                    <td>{row.category.clone()}</td>
                                    <td>{row.holder.clone().unwrap_or_default()}</td>
                                    <td>{row.source_name.clone().unwrap_or_default()}</td>
                                    <td>{format_time(row.first_entry, &zone)}</td>
                                    <td data-device-decisions=row.device_decisions data-disagreements=row.disagreements data-clock-off=row.clock_off>
                                        {row.passes} {(row.anomalies > 0 || row.disagreements > 0 || row.clock_off > 0).then(|| view! { " ⚠" })}
                                    </td>
                                </tr>
                            }
                        }).collect_view();
                        let totals = report.totals_by_category.into_iter().map(|t| view! {
                            <tr data-category=t.category.clone()>
                                <td>{t.category.clone()}</td><td>{t.tickets}</td><td>{t.valid}</td><td>{t.admitted}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <table class="grid" data-testid="report-rows">
                                <thead><tr>{ReportColumn::ALL.into_iter().map(header).collect_view()}</tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <div class="pager" data-testid="report-pager">
                                <button type="button" data-testid="report-first" disabled=move || page.get() == 0
                                    on:click=move |_| page.set(0)>{t!(i18n, report_first)}</button>
                                <button type="button" data-testid="report-prev" disabled=move || page.get() == 0
                                    on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>{t!(i18n, report_prev)}</button>
                                " " <span data-testid="report-range">{range}</span> " "
                                <button type="button" data-testid="report-next" disabled={move || page.get() >= last_page}
                                    on:click=move |_| page.update(|p| *p = (*p + 1).min(last_page))>{t!(i18n, report_next)}</button>
                                <button type="button" data-testid="report-last" disabled={move || page.get() >= last_page}
                                    on:click=move |_| page.set(last_page)>{t!(i18n, report_last)}</button>
                                " "
                                <label>{t!(i18n, report_page_size)} " "
                                    <select data-testid="report-page-size" on:change=on_size>
                                        {PAGE_SIZES.into_iter().map(|rows| view! {
                                            <option value=rows.to_string() selected=rows == shown_size.get()>{rows}</option>
                                        }).collect_view()}
                                    </select>
                                </label>
                            </div>
                            <table class="grid" data-testid="report-totals">
                                <caption>{t!(i18n, report_totals)}</caption>
                                <thead><tr>
                                    <th>{t!(i18n, report_col_category)}</th><th>{t!(i18n, report_total_tickets)}</th>
                                    <th>{t!(i18n, report_total_valid)}</th><th>{t!(i18n, report_total_admitted)}</th>
                                </tr></thead>
                                <tbody>{totals}</tbody>
                            </table>
                            <p class="muted" data-testid="report-double-entry-note">{t!(i18n, report_double_entry_note)}</p>
                            {move || selected.get().map(|row| view! { <TicketDetail performance row zone=time_zone.clone() /> })}
                        }.into_any()
                    }
                    Err(e) => {
                        set_error.set(Some(e));
                        ().into_any()
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// The report button of a performance's grid row: opens its report in place.
#[component]
pub fn ReportLink(performance: PerformanceId) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    view! {
        <details class="report-link" data-testid="report-link">
            <summary on:click=move |_| open.update(|o| *o = !*o)>{t!(i18n, report_button)}</summary>
            <Show when=move || open.get()>
                <ReportPanel performance />
            </Show>
        </details>
    }
    // Erased: the grid row's view type is deep enough already.
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_spans_its_rows_among_all_that_match() {
        let fifty = PageSize::DEFAULT;
        assert_eq!(PageSpan::of(0, fifty, 50, 195), PageSpan { from: 1, to: 50, last_page: 3 });
        assert_eq!(PageSpan::of(1, fifty, 50, 195), PageSpan { from: 51, to: 100, last_page: 3 });
        assert_eq!(PageSpan::of(3, fifty, 45, 195), PageSpan { from: 151, to: 195, last_page: 3 });
        assert_eq!(PageSpan::of(0, fifty, 50, 50), PageSpan { from: 1, to: 50, last_page: 0 }, "a full page is the last");
        assert_eq!(PageSpan::of(0, PageSize::new(200), 195, 195).last_page, 0);
        assert_eq!(PageSpan::of(0, fifty, 0, 0), PageSpan { from: 0, to: 0, last_page: 0 }, "nothing matches");
        assert_eq!(PageSpan::of(7, fifty, 0, 195), PageSpan { from: 0, to: 0, last_page: 3 }, "past the last page");
    }
}

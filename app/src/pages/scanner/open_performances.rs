//! The performances a login may import to a device (PDA ticked where it may scan), and their
//! import: snapshot from the server, written to IndexedDB in batches with a progress bar.

use leptos::prelude::*;

use super::Scanner;
use crate::sync::device::OpenPerformance;
use crate::error::AppError;
use crate::i18n::*;

#[server(endpoint = "scanner_performances", input = leptos::server_fn::codec::Json)]
pub async fn scanner_performances() -> Result<Vec<OpenPerformance>, AppError> {
    use crate::ssr::{context, session::current_actor};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let mut institutions: Vec<_> = match actor.master_of {
        Some(branch) => storage.branch(branch).await?.into_iter().map(|i| i.id).collect(),
        None => Vec::new(),
    };
    for (institution, rights) in &actor.memberships {
        if rights.pda && !institutions.contains(institution) {
            institutions.push(*institution);
        }
    }
    let mut open = Vec::new();
    for institution in institutions {
        for row in storage.performance_grid(institution, false).await?.into_iter().filter(|r| r.pda_open) {
            open.push(OpenPerformance {
                id: row.performance,
                venue: row.venue,
                event: row.event,
                label: row.label,
                starts_at: row.starts_at.or(row.window.map(|(from, _)| from)),
                time_zone: row.time_zone,
                total: row.total,
            });
        }
    }
    open.sort_by_key(|p| (p.starts_at, p.id));
    Ok(open)
}

/// How far an import has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportProgress {
    Downloading,
    Storing { done: u32, of: u32 },
}

/// "Concert — 05/12 20:30", in the venue's time zone.
pub fn performance_title(p: &OpenPerformance) -> String {
    let when = p.starts_at.and_then(chrono::DateTime::from_timestamp_millis).map(|at| match p.time_zone.parse::<chrono_tz::Tz>() {
        Ok(zone) => at.with_timezone(&zone).format("%d/%m/%Y %H:%M").to_string(),
        Err(_) => at.format("%d/%m/%Y %H:%M UTC").to_string(),
    });
    let mut title = p.event.clone();
    for part in [Some(p.label.clone()).filter(|l| !l.is_empty()), when].into_iter().flatten() {
        title.push_str(" — ");
        title.push_str(&part);
    }
    title
}

/// The open performances, each with its import button and progress.
#[component]
pub fn OpenPerformances() -> impl IntoView {
    let i18n = use_i18n();
    let scanner = expect_context::<Scanner>();
    view! {
        <section class="open-performances" data-testid="open-performances">
            <h2>{t!(i18n, scanner_open_performances)}</h2>
            <Show when=move || scanner.open.with(|o| o.is_empty())>
                <p class="hint">{t!(i18n, scanner_none_open)}</p>
            </Show>
            <ul>
                <For each=move || scanner.open.get() key=|p| p.id let:about>
                    {
                        let id = about.id;
                        let title = performance_title(&about);
                        let venue = about.venue.clone();
                        let total = about.total;
                        let progress = move || scanner.imports.with(|m| m.get(&id).copied());
                        let imported = move || {
                            scanner.changed.track();
                            scanner.book.with_value(|b| b.performance(id).is_some())
                        };
                        let import = {
                            let about = about.clone();
                            move |_| scanner.import(about.clone())
                        };
                        view! {
                            <li data-testid="open-performance" data-performance=id.0>
                                <span class="title">{title}</span>
                                <span class="venue">{venue}</span>
                                <span class="count">{total} " " {t!(i18n, scanner_tickets)}</span>
                                <button data-testid="import" on:click=import disabled=move || progress().is_some() || !scanner.online.get()>
                                    {move || if imported() { t_string!(i18n, scanner_reimport) } else { t_string!(i18n, scanner_import) }}
                                </button>
                                {move || progress().map(|p| match p {
                                    ImportProgress::Downloading => view! { <progress data-testid="import-progress"></progress> }.into_any(),
                                    ImportProgress::Storing { done, of } => {
                                        view! { <progress data-testid="import-progress" max=of value=done></progress> }.into_any()
                                    }
                                })}
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}

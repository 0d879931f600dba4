//! The page: the grid's toolbar and table, and the cards that add to it.

use leptos::prelude::*;

use billetix_core::domain::{GridRow, InstitutionId};
use billetix_core::engine::PerformanceId;

use super::api::*;
use super::event_form::EventForm;
use super::performance_form::{Draft, PerformanceEditor};
use super::rename_form::RenameForm;
use super::row::GridLine;
use super::venue_form::VenueForm;
use crate::components::answers::show_answers;
use crate::components::error_text::ErrorLine;
use crate::components::live::use_live_scans;
use crate::error::AppError;
use crate::i18n::*;

/// The grid's writes: after each answer the grid and the catalogue are read again, and the
/// error line shows what it said.
#[derive(Clone, Copy)]
pub(super) struct GridActions {
    pub create_venue: ServerAction<CreateVenue>,
    pub create_event: ServerAction<CreateEvent>,
    pub rename_venue: ServerAction<RenameVenue>,
    pub rename_event: ServerAction<RenameEvent>,
    pub create_performance: ServerAction<CreatePerformance>,
    pub update_performance: ServerAction<UpdatePerformance>,
    pub set_pda_open: ServerAction<SetPdaOpen>,
    pub set_archived: ServerAction<SetArchived>,
}

impl GridActions {
    fn new(error: WriteSignal<Option<AppError>>) -> Self {
        let actions = Self {
            create_venue: ServerAction::new(),
            create_event: ServerAction::new(),
            rename_venue: ServerAction::new(),
            rename_event: ServerAction::new(),
            create_performance: ServerAction::new(),
            update_performance: ServerAction::new(),
            set_pda_open: ServerAction::new(),
            set_archived: ServerAction::new(),
        };
        show_answers(actions.create_venue, error);
        show_answers(actions.create_event, error);
        show_answers(actions.rename_venue, error);
        show_answers(actions.rename_event, error);
        show_answers(actions.create_performance, error);
        show_answers(actions.update_performance, error);
        show_answers(actions.set_pda_open, error);
        show_answers(actions.set_archived, error);
        actions
    }

    /// Moves on with every answer: what the grid's resources key on.
    fn version(&self) -> usize {
        self.create_venue.version().get()
            + self.create_event.version().get()
            + self.rename_venue.version().get()
            + self.rename_event.version().get()
            + self.create_performance.version().get()
            + self.update_performance.version().get()
            + self.set_pda_open.version().get()
            + self.set_archived.version().get()
    }
}

#[component]
pub fn PerformanceGrid(institution: InstitutionId) -> impl IntoView {
    let (error, set_error) = signal(None::<AppError>);
    let actions = GridActions::new(set_error);
    // Changes made elsewhere: a source attached or imported, performances created from a partner.
    let changed_elsewhere = RwSignal::new(0u32);
    let changed = Callback::new(move |()| changed_elsewhere.update(|v| *v += 1));
    let with_archived = RwSignal::new(false);
    let venue_filter = RwSignal::new(String::new());
    let grid = Resource::new(
        move || (actions.version(), changed_elsewhere.get(), with_archived.get()),
        move |(_, _, archived)| performance_grid(institution, archived),
    );
    let catalogue = Resource::new(move || (actions.version(), changed_elsewhere.get()), move |_| show_catalogue(institution));
    let shown = Memo::new(move |_| {
        grid.get().and_then(|r| r.ok()).map(|rows| rows.iter().map(|r| r.performance).collect::<Vec<_>>()).unwrap_or_default()
    });
    use_live_scans(shown, move || grid.refetch());
    let draft = Draft::new();
    let open_panels = RwSignal::new(std::collections::HashSet::<PerformanceId>::new());
    let line = move |row: GridRow| view! { <GridLine row actions draft open_panels changed error=set_error /> };

    view! {
        <section data-testid="performance-grid-section">
            <ErrorLine error />
            <GridToolbar catalogue venue_filter with_archived />
            <GridTable grid venue_filter line error=set_error />
            <div class="cards">
                <super::super::automatic::AutomaticCreation institution created=changed />
                <VenueForm institution action=actions.create_venue />
                <EventForm catalogue action=actions.create_event />
                <RenameForm catalogue venue=actions.rename_venue event=actions.rename_event />
                <PerformanceEditor catalogue draft create=actions.create_performance update=actions.update_performance />
            </div>
        </section>
    }
}

/// The venue filter and the archived box.
#[component]
fn GridToolbar(
    catalogue: Resource<Result<Catalogue, AppError>>,
    venue_filter: RwSignal<String>,
    with_archived: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="toolbar">
            <label>{t!(i18n, filter_by_venue)} " "
                <select on:change=move |ev| venue_filter.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, all_venues)}</option>
                    <Transition>
                        {move || catalogue.get().and_then(|c| c.ok()).map(|c| c.venues.into_iter().map(|v| view! {
                            <option value=v.name.clone()>{v.name.clone()}</option>
                        }).collect_view())}
                    </Transition>
                </select>
            </label>
            <label class="check"><input type="checkbox" on:change=move |ev| with_archived.set(event_target_checked(&ev)) />
                {t!(i18n, show_archived)}</label>
        </div>
    }
}

/// The table: one `line` per performance of the chosen venue.
#[component]
fn GridTable<L, V>(
    grid: Resource<Result<Vec<GridRow>, AppError>>,
    venue_filter: RwSignal<String>,
    line: L,
    error: WriteSignal<Option<AppError>>,
) -> impl IntoView
where
    L: Fn(GridRow) -> V + Copy + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let i18n = use_i18n();
    view! {
        <table class="grid" data-testid="performance-grid">
            <thead><tr>
                <th>{t!(i18n, col_event)}</th><th>{t!(i18n, col_date)}</th><th>{t!(i18n, col_import_end)}</th>
                <th>{t!(i18n, col_gauge)}</th><th>{t!(i18n, col_counter)}</th><th>"PDA"</th><th></th>
            </tr></thead>
            <tbody>
                <Transition>
                    {move || grid.get().map(|result| match result {
                        Ok(rows) if rows.is_empty() => view! {
                            <tr><td colspan="7" class="empty">{t!(i18n, no_performances)}</td></tr>
                        }.into_any(),
                        Ok(rows) => {
                            let filter = venue_filter.get();
                            rows.into_iter().filter(|r| filter.is_empty() || r.venue == filter).map(line).collect_view().into_any()
                        }
                        Err(e) => { error.set(Some(e)); ().into_any() }
                    })}
                </Transition>
            </tbody>
        </table>
    }
}

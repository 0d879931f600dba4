use leptos::prelude::*;

use crate::i18n::*;

/// The performance grid of an institution (SPEC §3). Venues, events and performances arrive
/// with the back-office issue; until then the grid shows its columns and says it is empty.
#[component]
pub fn PerformanceGrid() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="grid" data-testid="performance-grid">
            <thead><tr>
                <th>{t!(i18n, col_event)}</th><th>{t!(i18n, col_date)}</th><th>{t!(i18n, col_import_end)}</th>
                <th>{t!(i18n, col_gauge)}</th><th>{t!(i18n, col_counter)}</th><th>"PDA"</th>
            </tr></thead>
            <tbody><tr><td colspan="6" class="empty">{t!(i18n, no_performances)}</td></tr></tbody>
        </table>
    }
}

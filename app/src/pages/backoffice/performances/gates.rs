//! One performance's gates: their list with the rules version, and a form to add or edit one
//! (name, mode, categories admitted, entry windows, an instruction per category).

use leptos::prelude::*;

use billetix_core::domain::{CategoryFields, GateFields};
use billetix_core::engine::{Gate, Mode, PerformanceId};
use billetix_core::ids::GateId;

use super::api::{DeleteGate, SaveGate, category_filters, performance_gates};
use crate::components::answers::{on_success, show_answers};
use crate::components::error_text::fill;
use crate::error::AppError;
use crate::i18n::*;

/// What the form is doing: closed, adding a gate, or editing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Editing {
    Closed,
    New,
    Gate(GateId),
}

fn mode_text(i18n: leptos_i18n::I18nContext<Locale>, mode: &Mode) -> String {
    match mode {
        Mode::SinglePass => t_string!(i18n, mode_single).to_string(),
        Mode::EntryExit { .. } => t_string!(i18n, mode_entry_exit).to_string(),
        Mode::MultiPass { max_total, max_per_day } => {
            let limit = |n: &Option<u32>| n.map_or_else(|| "∞".to_owned(), |n| n.to_string());
            format!("{} ({} / {})", t_string!(i18n, mode_multi), limit(max_total), limit(max_per_day))
        }
    }
}

/// One line of the list: what the gate admits, and when.
fn summary(i18n: leptos_i18n::I18nContext<Locale>, gate: &Gate) -> String {
    let categories = if gate.categories.is_empty() { t_string!(i18n, gate_every_category).to_string() } else { gate.categories.join(", ") };
    let window = gate.window.map(|w| format!(" · {}–{}", w.opens.format("%H:%M"), w.last_entry.format("%H:%M"))).unwrap_or_default();
    format!("{} · {}{}", mode_text(i18n, &gate.mode), categories, window)
}

#[component]
pub(super) fn GatesPanel(performance: PerformanceId, error: WriteSignal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let save = ServerAction::<SaveGate>::new();
    let remove = ServerAction::<DeleteGate>::new();
    show_answers(save, error);
    show_answers(remove, error);
    let editing = RwSignal::new(Editing::Closed);
    let draft = RwSignal::new(GateFields::default());
    on_success(save, move |_| editing.set(Editing::Closed));
    // Read when the box is first opened, not for every line of the grid.
    let opened = RwSignal::new(false);
    let gates = Resource::new(
        move || (opened.get(), save.version().get(), remove.version().get()),
        move |(opened, ..)| async move { if opened { performance_gates(performance).await.map(Some) } else { Ok(None) } },
    );
    let categories = Resource::new(
        move || opened.get(),
        move |opened| async move { if opened { category_filters(performance).await } else { Ok(Vec::new()) } },
    );
    let open = move |target: Editing, gate: Option<Gate>| {
        let present: Vec<String> = categories.get_untracked().and_then(|c| c.ok()).unwrap_or_default().into_iter().map(|(c, _)| c).collect();
        let empty = Gate { name: String::new(), mode: Mode::SinglePass, categories: vec![], window: None, per_category: vec![] };
        let mut fields = GateFields::of(gate.as_ref().unwrap_or(&empty), &present);
        if fields.mode.is_empty() {
            fields.mode = "single".into();
        }
        draft.set(fields);
        editing.set(target);
    };
    view! {
        <details class="gates" data-testid="gates">
            <summary on:click=move |_| opened.set(true)>{t!(i18n, gates)}</summary>
            <Transition>
                {move || gates.get().and_then(|g| g.ok()).flatten().map(|set_of| view! {
                    <p class="muted" data-testid="rules-version" data-version=set_of.rules_version.to_string()>
                        {fill(t_string!(i18n, gate_rules_version), &[("version", &set_of.rules_version.to_string())])}
                    </p>
                    <ul>
                        {set_of.gates.into_iter().map(|g| {
                            let id = g.id;
                            let rules = g.rules.clone();
                            view! {
                                <li data-testid="gate" data-gate=id.to_string() data-name=g.rules.name.clone()>
                                    <strong>{g.rules.name.clone()}</strong>" "<small>{summary(i18n, &g.rules)}</small>" "
                                    <button type="button" class="link" data-testid="gate-edit"
                                        on:click=move |_| open(Editing::Gate(id), Some(rules.clone()))>{t!(i18n, edit)}</button>
                                    <button type="button" class="link" data-testid="gate-delete"
                                        on:click=move |_| { remove.dispatch(DeleteGate { performance, gate: id }); }>{t!(i18n, delete)}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })}
            </Transition>
            <button type="button" class="link" data-testid="gate-add" on:click=move |_| open(Editing::New, None)>{t!(i18n, gate_add)}</button>
            // Its own erased view: the whole box is too deep a type for the browser's build otherwise.
            {move || (editing.get() != Editing::Closed).then(|| view! { <GateForm performance draft editing save error /> })}
        </details>
    }
    // Erased: the grid line holding it is already a deep type.
    .into_any()
}

/// Adding or editing one gate.
#[component]
fn GateForm(
    performance: PerformanceId,
    draft: RwSignal<GateFields>,
    editing: RwSignal<Editing>,
    save: ServerAction<SaveGate>,
    error: WriteSignal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let gate = match editing.get_untracked() {
            Editing::Gate(id) => Some(id),
            Editing::New => None,
            Editing::Closed => return,
        };
        match draft.with_untracked(GateFields::parse) {
            Ok(rules) => {
                save.dispatch(SaveGate { performance, gate, rules });
            }
            Err(e) => error.set(Some(e.into())),
        }
    };
    let text = move |read: fn(&GateFields) -> &String| move || draft.with(|d| read(d).clone());
    let set = move |write: fn(&mut GateFields) -> &mut String| move |ev: leptos::ev::Event| draft.update(|d| *write(d) = event_target_value(&ev));
    // Drawn when the form opens, not at each key, so typing keeps its field.
    let category_lines = move || {
        editing.track();
        draft.with_untracked(|d| d.categories.clone()).into_iter().enumerate().map(|(i, line): (usize, CategoryFields)| {
            let update = move |change: fn(&mut CategoryFields, String)| {
                move |ev: leptos::ev::Event| draft.update(|d| if let Some(l) = d.categories.get_mut(i) { change(l, event_target_value(&ev)) })
            };
            let tick = move |ev: leptos::ev::Event| {
                let admitted = event_target_checked(&ev);
                draft.update(|d| if let Some(l) = d.categories.get_mut(i) { l.admitted = admitted });
            };
            view! {
                <tr data-category=line.category.clone()>
                    <td><label class="check"><input type="checkbox" data-testid="gate-category" data-category=line.category.clone()
                        prop:checked=line.admitted on:change=tick />" "{line.category.clone()}</label></td>
                    <td><input type="time" prop:value=line.opens.clone() on:input=update(|l, v| l.opens = v) /></td>
                    <td><input type="time" prop:value=line.last_entry.clone() on:input=update(|l, v| l.last_entry = v) /></td>
                    <td><input prop:value=line.instruction.clone() on:input=update(|l, v| l.instruction = v) /></td>
                </tr>
            }
        }).collect_view()
    };
    let category_table = view! {
        <table class="gate-categories">
            <thead><tr>
                <th>{t!(i18n, gate_admitted)}</th><th>{t!(i18n, gate_opens)}</th>
                <th>{t!(i18n, gate_last_entry)}</th><th>{t!(i18n, gate_instruction)}</th>
            </tr></thead>
            <tbody>{category_lines}</tbody>
        </table>
    }
    .into_any();
    view! {
        <form class="gate-form" data-testid="gate-form" on:submit=submit>
            <label>{t!(i18n, gate_name)}<input name="gate-name" required prop:value=text(|d| &d.name) on:input=set(|d| &mut d.name) /></label>
            <label>{t!(i18n, gate_mode)}
                <select name="gate-mode" on:change=set(|d| &mut d.mode)>
                    <option value="single" prop:selected=move || draft.with(|d| d.mode == "single")>{t!(i18n, mode_single)}</option>
                    <option value="entry_exit" prop:selected=move || draft.with(|d| d.mode == "entry_exit")>{t!(i18n, mode_entry_exit)}</option>
                    <option value="multi" prop:selected=move || draft.with(|d| d.mode == "multi")>{t!(i18n, mode_multi)}</option>
                </select>
            </label>
            <Show when=move || draft.with(|d| d.mode == "multi")>
                <label>{t!(i18n, multi_max_total)}<input type="number" min="1" prop:value=text(|d| &d.max_total) on:input=set(|d| &mut d.max_total) /></label>
                <label>{t!(i18n, multi_max_per_day)}<input type="number" min="1" prop:value=text(|d| &d.max_per_day) on:input=set(|d| &mut d.max_per_day) /></label>
            </Show>
            <label>{t!(i18n, gate_opens)}<input type="time" name="gate-opens" prop:value=text(|d| &d.opens) on:input=set(|d| &mut d.opens) /></label>
            <label>{t!(i18n, gate_last_entry)}<input type="time" name="gate-last-entry" prop:value=text(|d| &d.last_entry) on:input=set(|d| &mut d.last_entry) /></label>
            <p class="hint">{t!(i18n, gate_categories_help)}</p>
            {category_table}
            <button type="submit" class="primary" data-testid="gate-save">{t!(i18n, save)}</button>
            <button type="button" class="link" on:click=move |_| editing.set(Editing::Closed)>{t!(i18n, cancel)}</button>
        </form>
    }
    .into_any()
}

//! The back office's gate form, read into the engine's `Gate`.

use chrono::NaiveTime;

use super::{ParseError, ParseFailure};
use crate::engine::{CategoryRule, Direction, EntryWindow, Gate, GateError, Mode};

/// One category's line of the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryFields {
    pub category: String,
    pub admitted: bool,
    pub opens: String,
    pub last_entry: String,
    pub instruction: String,
}

/// The form as typed: times as `HH:MM` (a `time` field's value), limits as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateFields {
    pub name: String,
    /// `single`, `entry_exit` or `multi`.
    pub mode: String,
    pub max_total: String,
    pub max_per_day: String,
    pub opens: String,
    pub last_entry: String,
    pub categories: Vec<CategoryFields>,
}

impl From<GateError> for ParseError {
    fn from(e: GateError) -> Self {
        let (field, reason) = match e {
            GateError::NoName => ("gate_name", ParseFailure::Empty),
            GateError::TooLong(_) => ("gate_name", ParseFailure::TooLong { max: 120 }),
            GateError::ZeroLimit => ("max_total", ParseFailure::OutOfRange { min: 1, max: u32::MAX }),
            GateError::TwoRules(_) => ("categories", ParseFailure::BadCharacters),
        };
        ParseError { field, reason }
    }
}

fn time(field: &'static str, text: &str) -> Result<Option<NaiveTime>, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveTime::parse_from_str(text, "%H:%M").map(Some).map_err(|_| ParseError { field, reason: ParseFailure::BadCharacters })
}

/// Both ends or neither.
fn window(opens: &str, last_entry: &str) -> Result<Option<EntryWindow>, ParseError> {
    match (time("opens", opens)?, time("last_entry", last_entry)?) {
        (Some(opens), Some(last_entry)) => Ok(Some(EntryWindow { opens, last_entry })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ParseError { field: "last_entry", reason: ParseFailure::Empty }),
        (None, Some(_)) => Err(ParseError { field: "opens", reason: ParseFailure::Empty }),
    }
}

fn limit(field: &'static str, text: &str) -> Result<Option<u32>, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let out_of_range = ParseError { field, reason: ParseFailure::OutOfRange { min: 1, max: 100_000 } };
    let n: u32 = text.parse().map_err(|_| out_of_range.clone())?;
    if (1..=100_000).contains(&n) { Ok(Some(n)) } else { Err(out_of_range) }
}

impl GateFields {
    /// The gate the form describes: no category ticked admits every one; a category keeps a
    /// rule of its own only for a window or an instruction of its own.
    pub fn parse(&self) -> Result<Gate, ParseError> {
        let mode = match self.mode.as_str() {
            "entry_exit" => Mode::EntryExit { direction: Direction::In },
            "multi" => Mode::MultiPass { max_total: limit("max_total", &self.max_total)?, max_per_day: limit("max_per_day", &self.max_per_day)? },
            _ => Mode::SinglePass,
        };
        let mut per_category = Vec::new();
        for line in &self.categories {
            let window = window(&line.opens, &line.last_entry)?;
            let instruction = Some(line.instruction.trim().to_owned()).filter(|i| !i.is_empty());
            if window.is_some() || instruction.is_some() {
                per_category.push(CategoryRule { category: line.category.clone(), window, instruction });
            }
        }
        let gate = Gate {
            name: self.name.trim().to_owned(),
            mode,
            categories: self.categories.iter().filter(|c| c.admitted).map(|c| c.category.clone()).collect(),
            window: window(&self.opens, &self.last_entry)?,
            per_category,
        };
        gate.check()?;
        Ok(gate)
    }

    /// The form showing `gate`, with a line for each of `categories` (those present) and for
    /// each the gate names beyond them.
    pub fn of(gate: &Gate, categories: &[String]) -> Self {
        let shown = |t: Option<NaiveTime>| t.map(|t| t.format("%H:%M").to_string()).unwrap_or_default();
        let (mode, max_total, max_per_day) = match gate.mode {
            Mode::SinglePass => ("single", None, None),
            Mode::EntryExit { .. } => ("entry_exit", None, None),
            Mode::MultiPass { max_total, max_per_day } => ("multi", max_total, max_per_day),
        };
        let mut names: Vec<String> = categories.to_vec();
        for extra in gate.categories.iter().chain(gate.per_category.iter().map(|r| &r.category)) {
            if !names.contains(extra) {
                names.push(extra.clone());
            }
        }
        let lines = names
            .into_iter()
            .map(|category| {
                let rule = gate.per_category.iter().find(|r| r.category == category);
                let window = rule.and_then(|r| r.window);
                CategoryFields {
                    admitted: gate.categories.contains(&category),
                    opens: shown(window.map(|w| w.opens)),
                    last_entry: shown(window.map(|w| w.last_entry)),
                    instruction: rule.and_then(|r| r.instruction.clone()).unwrap_or_default(),
                    category,
                }
            })
            .collect();
        GateFields {
            name: gate.name.clone(),
            mode: mode.to_owned(),
            max_total: max_total.map(|n| n.to_string()).unwrap_or_default(),
            max_per_day: max_per_day.map(|n| n.to_string()).unwrap_or_default(),
            opens: shown(gate.window.map(|w| w.opens)),
            last_entry: shown(gate.window.map(|w| w.last_entry)),
            categories: lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> GateFields {
        GateFields {
            name: " North ".into(),
            mode: "multi".into(),
            max_total: "3".into(),
            max_per_day: String::new(),
            opens: "19:00".into(),
            last_entry: "23:30".into(),
            categories: vec![
                CategoryFields { category: "general".into(), admitted: true, ..Default::default() },
                CategoryFields { category: "vip".into(), admitted: true, opens: "18:00".into(), last_entry: "23:30".into(), instruction: "Wristband".into() },
                CategoryFields { category: "staff".into(), ..Default::default() },
            ],
        }
    }

    #[test]
    fn a_gate_form_reads_into_the_engines_gate_and_back() {
        let gate = fields().parse().expect("a valid form");
        assert_eq!(gate.name, "North");
        assert_eq!(gate.mode, Mode::MultiPass { max_total: Some(3), max_per_day: None });
        assert_eq!(gate.categories, vec!["general".to_owned(), "vip".to_owned()]);
        assert_eq!(gate.per_category.len(), 1, "only VIPs have rules of their own");
        assert_eq!(gate.instruction_for("vip"), Some("Wristband"));
        let again = GateFields::of(&gate, &["general".into(), "vip".into(), "staff".into()]);
        assert_eq!(again.parse(), Ok(gate));
    }

    #[test]
    fn a_gate_form_names_the_field_it_refuses() {
        let field = |f: GateFields| f.parse().map_err(|e| e.field);
        assert_eq!(field(GateFields { name: "  ".into(), ..fields() }), Err("gate_name"));
        assert_eq!(field(GateFields { last_entry: String::new(), ..fields() }), Err("last_entry"));
        assert_eq!(field(GateFields { opens: "7pm".into(), ..fields() }), Err("opens"));
        assert_eq!(field(GateFields { max_total: "0".into(), ..fields() }), Err("max_total"));
        let none_ticked = GateFields { categories: vec![], ..fields() }.parse().expect("valid");
        assert!(none_ticked.categories.is_empty() && none_ticked.admits("anything"), "no category ticked: every one");
    }
}

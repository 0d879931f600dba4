//! SecuTix files (seed 004, partners.md): the reseller flat file and the white list, both CSV
//! with `;`. The reseller file's header row and date format are not known for sure: both
//! with and without a header are read, dates as `YYYY-MM-DD[ HH:MM:SS]` or `DD/MM/YYYY[ HH:MM]`.

use app::ssr::storage::ImportedTicket;
use app::domain::RejectedRow;
use app::engine::{Barcode, TicketState};

use super::file::{FileError, Row, Rows, fields_json};

const RESELLER_COLUMNS: [&str; 11] = [
    "BAR_CODE", "TICKET_STATE", "FILE_NUMBER", "PRODUCT_CODE", "PRODUCT_NAME", "VALIDITY_DATE", "TARIFF_CODE", "TARIFF_NAME",
    "PRICE", "ORDER_DATE", "CONTACT_NUMBER",
];
const WHITE_LIST_COLUMNS: [&str; 7] = ["barcode", "season", "product", "flag_1", "flag_2", "flag_3", "date"];

/// SecuTix ticket states: printed or not, the ticket is sold; cancelled and invalidated ones
/// do not enter; a controlled one has already passed a SecuTix gate.
pub fn reseller_state(text: &str) -> Option<(TicketState, bool)> {
    match text.trim().to_ascii_uppercase().as_str() {
        "PRINTED" | "NOT_PRINTED" => Some((TicketState::Valid, false)),
        "CONTROLLED" => Some((TicketState::Valid, true)),
        "CANCELLED" | "INVALIDATED" => Some((TicketState::Cancelled, false)),
        _ => None,
    }
}

fn fields_of(names: &[&str], cells: &Row<'_>) -> String {
    fields_json(names.iter().copied().zip(cells.cells().map(str::trim)))
}

/// Rows after the header, if the file has one.
fn data_rows<'a>(rows: &'a Rows, first_column: &str) -> impl Iterator<Item = Row<'a>> {
    let has_header = rows.get(0).and_then(|row| row.get(0)).is_some_and(|c| c.trim().eq_ignore_ascii_case(first_column));
    rows.iter().skip(usize::from(has_header))
}

/// The reseller flat file: one ticket a row; `imported_at` stands for the control time of
/// tickets SecuTix reports as controlled (the file does not give it).
pub fn reseller_tickets(rows: &Rows, imported_at: i64) -> Result<Vec<ImportedTicket>, FileError> {
    let mut tickets = Vec::new();
    let mut rejected = Vec::new();
    for cells in data_rows(rows, "BAR_CODE") {
        let line = &cells.line;
        let cell = |i: usize| cells.get(i).map(str::trim).unwrap_or_default();
        if cells.len() < 2 {
            rejected.push(RejectedRow { line: *line, reason: format!("{} columns, expected {}", cells.len(), RESELLER_COLUMNS.len()) });
            continue;
        }
        let barcode = match Barcode::parse(cell(0)) {
            Ok(b) => b,
            Err(e) => {
                rejected.push(RejectedRow { line: *line, reason: format!("BAR_CODE: {e}") });
                continue;
            }
        };
        let Some((state, controlled)) = reseller_state(cell(1)) else {
            rejected.push(RejectedRow { line: *line, reason: format!("TICKET_STATE {:?} is not a SecuTix state", cell(1)) });
            continue;
        };
        let category = if cell(7).is_empty() { cell(4) } else { cell(7) };
        tickets.push(ImportedTicket {
            barcode,
            state,
            category: category.to_owned(),
            holder: None,
            fields: fields_of(&RESELLER_COLUMNS, &cells),
            partner_scanned_at: controlled.then_some(imported_at),
        });
    }
    if rejected.is_empty() { Ok(tickets) } else { Err(FileError::Rejected(rejected)) }
}

/// The white list: every number listed is valid (`barcode;season;product;0;FALSE;FALSE;date`).
pub fn white_list_tickets(rows: &Rows) -> Result<Vec<ImportedTicket>, FileError> {
    let mut tickets = Vec::new();
    let mut rejected = Vec::new();
    for cells in data_rows(rows, "barcode") {
        let line = &cells.line;
        if cells.len() != WHITE_LIST_COLUMNS.len() {
            rejected.push(RejectedRow { line: *line, reason: format!("{} columns, expected {}", cells.len(), WHITE_LIST_COLUMNS.len()) });
            continue;
        }
        match Barcode::parse(cells.get(0).unwrap_or_default().trim()) {
            Ok(barcode) => tickets.push(ImportedTicket {
                barcode,
                state: TicketState::Valid,
                category: cells.get(2).unwrap_or_default().trim().to_owned(),
                holder: None,
                fields: fields_of(&WHITE_LIST_COLUMNS, &cells),
                partner_scanned_at: None,
            }),
            Err(e) => rejected.push(RejectedRow { line: *line, reason: format!("barcode: {e}") }),
        }
    }
    if rejected.is_empty() { Ok(tickets) } else { Err(FileError::Rejected(rejected)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::file::read_rows;

    #[test]
    fn the_reseller_file_is_read_with_or_without_its_header() {
        let body = "10000191230535;PRINTED;F1;P1;Carmen;2026-12-05;T1;Plein;42.00;2026-11-01;C9\n\
                    10000191230536;CANCELLED;F1;P1;Carmen;2026-12-05;T2;Réduit;30.00;2026-11-01;C9\n\
                    10000191230537;CONTROLLED;F2;P1;Carmen;2026-12-05;T1;Plein;42.00;2026-11-02;C8\n";
        for file in [body.to_owned(), format!("{}\n{body}", RESELLER_COLUMNS.join(";"))] {
            let tickets = reseller_tickets(&read_rows(file.as_bytes(), "r.csv").expect("reads"), 7).expect("parses");
            assert_eq!(tickets.len(), 3);
            assert_eq!((tickets[0].state, tickets[0].category.as_str()), (TicketState::Valid, "Plein"));
            assert_eq!(tickets[1].state, TicketState::Cancelled);
            assert_eq!(tickets[2].partner_scanned_at, Some(7));
        }
    }

    #[test]
    fn every_secutix_state_is_mapped_and_others_refused_by_line() {
        assert_eq!(reseller_state("NOT_PRINTED"), Some((TicketState::Valid, false)));
        assert_eq!(reseller_state("INVALIDATED"), Some((TicketState::Cancelled, false)));
        let rows = read_rows(b"1;PRINTED\n2;LOST\n", "r.csv").expect("reads");
        let Err(FileError::Rejected(rejected)) = reseller_tickets(&rows, 0) else { panic!("expected a rejection") };
        assert_eq!(rejected[0].line, 2);
    }

    #[test]
    fn the_white_list_gives_valid_numbers() {
        let rows = read_rows(b"10000191230535;14-15;Carmen;0;FALSE;FALSE;2017-12-05 19:45:00\n", "w.csv").expect("reads");
        let tickets = white_list_tickets(&rows).expect("parses");
        assert_eq!((tickets[0].barcode.as_str(), tickets[0].category.as_str()), ("10000191230535", "Carmen"));
        let bad = read_rows(b"1;14-15;Carmen\n", "w.csv").expect("reads");
        assert!(matches!(white_list_tickets(&bad), Err(FileError::Rejected(_))));
    }
}

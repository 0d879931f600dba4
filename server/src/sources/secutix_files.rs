//! SecuTix files (seed 004, partners.md): the reseller flat file and the white list, both CSV
//! with `;`. The reseller file's header row and date format are not known for sure: both
//! with and without a header are read, dates as `YYYY-MM-DD[ HH:MM:SS]` or `DD/MM/YYYY[ HH:MM]`.

use app::ssr::storage::ImportedTicket;
use app::engine::{Barcode, TicketState};

use super::file::{Row, RowRefusal, Rows, TicketFormat, fields_json};

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

/// The line of the file's header row, if it has one (its first cell names the first column).
fn header_line(rows: &Rows, first_column: &str) -> Option<u64> {
    rows.get(0).filter(|row| row.get(0).is_some_and(|c| c.trim().eq_ignore_ascii_case(first_column))).map(|row| row.line)
}

/// The reseller flat file: one ticket a row.
pub struct ResellerFormat {
    header: Option<u64>,
    /// Stands for the control time of tickets SecuTix reports as controlled (the file does
    /// not give it).
    imported_at: i64,
}

impl ResellerFormat {
    pub fn new(rows: &Rows, imported_at: i64) -> Self {
        Self { header: header_line(rows, "BAR_CODE"), imported_at }
    }
}

impl TicketFormat for ResellerFormat {
    fn ticket(&self, cells: Row<'_>) -> Result<Option<ImportedTicket>, RowRefusal> {
        if self.header == Some(cells.line) {
            return Ok(None);
        }
        let cell = |i: usize| cells.get(i).map(str::trim).unwrap_or_default();
        if cells.len() < 2 {
            return Err(RowRefusal::Rejected(format!("{} columns, expected {}", cells.len(), RESELLER_COLUMNS.len())));
        }
        let barcode = Barcode::parse(cell(0)).map_err(|e| RowRefusal::Rejected(format!("BAR_CODE: {e}")))?;
        let (state, controlled) =
            reseller_state(cell(1)).ok_or_else(|| RowRefusal::Rejected(format!("TICKET_STATE {:?} is not a SecuTix state", cell(1))))?;
        let category = if cell(7).is_empty() { cell(4) } else { cell(7) };
        Ok(Some(ImportedTicket {
            barcode,
            state,
            category: category.to_owned(),
            holder: None,
            fields: fields_of(&RESELLER_COLUMNS, &cells),
            partner_scanned_at: controlled.then_some(self.imported_at),
        }))
    }
}

/// The white list: every number listed is valid (`barcode;season;product;0;FALSE;FALSE;date`).
pub struct WhiteListFormat {
    header: Option<u64>,
}

impl WhiteListFormat {
    pub fn new(rows: &Rows) -> Self {
        Self { header: header_line(rows, "barcode") }
    }
}

impl TicketFormat for WhiteListFormat {
    fn ticket(&self, cells: Row<'_>) -> Result<Option<ImportedTicket>, RowRefusal> {
        if self.header == Some(cells.line) {
            return Ok(None);
        }
        if cells.len() != WHITE_LIST_COLUMNS.len() {
            return Err(RowRefusal::Rejected(format!("{} columns, expected {}", cells.len(), WHITE_LIST_COLUMNS.len())));
        }
        let barcode = Barcode::parse(cells.get(0).unwrap_or_default().trim()).map_err(|e| RowRefusal::Rejected(format!("barcode: {e}")))?;
        Ok(Some(ImportedTicket {
            barcode,
            state: TicketState::Valid,
            category: cells.get(2).unwrap_or_default().trim().to_owned(),
            holder: None,
            fields: fields_of(&WHITE_LIST_COLUMNS, &cells),
            partner_scanned_at: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::file::{FileError, import};
    use app::ssr::storage::ImportedTicket;
    use app::domain::{FieldValues, SourceKind};

    fn reseller_tickets(file: &[u8], imported_at: i64) -> Result<Vec<ImportedTicket>, FileError> {
        import(SourceKind::SecutixReseller, file, "r.csv", &FieldValues::new(), &FieldValues::new(), imported_at).map(|(_, t)| t)
    }

    fn white_list_tickets(file: &[u8]) -> Result<Vec<ImportedTicket>, FileError> {
        import(SourceKind::SecutixWhitelist, file, "w.csv", &FieldValues::new(), &FieldValues::new(), 0).map(|(_, t)| t)
    }

    #[test]
    fn the_reseller_file_is_read_with_or_without_its_header() {
        let body = "10000191230535;PRINTED;F1;P1;Carmen;2026-12-05;T1;Plein;42.00;2026-11-01;C9\n\
                    10000191230536;CANCELLED;F1;P1;Carmen;2026-12-05;T2;Réduit;30.00;2026-11-01;C9\n\
                    10000191230537;CONTROLLED;F2;P1;Carmen;2026-12-05;T1;Plein;42.00;2026-11-02;C8\n";
        for file in [body.to_owned(), format!("{}\n{body}", RESELLER_COLUMNS.join(";"))] {
            let tickets = reseller_tickets(file.as_bytes(), 7).expect("parses");
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
        let Err(FileError::Rejected(rejected)) = reseller_tickets(b"1;PRINTED\n2;LOST\n", 0) else { panic!("expected a rejection") };
        assert_eq!(rejected[0].line, 2);
    }

    #[test]
    fn the_white_list_gives_valid_numbers() {
        let tickets = white_list_tickets(b"10000191230535;14-15;Carmen;0;FALSE;FALSE;2017-12-05 19:45:00\n").expect("parses");
        assert_eq!((tickets[0].barcode.as_str(), tickets[0].category.as_str()), ("10000191230535", "Carmen"));
        assert!(matches!(white_list_tickets(b"1;14-15;Carmen\n"), Err(FileError::Rejected(_))));
    }
}

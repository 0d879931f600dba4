//! Property tests of file uploads (issue 17, item 1): whatever the bytes, an upload of any file
//! kind ends in a clear error or an import, never a panic; CSV and XLSX files of every usual
//! shape import exactly their tickets; Ticketnet and SecuTix files damaged at random are
//! refused naming a line of the file, or imported correctly.

use std::collections::BTreeMap;

use app::ssr::storage::ImportedTicket;
use app::domain::{FieldValues, SourceKind};
use app::engine::TicketState;
use proptest::prelude::*;

use super::file::{FileError, import};

const FILE_KINDS: [SourceKind; 4] = [SourceKind::File, SourceKind::Ticketnet, SourceKind::SecutixReseller, SourceKind::SecutixWhitelist];

fn values(pairs: &[(&str, &str)]) -> FieldValues {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn ticketnet_settings() -> FieldValues {
    values(&[("categories", "1=Carré Or; 2=Tribune"), ("tariffs", "10=Plein tarif:32.20; 11=Réduit:25,00"), ("halls", "7=Grande salle")])
}

/// Every kind, with settings and options a Ticketnet file needs.
fn import_as(kind: SourceKind, bytes: &[u8], name: &str) -> Result<Vec<ImportedTicket>, FileError> {
    let (settings, options) = match kind {
        SourceKind::Ticketnet => (ticketnet_settings(), values(&[("event_code", "4521")])),
        _ => (FieldValues::new(), FieldValues::new()),
    };
    import(kind, bytes, name, &settings, &options, 0).map(|(_, tickets)| tickets)
}

/// A clear error: a message to show, and rejected rows naming a line of the file.
fn assert_clear(result: &Result<Vec<ImportedTicket>, FileError>, lines: u64) {
    if let Err(e) = result {
        assert!(!e.to_string().is_empty());
        if let FileError::Rejected(rows) = e {
            assert!(!rows.is_empty());
            for row in rows {
                assert!((1..=lines.max(1)).contains(&row.line), "line {} of {lines}: {}", row.line, row.reason);
                assert!(!row.reason.is_empty());
            }
        }
    }
}

/// The lines of a file, at most (a lone CR may end a line too).
fn lines_of(bytes: &[u8]) -> u64 {
    1 + bytes.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64
}

/// A small valid XLSX: a header and a few tickets.
fn small_xlsx() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (row, cells) in [["barcode", "category", "status"], ["A1", "vip", "valid"], ["B2", "general", "cancelled"]].iter().enumerate() {
        for (column, cell) in cells.iter().enumerate() {
            sheet.write_string(row as u32, column as u16, *cell).expect("cell");
        }
    }
    sheet.write_number(3, 0, 1234567.0).expect("cell");
    book.save_to_buffer().expect("xlsx")
}

// Random bytes: 256 cases each (proptest's default), small inputs.
proptest! {
    #[test]
    fn random_bytes_as_csv_are_an_error_or_an_import(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for kind in FILE_KINDS {
            assert_clear(&import_as(kind, &bytes, "t.csv"), lines_of(&bytes));
        }
    }

    #[test]
    fn random_bytes_as_xlsx_are_an_error_or_an_import(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend_from_slice(&bytes);
        for kind in FILE_KINDS {
            assert_clear(&import_as(kind, &bytes, "t.xlsx"), u64::MAX);
            assert_clear(&import_as(kind, &zip, "t.xlsx"), u64::MAX);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A valid XLSX with bytes overwritten or cut: the zip, the deflate streams and the XML
    /// are each damaged somewhere.
    #[test]
    fn a_damaged_xlsx_is_an_error_or_an_import(
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = small_xlsx();
        for (at, byte) in damage {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        for kind in FILE_KINDS {
            assert_clear(&import_as(kind, &bytes, "t.xlsx"), u64::MAX);
        }
    }
}

/// A ticket as a generated file holds it.
#[derive(Debug, Clone)]
struct Row {
    barcode: String,
    category: String,
    holder: String,
    state: &'static str,
}

/// Text a spreadsheet may hold, accents (all in Windows-1252) and delimiters included, with no
/// white space around it (files' cells are trimmed). No `€`: its Windows-1252 byte after `É`'s
/// makes valid UTF-8, and such a file is read as UTF-8 (what it may well be).
fn cell_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9éèàçôüÉ;,|\"' -]{{0,{max}}}"))
        .expect("regex")
        .prop_map(|s| s.trim().to_owned())
}

fn row() -> impl Strategy<Value = Row> {
    (
        proptest::string::string_regex("[A-Z0-9]{1,20}").expect("regex"),
        cell_text(12),
        prop_oneof![9 => cell_text(30), 1 => cell_text(2).prop_map(|s| format!("{s}{}", "x".repeat(30_000)))],
        prop::sample::select(vec!["valid", "cancelled", "annulé", "", "duplicated"]),
    )
        .prop_map(|(barcode, category, holder, state)| Row { barcode, category, holder, state })
}

fn expected_state(state: &str) -> TicketState {
    super::file::state_of(state).expect("a known state")
}

/// The tickets a file of `rows` should give: one a number, at its first row's place, with its
/// last row's content.
fn expected(rows: &[Row]) -> Vec<Row> {
    let mut kept: Vec<Row> = Vec::new();
    for row in rows {
        match kept.iter_mut().find(|k| k.barcode == row.barcode) {
            Some(k) => *k = row.clone(),
            None => kept.push(row.clone()),
        }
    }
    kept
}

fn assert_imported(tickets: &[ImportedTicket], rows: &[Row]) {
    let expected = expected(rows);
    assert_eq!(tickets.len(), expected.len());
    for (ticket, row) in tickets.iter().zip(&expected) {
        assert_eq!(ticket.barcode.as_str(), row.barcode);
        assert_eq!(ticket.state, expected_state(row.state));
        assert_eq!(ticket.category, row.category);
        assert_eq!(ticket.holder.as_deref(), (!row.holder.is_empty()).then_some(row.holder.as_str()));
        let fields: BTreeMap<String, String> = serde_json::from_str(&ticket.fields).expect("fields are JSON");
        assert_eq!(fields.get("barcode"), Some(&row.barcode));
    }
}

/// How a CSV is written: delimiter, quoting, byte order mark, encoding, line ends, a header,
/// empty lines.
#[derive(Debug, Clone)]
struct CsvShape {
    delimiter: u8,
    quote_all: bool,
    bom: bool,
    windows_1252: bool,
    crlf: bool,
    header: bool,
    empty_lines: Vec<prop::sample::Index>,
}

fn csv_shape() -> impl Strategy<Value = CsvShape> {
    (
        prop::sample::select(vec![b';', b',', b'\t', b'|']),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.9),
        proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    )
        .prop_map(|(delimiter, quote_all, bom, windows_1252, crlf, header, empty_lines)| CsvShape {
            delimiter,
            quote_all,
            bom,
            windows_1252,
            crlf,
            header,
            empty_lines,
        })
}

fn write_csv(shape: &CsvShape, rows: &[Row]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(shape.delimiter)
        .quote_style(if shape.quote_all { csv::QuoteStyle::Always } else { csv::QuoteStyle::Necessary })
        .terminator(if shape.crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
        .from_writer(Vec::new());
    let mut records: Vec<Vec<String>> = rows.iter().map(|r| vec![r.barcode.clone(), r.category.clone(), r.holder.clone(), r.state.to_owned()]).collect();
    if shape.header {
        records.insert(0, ["barcode", "category", "holder", "status"].map(str::to_owned).to_vec());
    }
    for record in &records {
        writer.write_record(record).expect("csv");
    }
    let text = String::from_utf8(writer.into_inner().expect("csv")).expect("utf-8");
    // Empty lines between records (never in the header's place, nor inside a quoted cell).
    let end = if shape.crlf { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text.split_inclusive(end).map(str::to_owned).collect();
    for at in &shape.empty_lines {
        let at = 1 + at.index(lines.len().max(1));
        lines.insert(at.min(lines.len()), end.to_owned());
    }
    let text = lines.concat();
    let mut bytes = Vec::new();
    if shape.bom && !shape.windows_1252 {
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
    }
    if shape.windows_1252 {
        let (encoded, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
        assert!(!unmappable);
        bytes.extend_from_slice(&encoded);
    } else {
        bytes.extend_from_slice(text.as_bytes());
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn csv_files_of_any_usual_shape_import_their_tickets(shape in csv_shape(), rows in proptest::collection::vec(row(), 1..40)) {
        let bytes = write_csv(&shape, &rows);
        let result = import_as(SourceKind::File, &bytes, "tickets.csv");
        if shape.header {
            let tickets = result.unwrap_or_else(|e| panic!("{e:?}"));
            assert_imported(&tickets, &rows);
        } else {
            // No header: mostly no column is named like a ticket number, and the error says so.
            assert_clear(&result, lines_of(&bytes));
        }
    }

    #[test]
    fn xlsx_files_of_any_usual_shape_import_their_tickets(
        rows in proptest::collection::vec(row(), 1..40),
        columns in Just([0u16, 1, 2, 3]).prop_shuffle(),
        gap in 0u16..3,
        numbers in any::<bool>(),
        blank_rows in proptest::collection::vec(any::<bool>(), 40),
    ) {
        // Columns in any order, a gap of empty columns, ticket numbers typed as numbers, blank
        // rows between tickets.
        let rows: Vec<Row> = rows
            .into_iter()
            .enumerate()
            .map(|(i, mut row)| {
                if numbers {
                    row.barcode = format!("{}", 1_000_000 + i % 30);
                }
                row
            })
            .collect();
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let column = |field: usize| columns[field] * (1 + gap);
        for (field, name) in ["barcode", "category", "holder", "status"].into_iter().enumerate() {
            sheet.write_string(0, column(field), name).expect("cell");
        }
        let mut at = 1u32;
        for (i, row) in rows.iter().enumerate() {
            at += u32::from(blank_rows[i]);
            if numbers {
                sheet.write_number(at, column(0), row.barcode.parse::<f64>().expect("number")).expect("cell");
            } else {
                sheet.write_string(at, column(0), &row.barcode).expect("cell");
            }
            for (field, text) in [(1, &row.category), (2, &row.holder)] {
                if !text.is_empty() {
                    sheet.write_string(at, column(field), text).expect("cell");
                }
            }
            if !row.state.is_empty() {
                sheet.write_string(at, column(3), row.state).expect("cell");
            }
            at += 1;
        }
        let bytes = book.save_to_buffer().expect("xlsx");
        let tickets = import_as(SourceKind::File, &bytes, "tickets.xlsx").unwrap_or_else(|e| panic!("{e:?}"));
        assert_imported(&tickets, &rows);
    }
}

/// Ways a partner's file arrives damaged.
#[derive(Debug, Clone)]
enum Damage {
    /// The file cut at a byte.
    Truncated(prop::sample::Index),
    /// A row with a cell more or fewer.
    ColumnCount(prop::sample::Index, bool),
    /// A row's price replaced by text that is no price, or by one off the grid.
    Price(prop::sample::Index, String),
    /// A byte that is not UTF-8 in a row.
    NotUtf8(prop::sample::Index, prop::sample::Index),
    /// A row's barcode damaged.
    Barcode(prop::sample::Index, String),
}

fn damage() -> impl Strategy<Value = Damage> {
    let index = any::<prop::sample::Index>;
    prop_oneof![
        index().prop_map(Damage::Truncated),
        (index(), any::<bool>()).prop_map(|(i, more)| Damage::ColumnCount(i, more)),
        (index(), prop_oneof![Just("".to_owned()), Just("abc".to_owned()), Just("92233720368547759.00".to_owned()),
                             Just("-1.-5".to_owned()), Just("1.234".to_owned()), "[0-9]{1,3}[.,][0-9]{1,2}"])
            .prop_map(|(i, price)| Damage::Price(i, price)),
        (index(), index()).prop_map(|(row, at)| Damage::NotUtf8(row, at)),
        (index(), prop_oneof![Just("".to_owned()), "[0-9]{1,13}", "03[0-9]{12}", "02[0-9]{11}[ é]"])
            .prop_map(|(i, barcode)| Damage::Barcode(i, barcode)),
    ]
}

/// Applies `damage` to the data rows of `rows` (the header apart) whose price is in column
/// `price` and barcode in `barcode`: the file's bytes, and the line of the row damaged.
fn damaged(header: Option<&str>, mut rows: Vec<Vec<String>>, damage: &Damage, price: Option<usize>, barcode: usize) -> (Vec<u8>, Option<u64>) {
    let first_line = 1 + u64::from(header.is_some());
    let line = |i: usize| Some(first_line + i as u64);
    let join = |rows: &[Vec<String>]| {
        let mut text = header.map(|h| format!("{h}\n")).unwrap_or_default();
        for row in rows {
            text.push_str(&row.join(";"));
            text.push('\n');
        }
        text.into_bytes()
    };
    match damage {
        Damage::Truncated(at) => {
            let mut bytes = join(&rows);
            bytes.truncate(at.index(bytes.len()));
            (bytes, None)
        }
        Damage::ColumnCount(i, more) => {
            let i = i.index(rows.len());
            if *more {
                rows[i].push("extra".to_owned());
            } else {
                rows[i].pop();
            }
            (join(&rows), line(i))
        }
        Damage::Price(i, text) => {
            let i = i.index(rows.len());
            if let Some(price) = price {
                rows[i][price] = text.clone();
            }
            (join(&rows), line(i))
        }
        Damage::Barcode(i, text) => {
            let i = i.index(rows.len());
            rows[i][barcode] = text.clone();
            (join(&rows), line(i))
        }
        Damage::NotUtf8(i, at) => {
            let i = i.index(rows.len());
            let mut row = rows[i].join(";").into_bytes();
            row.insert(at.index(row.len() + 1), 0xFF);
            let mut bytes = join(&rows[..i]);
            bytes.extend_from_slice(&row);
            bytes.push(b'\n');
            bytes.extend_from_slice(&join(&rows[i + 1..])[header.map_or(0, |h| h.len() + 1)..]);
            (bytes, line(i))
        }
    }
}

const TICKETNET_HEADER: &str = "BARCODE;EVENT;SESSION;HALL;ZONE;FLOOR;CATEGORY;TARIFF;PRICE;SEAT;LAST_NAME;FIRST_NAME";

fn ticketnet_rows(count: usize) -> Vec<Vec<String>> {
    (0..count)
        .map(|i| {
            let (tariff, price) = if i % 3 == 0 { ("11", "25,00") } else { ("10", "32.20") };
            [format!("02{:012}", i + 1).as_str(), "4521", "", "7", "", "", if i % 2 == 0 { "1" } else { "2" }, tariff, price, "A12", "Curie", "Marie"]
                .map(str::to_owned)
                .to_vec()
        })
        .collect()
}

fn secutix_rows(count: usize) -> Vec<Vec<String>> {
    (0..count)
        .map(|i| {
            let state = ["PRINTED", "NOT_PRINTED", "CANCELLED", "CONTROLLED"][i % 4];
            [format!("1000019123{:04}", i).as_str(), state, "F1", "P1", "Carmen", "2026-12-05", "T1", "Plein", "42.00", "2026-11-01", "C9"]
                .map(str::to_owned)
                .to_vec()
        })
        .collect()
}

fn white_list_rows(count: usize) -> Vec<Vec<String>> {
    (0..count)
        .map(|i| [format!("2000019123{:04}", i).as_str(), "14-15", "Carmen", "0", "FALSE", "FALSE", "2017-12-05 19:45:00"].map(str::to_owned).to_vec())
        .collect()
}

/// A damaged row is refused naming its line, unless the damage left it valid; every ticket
/// imported is one of the file's, whole.
fn assert_refused_or_correct(result: &Result<Vec<ImportedTicket>, FileError>, bytes: &[u8], damaged_line: Option<u64>, valid: impl Fn(&ImportedTicket) -> bool) {
    assert_clear(result, lines_of(bytes));
    match result {
        Ok(tickets) => {
            for ticket in tickets {
                assert!(valid(ticket), "{ticket:?}");
                serde_json::from_str::<serde_json::Value>(&ticket.fields).expect("fields are JSON");
            }
        }
        Err(FileError::Rejected(rows)) => {
            if let Some(line) = damaged_line {
                assert!(rows.iter().any(|r| r.line == line), "line {line} not named: {rows:?}");
            }
        }
        Err(_) => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_damaged_ticketnet_file_is_refused_by_line_or_imported_correctly(count in 1usize..30, damage in damage()) {
        let (bytes, line) = damaged(Some(TICKETNET_HEADER), ticketnet_rows(count), &damage, Some(8), 0);
        let result = import_as(SourceKind::Ticketnet, &bytes, "ventes.csv");
        // A price that is no price, or off the grid, is always refused; a bad barcode too.
        let on_the_grid = |price: &str| {
            let price: Option<f64> = price.replace(',', ".").parse().ok();
            price.is_some_and(|p| [2500, 3220].contains(&((p * 100.0).round() as i64)))
        };
        let must_refuse = match &damage {
            Damage::Price(_, price) => !on_the_grid(price),
            Damage::Barcode(..) => true,
            _ => false,
        };
        if must_refuse {
            prop_assert!(matches!(result, Err(FileError::Rejected(_))), "{result:?}");
        }
        assert_refused_or_correct(&result, &bytes, line.filter(|_| must_refuse), |t| {
            t.barcode.as_str().len() == 14 && t.barcode.as_str().starts_with("02") && ["Carré Or", "Tribune"].contains(&t.category.as_str())
        });
    }

    #[test]
    fn a_damaged_secutix_reseller_file_is_refused_by_line_or_imported_correctly(count in 1usize..30, header in any::<bool>(), damage in damage()) {
        let header = header.then(|| "BAR_CODE;TICKET_STATE;FILE_NUMBER;PRODUCT_CODE;PRODUCT_NAME;VALIDITY_DATE;TARIFF_CODE;TARIFF_NAME;PRICE;ORDER_DATE;CONTACT_NUMBER");
        let (bytes, line) = damaged(header, secutix_rows(count), &damage, None, 0);
        let result = import_as(SourceKind::SecutixReseller, &bytes, "reseller.csv");
        let must_refuse = matches!(&damage, Damage::Barcode(_, b) if b.is_empty());
        if must_refuse {
            prop_assert!(matches!(result, Err(FileError::Rejected(_))), "{result:?}");
        }
        assert_refused_or_correct(&result, &bytes, line.filter(|_| must_refuse), |t| !t.barcode.as_str().is_empty());
    }

    #[test]
    fn a_damaged_secutix_white_list_is_refused_by_line_or_imported_correctly(count in 1usize..30, damage in damage()) {
        let (bytes, line) = damaged(None, white_list_rows(count), &damage, None, 0);
        let result = import_as(SourceKind::SecutixWhitelist, &bytes, "white.csv");
        // A white list row has exactly 7 cells.
        let must_refuse = matches!(&damage, Damage::ColumnCount(..)) || matches!(&damage, Damage::Barcode(_, b) if b.is_empty());
        if must_refuse {
            prop_assert!(matches!(result, Err(FileError::Rejected(_))), "{result:?}");
        }
        assert_refused_or_correct(&result, &bytes, line.filter(|_| must_refuse), |t| t.state == TicketState::Valid);
    }
}

#[test]
fn a_price_too_large_for_cents_is_a_rejected_row() {
    let file = format!("{TICKETNET_HEADER}\n02000000000001;4521;;7;;;1;10;92233720368547759.00;;;\n");
    let Err(FileError::Rejected(rows)) = import_as(SourceKind::Ticketnet, file.as_bytes(), "ventes.csv") else { panic!("refused") };
    assert_eq!(rows[0].line, 2);
    assert!(rows[0].reason.contains("is not a price"), "{}", rows[0].reason);
}

//! File sources: a CSV (UTF-8 or Windows-1252, any usual delimiter) or XLSX upload read into
//! rows, its columns mapped to ticket fields, and each row parsed into a ticket or rejected
//! with its line number. An import is all-or-nothing: one rejected row imports nothing.

use std::collections::BTreeMap;
use std::io::Cursor;

use app::ssr::storage::ImportedTicket;
use app::domain::{FieldValues, FilePreview, RejectedRow, SourceKind};
use app::engine::{Barcode, TicketState};

use super::settings::{Fields, SettingsError};

mod xlsx;

/// The largest file accepted: about a million tickets.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Rows shown in a preview.
const PREVIEW_ROWS: usize = 5;
/// Rejected rows reported at most (the count says how many more).
pub const MAX_REPORTED_ROWS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is larger than {} MB", MAX_FILE_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("the file cannot be read: {0}")]
    Unreadable(String),
    #[error("the file holds no rows")]
    Empty,
    #[error("{0}")]
    Mapping(#[from] SettingsError),
    #[error("{} rows rejected, nothing imported", .0.len())]
    Rejected(Vec<RejectedRow>),
}

/// A file as rows of text, the first one the header.
#[derive(Debug)]
pub struct Table {
    pub format: String,
    pub headers: Vec<String>,
    /// The rows after the header.
    pub rows: Rows,
}

pub fn read_table(bytes: &[u8], file_name: &str) -> Result<Table, FileError> {
    let mut rows = read_rows(bytes, file_name)?;
    let headers = rows.take_first().ok_or(FileError::Empty)?;
    Ok(Table { format: std::mem::take(&mut rows.format), headers: headers.into_iter().map(|h| h.trim().to_owned()).collect(), rows })
}

/// Every non-empty row with its line, header or not (for formats whose header is optional).
pub fn read_rows(bytes: &[u8], file_name: &str) -> Result<Rows, FileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge);
    }
    let lower = file_name.to_lowercase();
    let rows = if bytes.starts_with(b"PK\x03\x04") || lower.ends_with(".xlsx") { read_xlsx(bytes)? } else { read_csv(bytes)? };
    if rows.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(rows)
}

/// The text a file's cells may hold in all: a CSV holds at most its own size (a little more in
/// Windows-1252, whose accents take two bytes in UTF-8), but an XLSX can repeat one shared
/// string in every cell.
const MAX_TEXT_BYTES: usize = MAX_FILE_BYTES + MAX_FILE_BYTES / 2;

/// A file's rows, every cell's text in one buffer: a row costs 16 bytes and a cell 4 besides
/// its text, where a `String` a cell cost 24 and an allocation (a 64 MB file of short rows
/// took several times its size). Rows whose cells are all blank are left out.
#[derive(Debug, Default)]
pub struct Rows {
    /// The format read, as shown to the user.
    pub format: String,
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<u32>,
    /// Where each cell starts in `text`, when cells are not laid end to end (`spans`): an
    /// XLSX's shared strings are read once into `text` and its cells point at them, 4 more
    /// bytes a cell instead of a copy of each string. Empty for a CSV.
    starts: Vec<u32>,
    spans: bool,
    /// Each row's line in the file (1 = the first) and its first cell in `ends`.
    rows: Vec<(u64, u32)>,
    /// The text of every cell kept, a shared string counted in each cell that shows it (the
    /// tickets built from the rows copy it).
    cells_text: usize,
    /// Where the current row's own text starts in `text`.
    row_text: usize,
}

/// One row of a file, its cells borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub line: u64,
    text: &'a str,
    start: usize,
    ends: &'a [u32],
    /// Each cell's start, or empty when each starts where the one before ends (from `start`).
    starts: &'a [u32],
}

impl<'a> Row<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The cell in `column` (from 0), as in the file.
    pub fn get(&self, column: usize) -> Option<&'a str> {
        let end = *self.ends.get(column)? as usize;
        let start = match (self.starts.get(column), column) {
            (Some(&start), _) => start as usize,
            (None, 0) => self.start,
            (None, _) => self.ends[column - 1] as usize,
        };
        self.text.get(start..end)
    }

    pub fn cells(&self) -> impl Iterator<Item = &'a str> + 'a {
        let row = *self;
        (0..row.len()).filter_map(move |column| row.get(column))
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.cells().map(str::to_owned).collect()
    }
}

impl Rows {
    fn new(format: String) -> Self {
        Self { format, ..Self::default() }
    }

    /// Rows whose cells may point at text read before them (`push_shared_string`).
    fn with_spans(format: String) -> Self {
        Self { format, spans: true, ..Self::default() }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<Row<'_>> {
        let &(line, first) = self.rows.get(index)?;
        let next = self.rows.get(index + 1).map_or(self.ends.len(), |&(_, next)| next as usize);
        let first = first as usize;
        let start = match first {
            0 => 0,
            _ => self.ends[first - 1] as usize,
        };
        Some(Row { line, text: &self.text, start, ends: &self.ends[first..next], starts: self.starts.get(first..next).unwrap_or_default() })
    }

    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.len()).filter_map(|index| self.get(index))
    }

    /// Removes the first row (a header) and gives its cells.
    fn take_first(&mut self) -> Option<Vec<String>> {
        let header = self.get(0)?.to_strings();
        self.rows.remove(0);
        Some(header)
    }

    fn start_row(&mut self, line: u64) -> Result<(), FileError> {
        let first = u32::try_from(self.ends.len()).map_err(|_| too_much_text())?;
        self.rows.push((line, first));
        self.row_text = self.text.len();
        Ok(())
    }

    /// The cells of the current row so far.
    fn cells_in_row(&self) -> usize {
        self.rows.last().map_or(0, |&(_, first)| self.ends.len() - first as usize)
    }

    fn count_text(&mut self, bytes: usize) -> Result<(), FileError> {
        if self.cells_text + bytes > MAX_TEXT_BYTES {
            return Err(too_much_text());
        }
        self.cells_text += bytes;
        Ok(())
    }

    fn push_cell(&mut self, cell: &str) -> Result<(), FileError> {
        self.count_text(cell.len())?;
        if self.spans {
            self.starts.push(self.text.len() as u32);
        }
        self.text.push_str(cell);
        self.ends.push(self.text.len() as u32);
        Ok(())
    }

    /// Keeps a string cells will point at (`push_span`), before any row: where it ends.
    fn push_shared_string(&mut self, text: &str) -> Result<u32, FileError> {
        if self.text.len() + text.len() > MAX_TEXT_BYTES {
            return Err(too_much_text());
        }
        self.text.push_str(text);
        Ok(self.text.len() as u32)
    }

    /// A cell showing `text[start..end]`, kept by `push_shared_string`.
    fn push_span(&mut self, start: u32, end: u32) -> Result<(), FileError> {
        self.count_text(end.saturating_sub(start) as usize)?;
        self.starts.push(start);
        self.ends.push(end);
        Ok(())
    }

    /// Leaves out the row just read if its cells are all blank.
    fn end_row(&mut self) {
        let Some(last) = self.len().checked_sub(1) else { return };
        let Some(row) = self.get(last) else { return };
        if row.cells().all(|cell| cell.trim().is_empty()) {
            let blank: usize = row.cells().map(str::len).sum();
            let first = self.rows.pop().map_or(0, |(_, first)| first as usize);
            self.cells_text -= blank;
            self.text.truncate(self.row_text);
            self.ends.truncate(first);
            self.starts.truncate(first);
        }
    }

    fn finish(mut self) -> Self {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.starts.shrink_to_fit();
        self.rows.shrink_to_fit();
        self
    }
}

fn too_much_text() -> FileError {
    FileError::Unreadable(format!("the file's cells hold more than {} MB of text", MAX_TEXT_BYTES / 1024 / 1024))
}

/// Cells beyond these are refused before anything is built: a ticket file has a few columns
/// and at most about a million rows (XLSX's own limit is 1,048,576).
const MAX_XLSX_ROWS: u32 = 1_100_000;
const MAX_XLSX_COLUMNS: u32 = 256;
/// A part of the XLSX zip (a sheet, the shared strings) decompressed, at most: a few hundred
/// bytes can inflate to gigabytes.
const MAX_XLSX_PART_BYTES: u64 = 256 * 1024 * 1024;

/// The first sheet, cell by cell: only the cells present are kept, so a sheet whose used
/// range is huge but nearly empty costs what its cells cost, and one that reaches past the
/// bounds is refused at its first cell out of them. Its shared strings are read once into the
/// rows' text, which its cells point at (`xlsx`).
fn read_xlsx(bytes: &[u8]) -> Result<Rows, FileError> {
    // A password-protected workbook is an OLE compound file holding the encrypted zip.
    if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Err(FileError::Unreadable("the workbook is password-protected or an old .xls: save it as .xlsx or CSV".to_owned()));
    }
    check_xlsx_parts(bytes)?;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| FileError::Unreadable(e.to_string()))?;
    let parts = xlsx::parts(&mut archive)?;
    let mut rows = Rows::with_spans("XLSX".to_owned());
    let shared = xlsx::shared_strings(&mut archive, parts.shared_strings, &mut rows)?;
    let span = |index: usize| (index.checked_sub(1).map_or(0, |before| shared[before]), shared[index]);
    let sheet = archive.by_index(parts.sheet).map_err(|e| FileError::Unreadable(e.to_string()))?;
    let mut cells = xlsx::Cells::new(sheet, shared.len());
    let mut current_row = None;
    while let Some(((row, column), value)) = cells.next_cell()? {
        let at = || format!("row {}, column {}", u64::from(row) + 1, u64::from(column) + 1);
        if row >= MAX_XLSX_ROWS || column >= MAX_XLSX_COLUMNS {
            return Err(FileError::Unreadable(format!(
                "the sheet has a cell at {}: a ticket file has at most {MAX_XLSX_ROWS} rows and {MAX_XLSX_COLUMNS} columns",
                at()
            )));
        }
        if current_row != Some(row) {
            if current_row.is_some_and(|current| row < current) {
                return Err(FileError::Unreadable(format!("the sheet lists the cell at {} after later rows", at())));
            }
            rows.end_row();
            rows.start_row(u64::from(row) + 1)?;
            current_row = Some(row);
        }
        // Cells come in column order; the columns skipped are empty.
        let column = column as usize;
        if column < rows.cells_in_row() {
            return Err(FileError::Unreadable(format!("the sheet lists the cell at {} twice or out of order", at())));
        }
        while rows.cells_in_row() < column {
            rows.push_cell("")?;
        }
        match value {
            xlsx::Value::Shared(index) => {
                let (start, end) = span(index);
                rows.push_span(start, end)?;
            }
            xlsx::Value::Text(text) => rows.push_cell(text)?,
        }
    }
    rows.end_row();
    Ok(rows.finish())
}

/// Refuses a zip whose parts inflate beyond `MAX_XLSX_PART_BYTES`, by inflating each into
/// nothing first: the sizes a zip declares are the sender's word.
fn check_xlsx_parts(bytes: &[u8]) -> Result<(), FileError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| FileError::Unreadable(e.to_string()))?;
    for index in 0..archive.len() {
        let mut part = archive.by_index(index).map_err(|e| FileError::Unreadable(e.to_string()))?;
        let name = part.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("part {index}"));
        let inflated = std::io::copy(&mut std::io::Read::take(&mut part, MAX_XLSX_PART_BYTES + 1), &mut std::io::sink())
            .map_err(|e| FileError::Unreadable(format!("{name}: {e}")))?;
        if inflated > MAX_XLSX_PART_BYTES {
            return Err(FileError::Unreadable(format!(
                "{name} inflates to more than {} MB",
                MAX_XLSX_PART_BYTES / 1024 / 1024
            )));
        }
    }
    Ok(())
}

/// Read record by record into one `Rows`: nothing a cell is allocated, and the file is never
/// held decoded whole beside its bytes (each field is decoded as it is stored).
fn read_csv(bytes: &[u8]) -> Result<Rows, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Spreadsheets saved as CSV on Windows are Windows-1252.
    let utf8 = std::str::from_utf8(bytes).is_ok();
    let delimiter = detect_delimiter(bytes);
    let shown = match delimiter {
        b'\t' => "tab".to_owned(),
        d => (d as char).to_string(),
    };
    let mut rows = Rows::new(format!("CSV ({}, delimiter {shown})", if utf8 { "UTF-8" } else { "Windows-1252" }));
    // Sized once, at most about the file: grown by doubling, each buffer was up to twice its
    // content, and three times while copied.
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    let cells = lines + bytes.iter().filter(|&&b| b == delimiter).count();
    rows.text.reserve_exact(bytes.len());
    rows.ends.reserve_exact(cells);
    rows.rows.reserve_exact(lines);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| FileError::Unreadable(e.to_string()))? {
        rows.start_row(record.position().map_or(0, |p| p.line()))?;
        for field in &record {
            match utf8 {
                // Fields of a UTF-8 file are cut at ASCII bytes: each is UTF-8.
                true => rows.push_cell(std::str::from_utf8(field).map_err(|e| FileError::Unreadable(e.to_string()))?)?,
                false => rows.push_cell(&encoding_rs::WINDOWS_1252.decode_without_bom_handling(field).0)?,
            }
        }
        rows.end_row();
    }
    Ok(rows.finish())
}

/// The delimiter seen most on the first line, outside quotes.
fn detect_delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut counts = [(b';', 0), (b',', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for &byte in first {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if *d == byte {
                    *n += 1;
                }
            }
        }
    }
    counts.iter().max_by_key(|(_, n)| *n).filter(|(_, n)| *n > 0).map_or(b',', |(d, _)| *d)
}

/// Which column holds each ticket field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub barcode: usize,
    pub state: Option<usize>,
    pub category: Option<usize>,
    pub holder: Option<usize>,
}

const BARCODE_NAMES: &[&str] = &["barcode", "bar_code", "code barre", "code-barre", "code_barre", "code", "ticket", "ticket number", "ticket_number", "numero", "numéro", "numéro de billet", "billet", "number", "scan_code", "ticket_scan_code", "qr"];
const STATE_NAMES: &[&str] = &["state", "status", "etat", "état", "statut", "ticket_state", "ticket_status"];
const CATEGORY_NAMES: &[&str] = &["category", "categorie", "catégorie", "tarif", "tariff", "ticket_type", "type", "deal_title"];
const HOLDER_NAMES: &[&str] = &["holder", "holder_name", "holder name", "name", "nom", "full_name", "customer", "client", "porteur", "spectateur"];

impl Mapping {
    /// Columns named in the source's settings, else guessed from the header.
    pub fn for_table(headers: &[String], settings: &FieldValues) -> Result<Self, SettingsError> {
        let fields = Fields::check(settings, SourceKind::File.fields())?;
        let find = |setting: &str, guesses: &[&str]| -> Result<Option<usize>, SettingsError> {
            match fields.text(setting) {
                Some(name) => headers
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case(&name))
                    .map(Some)
                    .ok_or_else(|| SettingsError::new(setting, format!("no column named {name:?} in the file ({})", headers.join(", ")))),
                None => Ok(guesses.iter().find_map(|g| headers.iter().position(|h| h.to_lowercase() == *g))),
            }
        };
        let barcode = find("barcode_column", BARCODE_NAMES)?.ok_or_else(|| {
            SettingsError::new("barcode_column", format!("no ticket number column among {}: name it in the source", headers.join(", ")))
        })?;
        Ok(Self {
            barcode,
            state: find("state_column", STATE_NAMES)?,
            category: find("category_column", CATEGORY_NAMES)?,
            holder: find("holder_column", HOLDER_NAMES)?,
        })
    }

    fn describe(&self, headers: &[String]) -> BTreeMap<String, String> {
        [("barcode", Some(self.barcode)), ("state", self.state), ("category", self.category), ("holder", self.holder)]
            .into_iter()
            .filter_map(|(field, column)| Some((field.to_owned(), headers.get(column?)?.clone())))
            .collect()
    }
}

/// A file's own word for a ticket's state; an empty cell means valid.
pub fn state_of(text: &str) -> Option<TicketState> {
    match text.trim().to_lowercase().as_str() {
        "" | "valid" | "valide" | "ok" | "paid" | "payé" | "printed" | "not_printed" | "1" | "true" => Some(TicketState::Valid),
        "cancelled" | "canceled" | "annulé" | "annule" | "annulée" | "refunded" | "remboursé" | "invalidated" | "0" | "false" => {
            Some(TicketState::Cancelled)
        }
        "duplicated" | "dupliqué" | "duplique" | "reissued" | "réédité" => Some(TicketState::Duplicated),
        "unknown" | "inconnu" => Some(TicketState::Unknown),
        _ => None,
    }
}

/// Files parsed at once, whatever the number of uploads: parsing holds a core and a few times
/// the file in memory.
const CONCURRENT_PARSES: usize = 2;

/// `check`, on a blocking thread and behind `CONCURRENT_PARSES`, so a large or hostile file
/// never stalls the async threads that answer the doors.
pub async fn check_off_thread(
    kind: SourceKind,
    bytes: axum::body::Bytes,
    file_name: String,
    settings: FieldValues,
    options: FieldValues,
    now: i64,
) -> Result<CheckedFile, FileError> {
    static PARSES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_PARSES);
    let _permit = PARSES.acquire().await.map_err(|_| FileError::Unreadable("the server is stopping".to_owned()))?;
    tokio::task::spawn_blocking(move || check(kind, bytes, &file_name, &settings, &options, now))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "file parsing task failed");
            FileError::Unreadable("the file could not be read".to_owned())
        })?
}

/// Why a row of a file is not a ticket.
#[derive(Debug)]
pub enum RowRefusal {
    /// The row is rejected: nothing of the file is imported, and every such row is reported.
    Rejected(String),
    /// The file stops at this row (Ticketnet's price check): the rows rejected so far are reported.
    Stop(String),
}

/// A file format: how one of its rows becomes a ticket.
pub trait TicketFormat: Send + Sync {
    /// The row's ticket, or `None` for a row that holds none (an optional header).
    fn ticket(&self, row: Row<'_>) -> Result<Option<ImportedTicket>, RowRefusal>;
}

/// An upload read and checked: its rows stay as text, and each ticket is built again when its
/// chunk is imported, so an import never holds every ticket of a file at once (a ticket costs
/// several times its row).
pub struct CheckedFile {
    pub preview: FilePreview,
    rows: Rows,
    format: Box<dyn TicketFormat>,
    /// The rows to import (indices into `rows`): one a ticket number.
    order: Vec<u32>,
}

impl CheckedFile {
    /// The tickets the file holds, a number listed twice counted once.
    pub fn tickets(&self) -> usize {
        self.order.len()
    }

    /// The file's tickets, `size` at a time.
    pub fn chunks(&self, size: usize) -> impl Iterator<Item = Vec<ImportedTicket>> + Send + '_ {
        self.order.chunks(size.max(1)).map(|chunk| chunk.iter().filter_map(|&index| self.ticket_at(index)).collect())
    }

    /// The ticket of a row the check accepted.
    fn ticket_at(&self, index: u32) -> Option<ImportedTicket> {
        self.format.ticket(self.rows.get(index as usize)?).ok().flatten()
    }
}

/// Reads an upload for a file source of `kind` and checks every row: what to show of it and its
/// tickets, or every rejected row. `options` are the performance's options for the source. The
/// file's bytes are let go once its rows are read.
pub fn check(
    kind: SourceKind,
    bytes: impl AsRef<[u8]>,
    file_name: &str,
    settings: &FieldValues,
    options: &FieldValues,
    now: i64,
) -> Result<CheckedFile, FileError> {
    let (preview, rows, format): (FilePreview, Rows, Box<dyn TicketFormat>) = match kind {
        SourceKind::Ticketnet => {
            let table = read_table(bytes.as_ref(), file_name)?;
            let fields = Fields::check(settings, kind.fields())?;
            let tables = super::ticketnet::Tables::from_settings(&fields)?;
            let event = super::ticketnet::event_of(options)?;
            let format = super::ticketnet::TicketnetFormat::new(&table.headers, tables, event)?;
            (raw_preview(&table.format, table.headers.clone(), &table.rows), table.rows, Box::new(format))
        }
        SourceKind::SecutixReseller => {
            let rows = read_rows(bytes.as_ref(), file_name)?;
            let format = super::secutix_files::ResellerFormat::new(&rows, now);
            (raw_preview(&rows.format, Vec::new(), &rows), rows, Box::new(format))
        }
        SourceKind::SecutixWhitelist => {
            let rows = read_rows(bytes.as_ref(), file_name)?;
            let format = super::secutix_files::WhiteListFormat::new(&rows);
            (raw_preview(&rows.format, Vec::new(), &rows), rows, Box::new(format))
        }
        _ => {
            let table = read_table(bytes.as_ref(), file_name)?;
            let mapping = Mapping::for_table(&table.headers, settings)?;
            (preview(&table, &mapping), table.rows, Box::new(MappedFormat { headers: table.headers, mapping }))
        }
    };
    drop(bytes);
    let order = checked_order(&rows, format.as_ref())?;
    Ok(CheckedFile { preview, rows, format, order })
}

/// Checks every row; then keeps one row a ticket number, in the place of its first row and with
/// its last row's content (a cancellation after the sale). Sorts hashes of the numbers instead
/// of keeping a map of them: 16 bytes a row, not a copy of a million numbers.
fn checked_order(rows: &Rows, format: &dyn TicketFormat) -> Result<Vec<u32>, FileError> {
    use std::hash::BuildHasher;
    let hasher = std::hash::RandomState::new();
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(rows.len());
    let mut rejected = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match format.ticket(row) {
            Ok(Some(ticket)) if rejected.is_empty() => keys.push((hasher.hash_one(ticket.barcode.as_str()), index as u32)),
            // Nothing will be imported: only the rejected rows matter now.
            Ok(_) => {}
            Err(RowRefusal::Rejected(reason)) => rejected.push(RejectedRow { line: row.line, reason }),
            Err(RowRefusal::Stop(reason)) => {
                rejected.push(RejectedRow { line: row.line, reason });
                return Err(FileError::Rejected(rejected));
            }
        }
    }
    if !rejected.is_empty() {
        return Err(FileError::Rejected(rejected));
    }
    keys.sort_unstable();
    // (first row, row whose content is kept) for each number.
    let mut kept: Vec<(u32, u32)> = Vec::with_capacity(keys.len());
    for same_hash in keys.chunk_by(|a, b| a.0 == b.0) {
        if let [(_, only)] = same_hash {
            kept.push((*only, *only));
            continue;
        }
        // The same number listed again, or (rarely) numbers whose hashes collide.
        let barcode = |index: u32| rows.get(index as usize).and_then(|row| format.ticket(row).ok().flatten()).map(|t| t.barcode);
        let mut numbers: Vec<_> = same_hash.iter().filter_map(|&(_, index)| Some((barcode(index)?, index))).collect();
        numbers.sort_unstable();
        for same in numbers.chunk_by(|a, b| a.0 == b.0) {
            if let (Some(first), Some(last)) = (same.first(), same.last()) {
                kept.push((first.1, last.1));
            }
        }
    }
    drop(keys);
    kept.sort_unstable();
    Ok(kept.into_iter().map(|(_, last)| last).collect())
}

/// Checks a performance's options for a file source of `kind`.
pub fn check_options(kind: SourceKind, options: &FieldValues) -> Result<(), SettingsError> {
    match kind {
        SourceKind::Ticketnet => super::ticketnet::event_of(options).map(|_| ()),
        _ => Fields::check(options, kind.attachment_fields()).map(|_| ()),
    }
}

/// The first rows of a file read in a fixed format (no mapping to show).
fn raw_preview(format: &str, headers: Vec<String>, rows: &Rows) -> FilePreview {
    FilePreview { format: format.to_owned(), headers, rows: first_rows(rows), mapping: BTreeMap::new() }
}

fn first_rows(rows: &Rows) -> Vec<Vec<String>> {
    rows.iter().take(PREVIEW_ROWS).map(|row| row.to_strings()).collect()
}

pub fn preview(table: &Table, mapping: &Mapping) -> FilePreview {
    FilePreview {
        format: table.format.clone(),
        headers: table.headers.clone(),
        rows: first_rows(&table.rows),
        mapping: mapping.describe(&table.headers),
    }
}

/// A row's fields as a JSON object (keys in order, a name given twice keeping its last
/// value), in a string no larger than it needs: a million tickets hold a million of them.
pub fn fields_json<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let map: BTreeMap<&str, &str> = fields.into_iter().collect();
    let mut json = serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned());
    json.shrink_to_fit();
    json
}

/// The generic file: a header, and columns mapped to ticket fields.
struct MappedFormat {
    headers: Vec<String>,
    mapping: Mapping,
}

impl TicketFormat for MappedFormat {
    fn ticket(&self, row: Row<'_>) -> Result<Option<ImportedTicket>, RowRefusal> {
        let mapping = &self.mapping;
        let cell = |column: Option<usize>| column.and_then(|c| row.get(c)).map(str::trim).unwrap_or_default();
        let barcode = Barcode::parse(cell(Some(mapping.barcode))).map_err(|e| RowRefusal::Rejected(format!("ticket number: {e}")))?;
        let state = state_of(cell(mapping.state)).ok_or_else(|| RowRefusal::Rejected(format!("unknown state {:?}", cell(mapping.state))))?;
        let holder = cell(mapping.holder);
        Ok(Some(ImportedTicket {
            state,
            category: cell(mapping.category).to_owned(),
            holder: (!holder.is_empty()).then(|| holder.to_owned()),
            fields: fields_json(self.headers.iter().map(String::as_str).zip(row.cells()).filter(|(h, _)| !h.is_empty())),
            partner_scanned_at: None,
            barcode,
        }))
    }
}

/// Every ticket of an upload, checked (tests read files whole).
#[cfg(test)]
pub fn import(
    kind: SourceKind,
    bytes: &[u8],
    file_name: &str,
    settings: &FieldValues,
    options: &FieldValues,
    now: i64,
) -> Result<(FilePreview, Vec<ImportedTicket>), FileError> {
    let checked = check(kind, bytes, file_name, settings, options, now)?;
    let tickets = checked.chunks(usize::MAX).flatten().collect();
    Ok((checked.preview, tickets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(bytes: &[u8], name: &str) -> Result<Vec<ImportedTicket>, FileError> {
        super::import(SourceKind::File, bytes, name, &FieldValues::new(), &FieldValues::new(), 0).map(|(_, tickets)| tickets)
    }

    #[test]
    fn the_workload_file_is_read_with_its_header_guessed() {
        let csv = "barcode,category,holder_name,status\nAAA1,vip,Ada Lovelace,valid\nBBB2,general,Bob,cancelled\n";
        let tickets = import(csv.as_bytes(), "tickets.csv").expect("reads");
        assert_eq!(tickets.len(), 2);
        assert_eq!(tickets[0].category, "vip");
        assert_eq!(tickets[0].holder.as_deref(), Some("Ada Lovelace"));
        assert_eq!(tickets[1].state, TicketState::Cancelled);
    }

    #[test]
    fn semicolons_and_windows_1252_are_detected() {
        let bytes = b"Num\xe9ro;Cat\xe9gorie;Nom\n0201234567890;Tribune;Jos\xe9\n";
        let table = read_table(bytes, "ventes.csv").expect("reads");
        assert_eq!(table.headers, vec!["Numéro", "Catégorie", "Nom"]);
        assert!(table.format.contains("Windows-1252") && table.format.contains(';'), "{}", table.format);
        let tickets = import(bytes, "ventes.csv").expect("parses");
        assert_eq!(tickets[0].holder.as_deref(), Some("José"));
    }

    #[test]
    fn a_number_listed_again_keeps_its_first_place_and_its_last_row() {
        let csv = "barcode,status\nAAA1,valid\nBBB2,valid\nAAA1,cancelled\nCCC3,valid\nBBB2,valid\nAAA1,duplicated\n";
        let tickets = import(csv.as_bytes(), "t.csv").expect("reads");
        let read: Vec<_> = tickets.iter().map(|t| (t.barcode.as_str(), t.state)).collect();
        assert_eq!(read, vec![("AAA1", TicketState::Duplicated), ("BBB2", TicketState::Valid), ("CCC3", TicketState::Valid)]);
    }

    #[test]
    fn a_checked_file_gives_its_tickets_a_chunk_at_a_time() {
        let csv: String = std::iter::once("barcode\n".to_owned()).chain((0..2_500).map(|i| format!("T{i}\n"))).collect();
        let checked = check(SourceKind::File, csv.as_bytes(), "t.csv", &FieldValues::new(), &FieldValues::new(), 0).expect("checks");
        assert_eq!(checked.tickets(), 2_500);
        let sizes: Vec<usize> = checked.chunks(1_000).map(|chunk| chunk.len()).collect();
        assert_eq!(sizes, vec![1_000, 1_000, 500]);
        let last = checked.chunks(1_000).last().and_then(|chunk| chunk.last().cloned()).expect("a ticket");
        assert_eq!(last.barcode.as_str(), "T2499");
    }

    #[test]
    fn rejected_rows_are_named_by_line_and_nothing_is_returned() {
        let csv = "barcode,status\nAAA1,valid\n,valid\nCCC3,maybe\nDDD4,valid\n";
        let Err(FileError::Rejected(rows)) = import(csv.as_bytes(), "t.csv") else { panic!("expected rejection") };
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![3, 4]);
        assert!(rows[1].reason.contains("maybe"));
    }

    #[test]
    fn a_named_column_that_is_absent_is_an_error_naming_the_setting() {
        let table = read_table(b"a,b\n1,2\n", "t.csv").expect("reads");
        let settings: FieldValues = [("barcode_column".to_owned(), "code".to_owned())].into();
        let e = Mapping::for_table(&table.headers, &settings).expect_err("no such column");
        assert_eq!(e.field, "barcode_column");
    }

    #[test]
    fn an_xlsx_file_reads_like_a_csv() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (col, header) in ["barcode", "category", "status"].iter().enumerate() {
            sheet.write_string(0, col as u16, *header).expect("write");
        }
        sheet.write_number(1, 0, 123456789.0).expect("write");
        sheet.write_string(1, 1, "vip").expect("write");
        sheet.write_string(1, 2, "valid").expect("write");
        let bytes = book.save_to_buffer().expect("save");
        let tickets = import(&bytes, "t.xlsx").expect("reads");
        assert_eq!(tickets[0].barcode.as_str(), "123456789");
        assert_eq!(tickets[0].category, "vip");
    }

    /// Finding 1 of the security review: two cells, A1 and XFD1048576, in a 1.5 KB file made
    /// calamine allocate the whole 512 GiB range and killed the server.
    #[test]
    fn a_sheet_reaching_past_the_bounds_is_refused_without_building_it() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "barcode").expect("write");
        sheet.write_string(1_048_575, 16_383, "far away").expect("write");
        let bytes = book.save_to_buffer().expect("save");
        assert!(bytes.len() < 8 * 1024, "a small file: {} bytes", bytes.len());
        let e = read_table(&bytes, "t.xlsx").expect_err("refused");
        assert!(e.to_string().contains("row 1048576, column 16384"), "{e}");
    }

    #[test]
    fn a_sparse_sheet_within_the_bounds_costs_only_its_cells() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "barcode").expect("write");
        sheet.write_string(1_000_000, 0, "LAST1").expect("write");
        sheet.write_string(1_000_000, 200, "note").expect("write");
        let bytes = book.save_to_buffer().expect("save");
        let table = read_table(&bytes, "t.xlsx").expect("reads");
        assert_eq!(table.rows.len(), 1);
        let row = table.rows.get(0).expect("a row");
        assert_eq!((row.line, row.get(0), row.len()), (1_000_001, Some("LAST1"), 201));
    }

    /// One shared string can fill every cell of a small file: the text kept is bounded too.
    #[test]
    fn a_shared_string_repeated_past_the_text_bound_is_refused() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "barcode").expect("write");
        let long = "x".repeat(32_000);
        for row in 1..=(MAX_TEXT_BYTES / long.len()) as u32 + 1 {
            sheet.write_string(row, 0, &long).expect("write");
        }
        let bytes = book.save_to_buffer().expect("save");
        assert!(bytes.len() < 1024 * 1024, "{} bytes", bytes.len());
        let e = read_table(&bytes, "t.xlsx").expect_err("refused");
        assert!(e.to_string().contains("more than 96 MB of text"), "{e}");
    }

    /// The rows calamine read from an XLSX (as this reader did before it read the zip itself).
    fn calamine_rows(bytes: &[u8]) -> Vec<Vec<String>> {
        use calamine::{Data, Reader};
        let mut workbook = calamine::Xlsx::new(Cursor::new(bytes)).expect("calamine reads it");
        let sheet = workbook.sheet_names().first().cloned().expect("a sheet");
        let range = workbook.worksheet_range(&sheet).expect("the sheet");
        range
            .rows()
            .map(|row| {
                let mut cells: Vec<String> = row
                    .iter()
                    .map(|cell| match cell {
                        Data::Float(f) => {
                            let mut text = String::new();
                            xlsx::number_text(*f, &mut text);
                            text
                        }
                        other => other.to_string(),
                    })
                    .collect();
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                cells
            })
            .filter(|cells| cells.iter().any(|c| !c.trim().is_empty()))
            .collect()
    }

    /// Shared strings (repeated, rich, phonetic, escaped, blank-edged), inline strings,
    /// numbers, dates, booleans, formulas' results and gaps read as calamine read them.
    #[test]
    fn an_xlsx_reads_as_calamine_read_it() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let bold = Format::new().set_bold();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        sheet.write_string(0, 0, "barcode").expect("cell");
        sheet.write_string(0, 1, "holder").expect("cell");
        sheet.write_string(0, 3, "note").expect("cell");
        for row in 1..40u32 {
            sheet.write_string(row, 0, format!("T{row:04}")).expect("cell");
            sheet.write_string(row, 1, ["Zoé", "Ana & Bo <b>", "  spaced  ", "_x000D_ lit", "日本語"][row as usize % 5]).expect("cell");
            sheet.write_number(row, 2, f64::from(row) * 1.5).expect("cell");
            sheet.write_boolean(row, 4, row % 2 == 0).expect("cell");
        }
        sheet.write_rich_string(40, 0, &[(&bold, "R1"), (&Format::default(), "23")]).expect("cell");
        sheet.write_number(40, 1, 1234567890123.0).expect("cell");
        sheet.write_datetime_with_format(40, 2, ExcelDateTime::from_ymd(2030, 6, 1).expect("date"), &date).expect("cell");
        sheet.write_formula(41, 0, Formula::new("=\"F\"&\"1\"").set_result("F1")).expect("cell");
        sheet.write_formula(41, 1, Formula::new("=1+1").set_result("2")).expect("cell");
        sheet.write_string(43, 5, "far").expect("cell");
        let bytes = book.save_to_buffer().expect("save");
        let rows = read_rows(&bytes, "t.xlsx").expect("reads");
        let ours: Vec<Vec<String>> = rows.iter().map(|row| row.to_strings()).collect();
        assert_eq!(ours, calamine_rows(&bytes));
        assert_eq!(rows.iter().map(|row| row.line).last(), Some(44));
    }

    /// A workbook written without shared strings (cells as inline strings), as some exports do.
    #[test]
    fn an_xlsx_of_inline_strings_is_read() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet_with_constant_memory().expect("a sheet");
        sheet.write_string(0, 0, "barcode").expect("cell");
        sheet.write_string(1, 0, "A&B1").expect("cell");
        sheet.write_number(2, 0, 42.0).expect("cell");
        let bytes = book.save_to_buffer().expect("save");
        let ours: Vec<Vec<String>> = read_rows(&bytes, "t.xlsx").expect("reads").iter().map(|row| row.to_strings()).collect();
        assert_eq!(ours, vec![vec!["barcode"], vec!["A&B1"], vec!["42"]]);
        assert_eq!(ours, calamine_rows(&bytes));
    }

    #[test]
    fn a_zip_bomb_is_refused_before_it_inflates() {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/sharedStrings.xml", deflated).expect("part");
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..300 {
            zip.write_all(&zeros).expect("inflatable");
        }
        let bytes = zip.finish().expect("zip").into_inner();
        assert!(bytes.len() < 2 * 1024 * 1024, "{} bytes", bytes.len());
        let e = read_table(&bytes, "bomb.xlsx").expect_err("refused");
        assert!(e.to_string().contains("inflates to more than 256 MB"), "{e}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_reading() {
        let big = vec![b'a'; MAX_FILE_BYTES + 1];
        assert!(matches!(read_table(&big, "t.csv"), Err(FileError::TooLarge)));
    }
}

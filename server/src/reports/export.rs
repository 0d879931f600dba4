//! `GET /export/report?performance=N&format=xlsx|csv`: a performance's whole report as a
//! download, signed in with back-office access to the performance. Columns: barcode, state,
//! category, holder, source, passes, first entry (the venue's local time), the ticket's scans
//! decided on a device (offline, or the server too slow: the only ones that can let a ticket in
//! twice), those the server's verdict disagreed with, and those made with the device's clock
//! more than a minute off; then one column per field the sources gave (the union of their
//! keys, sorted).
//!
//! Text that comes from partners or files (barcode, category, holder, source, fields) is made
//! inert for spreadsheets: see [`inert`].
//!
//! CSV is streamed a chunk of rows at a time. An .xlsx is a zip, complete only at its end: it
//! is written on a blocking thread while the next chunks are read, then sent whole.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;

use app::ssr::ServerContext;
use app::ssr::guard::backoffice_of_performance;
use app::ssr::session::SignedIn;
use app::ssr::storage::Storage;
use app::domain::{ExportFormat, ReportRow};
use app::engine::PerformanceId;
use app::error::AppError;

/// Rows read from the database at a time.
const CHUNK_ROWS: u32 = 5_000;

const FIXED_COLUMNS: [&str; 10] = [
    "barcode",
    "state",
    "category",
    "holder",
    "source",
    "passes",
    "first entry",
    "device decisions",
    "server disagreed",
    "device clock off",
];

#[derive(Deserialize)]
pub struct ExportQuery {
    performance: PerformanceId,
    format: ExportFormat,
}

pub async fn export(
    State(context): State<ServerContext>,
    Query(query): Query<ExportQuery>,
    SignedIn { actor, .. }: SignedIn,
) -> Result<Response, AppError> {
    let storage = context.storage.clone();
    backoffice_of_performance(storage.as_ref(), &actor, query.performance).await?;
    respond(storage, &query).await
}

/// What every row of an export needs to know.
struct Sheet {
    storage: Arc<dyn Storage>,
    performance: PerformanceId,
    zone: chrono_tz::Tz,
    field_keys: Vec<String>,
}

/// The download, once the caller may have it.
async fn respond(storage: Arc<dyn Storage>, query: &ExportQuery) -> Result<Response, AppError> {
    let zone = storage
        .performance_contexts(&[query.performance])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?
        .time_zone;
    let zone = chrono_tz::Tz::from_str(&zone).unwrap_or(chrono_tz::UTC);
    let field_keys = storage.report_field_keys(query.performance).await?;
    let sheet = Sheet {
        storage,
        performance: query.performance,
        zone,
        field_keys,
    };
    let (content_type, body) = match query.format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", csv_body(sheet)),
        ExportFormat::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Body::from(xlsx_bytes(sheet).await?),
        ),
    };
    let file_name = format!(
        "performance-{}.{}",
        query.performance,
        query.format.extension()
    );
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .map_err(|_| AppError::Internal)?;
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    if query.format == ExportFormat::Xlsx {
        // Already a zip: compressing it again costs time for nothing.
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static("identity"),
        );
    }
    Ok(response)
}

/// The venue's local time of an instant, to the second.
fn local_time(zone: chrono_tz::Tz, millis: i64) -> Option<chrono::NaiveDateTime> {
    chrono::DateTime::from_timestamp_millis(millis).map(|t| t.with_timezone(&zone).naive_local())
}

impl Sheet {
    /// The next chunk after `after`, or an empty one at the end.
    async fn chunk(&self, after: Option<&str>) -> Result<Vec<ReportRow>, AppError> {
        Ok(self
            .storage
            .report_chunk(self.performance, after, CHUNK_ROWS)
            .await?)
    }

    fn header(&self) -> impl Iterator<Item = &str> {
        FIXED_COLUMNS
            .into_iter()
            .chain(self.field_keys.iter().map(String::as_str))
    }
}

/// A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, carriage return
/// first), with a `'` before it so that it stays text: a buyer's name from a partner must not
/// run in the reader's spreadsheet (OWASP "CSV injection").
fn inert(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The most text one XLSX cell holds (Excel's limit; rust_xlsxwriter refuses more).
const XLSX_CELL_MAX_CHARS: usize = 32_767;

/// `inert`, cut to what one XLSX cell holds and saying so in the cell: one long field from a
/// partner must not fail the whole export.
fn xlsx_cell(cell: &str) -> Cow<'_, str> {
    let safe = inert(cell);
    let chars = safe.chars().count();
    if chars <= XLSX_CELL_MAX_CHARS {
        return safe;
    }
    let note = format!(" … [cut: {chars} characters]");
    let kept: String = safe.chars().take(XLSX_CELL_MAX_CHARS - note.chars().count()).collect();
    Cow::Owned(kept + &note)
}

/// CSV lines, written to a buffer of their own (one per chunk sent).
fn csv_lines<R, F, C>(prefix: &[u8], records: R) -> std::io::Result<Bytes>
where
    R: IntoIterator<Item = F>,
    F: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut writer = csv::Writer::from_writer(prefix.to_vec());
    for record in records {
        for cell in record {
            writer.write_field(cell.as_ref()).map_err(std::io::Error::other)?;
        }
        writer.write_record(None::<&[u8]>).map_err(std::io::Error::other)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// The CSV lines of the chunk after `after` (moved on to its last barcode); `None` at the end.
async fn csv_chunk(sheet: &Sheet, after: &mut Option<String>) -> std::io::Result<Option<Bytes>> {
    let rows = sheet
        .chunk(after.as_deref())
        .await
        .map_err(std::io::Error::other)?;
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    *after = Some(last.barcode.clone());
    let texts: Vec<([String; 4], String)> = rows
        .iter()
        .map(|row| {
            let first_entry = row
                .first_entry
                .and_then(|at| local_time(sheet.zone, at))
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let figures = [row.passes, row.device_decisions, row.disagreements, row.clock_off].map(|n| n.to_string());
            (figures, first_entry)
        })
        .collect();
    let records = rows.iter().zip(&texts).map(|(row, ([passes, device, disagreed, clock_off], first_entry))| {
        let fixed = [
            inert(&row.barcode),
            Cow::Borrowed(row.state.as_str()),
            inert(&row.category),
            inert(row.holder.as_deref().unwrap_or("")),
            inert(row.source_name.as_deref().unwrap_or("")),
            Cow::Borrowed(passes.as_str()),
            Cow::Borrowed(first_entry.as_str()),
            Cow::Borrowed(device.as_str()),
            Cow::Borrowed(disagreed.as_str()),
            Cow::Borrowed(clock_off.as_str()),
        ];
        let fields = sheet
            .field_keys
            .iter()
            .map(|k| inert(row.fields.get(k).map_or("", String::as_str)));
        fixed.into_iter().chain(fields)
    });
    csv_lines(&[], records).map(Some)
}

fn csv_body(sheet: Sheet) -> Body {
    let stream = async_stream::stream! {
        // The byte-order mark tells spreadsheets the file is UTF-8 (accents in names).
        yield csv_lines("\u{feff}".as_bytes(), [sheet.header()]);
        let mut after = None;
        loop {
            match csv_chunk(&sheet, &mut after).await {
                Ok(Some(lines)) => yield Ok(lines),
                Ok(None) => break,
                // Cut short: the client sees a failed download, not a partial file.
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed");
                    yield Err(e);
                    break;
                }
            }
        }
    };
    Body::from_stream(stream)
}

/// Days since 1899-12-30, Excel's date serial of a local time.
fn excel_serial(time: chrono::NaiveDateTime) -> f64 {
    const UNIX_EPOCH_SERIAL: f64 = 25_569.0;
    time.and_utc().timestamp_millis() as f64 / 86_400_000.0 + UNIX_EPOCH_SERIAL
}

async fn xlsx_bytes(sheet: Sheet) -> Result<Vec<u8>, AppError> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<ReportRow>>(2);
    let zone = sheet.zone;
    let header: Vec<String> = sheet.header().map(str::to_owned).collect();
    let keys = sheet.field_keys.clone();
    let writer =
        tokio::task::spawn_blocking(move || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
            use rust_xlsxwriter::{Format, Workbook};
            let mut workbook = Workbook::new();
            // Excel's own compression level: a third faster than the default for a file ~5%
            // larger (rust_xlsxwriter's measures).
            workbook.set_zip_compression_level(3);
            // Rows go to a temporary file as they are written, strings inline: memory stays
            // flat at 100,000 rows, and no shared string table is kept.
            let worksheet = workbook.add_worksheet_with_constant_memory()?;
            let bold = Format::new().set_bold();
            let date = Format::new().set_num_format("dd/mm/yyyy hh:mm:ss");
            for (column, title) in (0u16..).zip(&header) {
                worksheet.write_string_with_format(0, column, title, &bold)?;
            }
            worksheet.set_column_width(0, 18)?;
            worksheet.set_column_width(3, 24)?;
            worksheet.set_column_width(6, 20)?;
            worksheet.set_freeze_panes(1, 0)?;
            let mut line: u32 = 0;
            while let Some(rows) = receiver.blocking_recv() {
                for row in rows {
                    line += 1;
                    worksheet.write_string(line, 0, xlsx_cell(&row.barcode))?;
                    worksheet.write_string(line, 1, row.state.as_str())?;
                    worksheet.write_string(line, 2, xlsx_cell(&row.category))?;
                    if let Some(holder) = &row.holder {
                        worksheet.write_string(line, 3, xlsx_cell(holder))?;
                    }
                    if let Some(source) = &row.source_name {
                        worksheet.write_string(line, 4, xlsx_cell(source))?;
                    }
                    worksheet.write_number(line, 5, row.passes)?;
                    if let Some(time) = row.first_entry.and_then(|at| local_time(zone, at)) {
                        worksheet.write_number_with_format(line, 6, excel_serial(time), &date)?;
                    }
                    worksheet.write_number(line, 7, row.device_decisions)?;
                    worksheet.write_number(line, 8, row.disagreements)?;
                    worksheet.write_number(line, 9, row.clock_off)?;
                    for (column, key) in (10u16..).zip(&keys) {
                        if let Some(value) = row.fields.get(key).filter(|v| !v.is_empty()) {
                            worksheet.write_string(line, column, xlsx_cell(value))?;
                        }
                    }
                }
            }
            worksheet.autofilter(
                0,
                0,
                line,
                header
                    .len()
                    .saturating_sub(1)
                    .try_into()
                    .unwrap_or(u16::MAX),
            )?;
            workbook.save_to_buffer()
        });
    // Reading the next chunk overlaps writing the previous one.
    let mut after: Option<String> = None;
    let read = async {
        loop {
            let rows = sheet.chunk(after.as_deref()).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.barcode.clone());
            if sender.send(rows).await.is_err() {
                break; // The writer failed: its error is reported below.
            }
        }
        Ok::<(), AppError>(())
    };
    let read = read.await;
    drop(sender);
    let written = writer.await.map_err(|e| {
        tracing::error!(error = %e, "xlsx writer panicked");
        AppError::Internal
    })?;
    read?;
    written.map_err(|e| {
        tracing::error!(error = %e, "xlsx export failed");
        AppError::Internal
    })
}

#[cfg(test)]
mod tests {
    use super::{XLSX_CELL_MAX_CHARS, inert, xlsx_cell};

    /// Finding 19 of the security review: a holder of 40,000 characters failed the whole
    /// export with "String exceeds Excel's limit".
    #[test]
    fn a_long_field_is_cut_to_one_cell_and_says_so() {
        let long = "é".repeat(40_000);
        let cell = xlsx_cell(&long);
        assert_eq!(cell.chars().count(), XLSX_CELL_MAX_CHARS);
        assert!(cell.ends_with("[cut: 40000 characters]"), "{}", &cell[cell.len() - 40..]);
        let mut book = rust_xlsxwriter::Workbook::new();
        book.add_worksheet().write_string(0, 0, cell).expect("one cell holds it");
        assert_eq!(xlsx_cell("short"), "short");
    }

    #[test]
    fn cells_a_spreadsheet_would_run_stay_text() {
        for cell in ["=HYPERLINK(\"http://evil.example/x\",\"click\")", "+SUM(1+1)", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(inert(cell), format!("'{cell}"));
        }
    }

    #[test]
    fn other_cells_are_unchanged() {
        for cell in ["", "Ada Lovelace", "R01", "1+1", " =1", "'quoted", "Zoë"] {
            assert_eq!(inert(cell), cell);
        }
    }
}

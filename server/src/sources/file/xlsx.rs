//! An XLSX read as it is stored: its first sheet, cell by cell, off the zip with quick-xml.
//! calamine kept each shared string in a `String` of its own (24 bytes and an allocation
//! apiece) and the rows copied them again; here the shared strings are read once into the rows'
//! own text buffer, and a cell that names one only points at it. The cells' text is what
//! calamine gave (its tests compare the two).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{FileError, Rows};

pub type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

fn unreadable(why: impl std::fmt::Display) -> FileError {
    FileError::Unreadable(why.to_string())
}

fn xml<R: Read>(part: R) -> Reader<BufReader<R>> {
    let mut reader = Reader::from_reader(BufReader::new(part));
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.expand_empty_elements = true;
    reader
}

/// Where the first sheet and the shared strings are in the archive (indices of its parts).
pub struct Parts {
    pub sheet: usize,
    pub shared_strings: Option<usize>,
}

/// The value of a local attribute (`r:id` is `id`), unescaped.
fn attribute(element: &BytesStart<'_>, name: &str) -> Result<Option<String>, FileError> {
    for attribute in element.attributes().with_checks(false) {
        let attribute = attribute.map_err(unreadable)?;
        if attribute.key.local_name().as_ref() == name {
            return Ok(Some(attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(unreadable)?.into_owned()));
        }
    }
    Ok(None)
}

/// A part's relationships: id → (type, target).
fn relationships(archive: &mut Archive<'_>, index: usize) -> Result<HashMap<String, (String, String)>, FileError> {
    let mut reader = xml(archive.by_index(index).map_err(unreadable)?);
    let (mut found, mut buf) = (HashMap::new(), Vec::new());
    loop {
        match reader.read_event_into(&mut buf).map_err(unreadable)? {
            Event::Start(e) if e.local_name().as_ref() == "Relationship" => {
                if let (Some(id), Some(kind), Some(target)) = (attribute(&e, "Id")?, attribute(&e, "Type")?, attribute(&e, "Target")?) {
                    found.insert(id, (kind, target));
                }
            }
            Event::Eof => return Ok(found),
            _ => {}
        }
        buf.clear();
    }
}

/// Finds the workbook's first sheet and its shared strings, as calamine did: the package's
/// relationships name the workbook, the workbook's name its sheets and shared strings.
pub fn parts(archive: &mut Archive<'_>) -> Result<Parts, FileError> {
    let index: HashMap<String, usize> =
        (0..archive.len()).filter_map(|i| Some((archive.name_for_index(i)?.ok()?.replace('\\', "/").to_lowercase(), i))).collect();
    let find = |path: &str| index.get(&path.trim_start_matches('/').to_lowercase()).copied();
    let mut workbook = "xl/workbook.xml".to_owned();
    if let Some(package) = find("_rels/.rels") {
        let document = relationships(archive, package)?.into_values().find(|(kind, _)| kind.ends_with("/officeDocument"));
        if let Some((_, target)) = document {
            workbook = target.trim_start_matches('/').to_owned();
        }
    }
    let (folder, name) = workbook.rsplit_once('/').map_or(("", workbook.as_str()), |(folder, name)| (folder, name));
    let folder = if folder.is_empty() { String::new() } else { format!("{folder}/") };
    let resolve = |target: &str| match target.strip_prefix('/') {
        Some(absolute) => absolute.to_owned(),
        None => format!("{folder}{target}"),
    };
    let links = match find(&format!("{folder}_rels/{name}.rels")) {
        Some(rels) => relationships(archive, rels)?,
        None => HashMap::new(),
    };
    let book = find(&workbook).ok_or_else(|| unreadable(format!("no workbook part ({workbook})")))?;
    let mut reader = xml(archive.by_index(book).map_err(unreadable)?);
    let mut buf = Vec::new();
    let sheet = loop {
        match reader.read_event_into(&mut buf).map_err(unreadable)? {
            Event::Start(e) if e.local_name().as_ref() == "sheet" => {
                let id = attribute(&e, "id")?.unwrap_or_default();
                let (_, target) = links.get(&id).ok_or_else(|| unreadable(format!("the workbook's sheet {id:?} has no part")))?;
                break find(&resolve(target)).ok_or_else(|| unreadable(format!("no sheet part ({target})")))?;
            }
            Event::Eof => return Err(FileError::Empty),
            _ => {}
        }
        buf.clear();
    };
    let shared_strings = match links.values().find(|(kind, _)| kind.ends_with("/sharedStrings")) {
        Some((_, target)) => find(&resolve(target)),
        None => find(&format!("{folder}sharedStrings.xml")),
    };
    Ok(Parts { sheet, shared_strings })
}

/// Excel writes a character XML cannot hold as `_xHHHH_` (a UTF-16 unit; `_x005F_` is `_`).
fn unescape_excel(text: &str, into: &mut String) {
    let unit = |at: usize| -> Option<u16> {
        let bytes = text.as_bytes().get(at..at + 7)?;
        let hex = std::str::from_utf8(&bytes[2..6]).ok()?;
        (bytes[0] == b'_' && bytes[1] == b'x' && bytes[6] == b'_' && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u16::from_str_radix(hex, 16).ok())
            .flatten()
    };
    let (mut copied, mut at) = (0, 0);
    while let Some(offset) = text[at..].find('_') {
        let index = at + offset;
        let Some(first) = unit(index) else {
            at = index + 1;
            continue;
        };
        into.push_str(&text[copied..index]);
        let mut next = index + 7;
        let decoded = match first {
            0xD800..=0xDBFF => match unit(next) {
                Some(low @ 0xDC00..=0xDFFF) => {
                    next += 7;
                    char::from_u32(0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(low) - 0xDC00))
                }
                _ => None,
            },
            0xDC00..=0xDFFF => None,
            _ => char::from_u32(u32::from(first)),
        };
        into.push(decoded.unwrap_or(char::REPLACEMENT_CHARACTER));
        (copied, at) = (next, next);
    }
    into.push_str(&text[copied..]);
}

/// The text of an element up to its end (`<v>`'s), entities resolved.
fn element_text<R: BufRead>(reader: &mut Reader<R>, buf: &mut Vec<u8>, into: &mut String) -> Result<(), FileError> {
    let mut depth = 0usize;
    loop {
        buf.clear();
        match reader.read_event_into(buf).map_err(unreadable)? {
            Event::Text(t) => into.push_str(&t.xml10_content()),
            Event::CData(t) => into.push_str(&t.xml10_content()),
            Event::GeneralRef(entity) => {
                match quick_xml::escape::resolve_xml_entity(entity.as_ref()) {
                    Some(text) => into.push_str(text),
                    None => into.push(entity.resolve_char_ref().map_err(unreadable)?.ok_or_else(|| unreadable(format!("unknown entity &{};", entity.as_ref())))?),
                }
            }
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => return Ok(()),
            Event::End(_) => depth -= 1,
            Event::Eof => return Err(unreadable("the sheet ends inside an element")),
            _ => {}
        }
    }
}

/// A string item (`<si>`, `<is>`) up to its end, as calamine read one: its `<t>` runs joined,
/// phonetic runs (`<rPh>`) left out, each run trimmed of ASCII blanks unless it says
/// `xml:space="preserve"`, Excel's escapes undone.
fn string_item<R: BufRead>(reader: &mut Reader<R>, buf: &mut Vec<u8>, run: &mut String, into: &mut String) -> Result<(), FileError> {
    let (mut depth, mut phonetic) = (0usize, false);
    loop {
        buf.clear();
        match reader.read_event_into(buf).map_err(unreadable)? {
            Event::Start(e) if e.local_name().as_ref() == "rPh" => {
                phonetic = true;
                depth += 1;
            }
            Event::Start(e) if e.local_name().as_ref() == "t" && !phonetic => {
                let preserve = attribute(&e, "space")?.is_some_and(|space| space == "preserve");
                run.clear();
                element_text(reader, buf, run)?;
                let text = if preserve { run.as_str() } else { run.trim_matches([' ', '\t', '\r', '\n']) };
                unescape_excel(text, into);
            }
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => return Ok(()),
            Event::End(e) => {
                if e.local_name().as_ref() == "rPh" {
                    phonetic = false;
                }
                depth -= 1;
            }
            Event::Eof => return Err(unreadable("the strings end inside an item")),
            _ => {}
        }
    }
}

/// Reads the shared strings into `rows`' text: where each one ends there.
pub fn shared_strings(archive: &mut Archive<'_>, part: Option<usize>, rows: &mut Rows) -> Result<Vec<u32>, FileError> {
    let mut ends = Vec::new();
    let Some(part) = part else { return Ok(ends) };
    let part = archive.by_index(part).map_err(unreadable)?;
    // At most the part's size (the check inflated it whole): reserved, not touched.
    rows.text.reserve(usize::try_from(part.size()).unwrap_or(0).min(super::MAX_TEXT_BYTES));
    let mut reader = xml(part);
    let (mut buf, mut run, mut item) = (Vec::new(), String::new(), String::new());
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).map_err(unreadable)? {
            Event::Start(e) if e.local_name().as_ref() == "si" => {
                item.clear();
                string_item(&mut reader, &mut buf, &mut run, &mut item)?;
                ends.push(rows.push_shared_string(&item)?);
            }
            Event::Eof => return Ok(ends),
            _ => {}
        }
    }
}

/// A cell's value: a shared string (its index), or text.
pub enum Value<'a> {
    Shared(usize),
    Text(&'a str),
}

/// `A1` → (row, column), from 0.
fn position(reference: &str) -> Option<(u32, u32)> {
    let digits = reference.find(|c: char| c.is_ascii_digit())?;
    let (letters, number) = reference.split_at(digits);
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let column = letters.bytes().fold(0u32, |column, b| column * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1);
    let row: u32 = number.parse().ok()?;
    Some((row.checked_sub(1)?, column - 1))
}

/// Whole numbers (ticket numbers typed as numbers) without a decimal point; others as Rust
/// writes them (calamine's text of a number, or of a date, which it kept as its number).
pub fn number_text(number: f64, into: &mut String) {
    use std::fmt::Write;
    if number.fract() == 0.0 && number.abs() < 1e15 {
        let _ = write!(into, "{}", number as i64);
    } else {
        let _ = write!(into, "{number}");
    }
}

/// The cells of a sheet part, in the order written.
pub struct Cells<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    run: String,
    value: String,
    text: String,
    row: Option<u32>,
    next_column: u32,
    shared: usize,
}

impl<R: Read> Cells<BufReader<R>> {
    /// `shared`: how many shared strings there are.
    pub fn new(part: R, shared: usize) -> Self {
        Self { reader: xml(part), buf: Vec::new(), run: String::new(), value: String::new(), text: String::new(), row: None, next_column: 0, shared }
    }

    /// The next cell: (row, column) from 0, and its value.
    pub fn next_cell(&mut self) -> Result<Option<((u32, u32), Value<'_>)>, FileError> {
        loop {
            self.buf.clear();
            match self.reader.read_event_into(&mut self.buf).map_err(unreadable)? {
                Event::Start(e) if e.local_name().as_ref() == "row" => {
                    let number = attribute(&e, "r")?;
                    let row = match number {
                        Some(number) => number.trim().parse::<u32>().ok().and_then(|n| n.checked_sub(1)),
                        None => Some(self.row.map_or(0, |row| row.saturating_add(1))),
                    };
                    self.row = Some(row.ok_or_else(|| unreadable("a row of the sheet has no valid number"))?);
                    self.next_column = 0;
                }
                Event::Start(e) if e.local_name().as_ref() == "c" => {
                    let at = match attribute(&e, "r")? {
                        Some(reference) => position(&reference).ok_or_else(|| unreadable(format!("the sheet has a cell at {reference:?}")))?,
                        None => (self.row.unwrap_or(0), self.next_column),
                    };
                    self.next_column = at.1.saturating_add(1);
                    let kind = attribute(&e, "t")?;
                    let value = self.cell_value(kind.as_deref())?;
                    return Ok(Some((at, value)));
                }
                Event::Eof => return Ok(None),
                _ => {}
            }
        }
    }

    /// Reads a `<c>` up to its end.
    fn cell_value(&mut self, kind: Option<&str>) -> Result<Value<'_>, FileError> {
        self.value.clear();
        self.text.clear();
        let mut has_value = false;
        loop {
            self.buf.clear();
            match self.reader.read_event_into(&mut self.buf).map_err(unreadable)? {
                Event::Start(e) if e.local_name().as_ref() == "v" => {
                    has_value = true;
                    element_text(&mut self.reader, &mut self.buf, &mut self.value)?;
                }
                Event::Start(e) if e.local_name().as_ref() == "is" => {
                    string_item(&mut self.reader, &mut self.buf, &mut self.run, &mut self.text)?;
                }
                Event::Start(e) => {
                    let end = e.name().as_ref().to_owned();
                    self.reader.read_to_end_into(quick_xml::name::QName(&end), &mut Vec::new()).map_err(unreadable)?;
                }
                Event::End(_) => break,
                Event::Eof => return Err(unreadable("the sheet ends inside a cell")),
                _ => {}
            }
        }
        let v = self.value.as_str();
        match kind {
            Some("inlineStr") | Some("is") => {}
            _ if !has_value => {}
            Some("s") if v.is_empty() => {}
            Some("s") => {
                let index = v.parse::<usize>().ok().filter(|&i| i < self.shared);
                return index.map(Value::Shared).ok_or_else(|| unreadable(format!("a cell names shared string {v:?}, which is not there")));
            }
            Some("str") => unescape_excel(v, &mut self.text),
            Some("b") => self.text.push_str(match v.trim() {
                "0" => "false",
                "1" => "true",
                t if t.eq_ignore_ascii_case("false") => "false",
                t if t.eq_ignore_ascii_case("true") => "true",
                "" => "",
                other => return Err(unreadable(format!("a cell holds {other:?} as a boolean"))),
            }),
            Some("e") | Some("d") => self.text.push_str(v),
            Some("n") | None if v.is_empty() => {}
            Some("n") | None => match v.parse::<f64>() {
                Ok(number) => number_text(number, &mut self.text),
                Err(_) if kind.is_none() => self.text.push_str(v),
                Err(_) => return Err(unreadable(format!("a cell holds {v:?} as a number"))),
            },
            Some(other) => return Err(unreadable(format!("a cell has the unknown type {other:?}"))),
        }
        Ok(Value::Text(&self.text))
    }
}

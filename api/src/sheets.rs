//! The two file formats of a ledger export, as [`Sink`]s writing to a file: XLSX (a sheet
//! per station, Chinese headers, the header row frozen, column widths, dates as dates;
//! written row by row in `rust_xlsxwriter`'s constant-memory mode, so a sheet's rows go to
//! a temporary file as they come) and CSV (UTF-8 with a byte-order mark so that Excel reads
//! the Chinese, RFC 4180 quoting, and text that a spreadsheet would take for a formula
//! written so that it stays text).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook};

use crate::error::ApiError;
use crate::ledgers::{Cell, Column, Sink};

fn failed(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("writing the export: {e}"))
}

liuqing_schema::text_enum! {
    /// The formats an export comes in.
    pub enum FileFormat {
        Xlsx = "xlsx",
        Csv = "csv",
    }
}

impl FileFormat {
    pub fn media_type(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// A file being written in one of the formats.
pub trait FileSink: Sink {
    /// Writes the rest of the file and closes it.
    fn finish(self: Box<Self>) -> Result<(), ApiError>;
}

/// A writer of `format` for `columns` into `out`; temporary files go to `tempdir`.
pub fn writer(
    format: FileFormat,
    columns: &'static [Column],
    out: File,
    tempdir: &Path,
) -> Result<Box<dyn FileSink>, ApiError> {
    Ok(match format {
        FileFormat::Xlsx => Box::new(XlsxSink::new(out, tempdir)?),
        FileFormat::Csv => Box::new(CsvSink::new(columns, out)?),
    })
}

pub struct XlsxSink {
    workbook: Workbook,
    out: Option<File>,
    sheet: Option<usize>,
    sheets: usize,
    row: u32,
    names: HashSet<String>,
    header: Format,
    date: Format,
    datetime: Format,
}

impl XlsxSink {
    fn new(out: File, tempdir: &Path) -> Result<XlsxSink, ApiError> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(tempdir).map_err(failed)?;
        Ok(XlsxSink {
            workbook,
            out: Some(out),
            sheet: None,
            sheets: 0,
            row: 0,
            names: HashSet::new(),
            header: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
        })
    }

    /// A sheet name Excel takes: at most 31 characters, none of `[]:*?/\`, unique.
    fn sheet_name(&mut self, name: &str) -> String {
        let clean: String = name
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(28)
            .collect();
        let clean = if clean.trim().is_empty() {
            format!("Sheet{}", self.sheets)
        } else {
            clean
        };
        let mut candidate = clean.clone();
        let mut n = 2;
        while !self.names.insert(candidate.clone()) {
            candidate = format!("{clean}({n})");
            n += 1;
        }
        candidate
    }

    fn close(mut self) -> Result<(), ApiError> {
        if self.sheets == 0 {
            // An empty scope is still a workbook: one sheet, the headers only.
            self.workbook.add_worksheet();
        }
        let out = self.out.take().ok_or_else(|| failed("written twice"))?;
        self.workbook
            .save_to_writer(BufWriter::new(out))
            .map_err(failed)
    }
}

impl FileSink for XlsxSink {
    fn finish(self: Box<Self>) -> Result<(), ApiError> {
        self.close()
    }
}

impl FileSink for CsvSink {
    fn finish(self: Box<Self>) -> Result<(), ApiError> {
        self.close()
    }
}

impl Sink for XlsxSink {
    fn station(&mut self, name: &str, columns: &[Column]) -> Result<(), ApiError> {
        self.sheets += 1;
        let title = self.sheet_name(name);
        let header = self.header.clone();
        let sheet = self
            .workbook
            .add_worksheet_with_constant_memory()
            .map_err(failed)?;
        sheet.set_name(&title).map_err(failed)?;
        for (i, c) in columns.iter().enumerate() {
            let i = i as u16;
            sheet.set_column_width(i, c.width).map_err(failed)?;
            sheet
                .write_string_with_format(0, i, c.header, &header)
                .map_err(failed)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(failed)?;
        self.sheet = Some(self.sheets - 1);
        self.row = 1;
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), ApiError> {
        let index = self.sheet.ok_or_else(|| failed("a row before its sheet"))?;
        let (row, date, datetime) = (self.row, self.date.clone(), self.datetime.clone());
        let sheet = self.workbook.worksheet_from_index(index).map_err(failed)?;
        for (i, cell) in cells.iter().enumerate() {
            let i = i as u16;
            match cell {
                Cell::Text(s) => sheet.write_string(row, i, s).map(|_| ()),
                Cell::Int(n) => sheet.write_number(row, i, *n as f64).map(|_| ()),
                Cell::Date(d) => sheet.write_date_with_format(row, i, d, &date).map(|_| ()),
                Cell::DateTime(t) => sheet
                    .write_datetime_with_format(row, i, t, &datetime)
                    .map(|_| ()),
                Cell::Empty => Ok(()),
            }
            .map_err(failed)?;
        }
        self.row += 1;
        Ok(())
    }
}

pub struct CsvSink {
    out: csv::Writer<BufWriter<File>>,
}

impl CsvSink {
    fn new(columns: &[Column], out: File) -> Result<CsvSink, ApiError> {
        let mut out = BufWriter::new(out);
        // The byte-order mark: Excel reads a CSV without one in the system's code page.
        out.write_all("\u{feff}".as_bytes()).map_err(failed)?;
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        out.write_record(columns.iter().map(|c| c.header))
            .map_err(failed)?;
        Ok(CsvSink { out })
    }

    fn close(mut self) -> Result<(), ApiError> {
        self.out.flush().map_err(failed)?;
        let out = self.out.into_inner().map_err(failed)?;
        out.into_inner().map_err(failed)?.sync_all().map_err(failed)
    }
}

/// Text a spreadsheet opening the CSV would run as a formula (`=`, `+`, `-`, `@`, or a
/// tab or carriage return first) gets a leading apostrophe: names and addresses come from
/// phones, and a CSV is opened by people.
fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

impl Sink for CsvSink {
    fn station(&mut self, _name: &str, _columns: &[Column]) -> Result<(), ApiError> {
        // One table: the station is the first column.
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), ApiError> {
        let fields: Vec<String> = cells
            .iter()
            .map(|c| match c {
                Cell::Text(s) => inert(s).into_owned(),
                Cell::Int(n) => n.to_string(),
                Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
                Cell::DateTime(t) => t.format("%Y-%m-%d %H:%M").to_string(),
                Cell::Empty => String::new(),
            })
            .collect();
        self.out.write_record(&fields).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_stay_text_in_csv() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("-1+1"), "'-1+1");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("华林路8号"), "华林路8号");
    }
}

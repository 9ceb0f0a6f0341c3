//! The metrics service's parser of InfluxDB's annotated CSV (`annotated_csv::parse`) and the decoding of its rows
//! into events (`decode::event`).
//!
//! Input: an even first byte makes the rest the answer's text; an odd one makes it the seed of tables written here as
//! InfluxDB writes them (`#group`, `#datatype`, `#default` annotations, a header, rows, a blank line between
//! blocks). Invariants: no text makes either function panic, and a malformed answer is an error with a line number;
//! written tables parse back to exactly their rows, cell for cell and type for type.
#![no_main]

use std::collections::HashMap;

use arbitrary::Unstructured;
use chrono::{DateTime, SecondsFormat, Utc};
use devopstrack_metrics::domain::Measurement;
use devopstrack_metrics::store::influx::fuzzing::{CsvError, Record, Value, event, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        match parse(text) {
            Ok(records) => {
                for record in &records {
                    for measurement in Measurement::ALL {
                        let _ = event(measurement, record);
                    }
                }
            }
            Err(CsvError::Malformed { line, reason }) => assert!(line >= 1 && !reason.is_empty()),
            Err(CsvError::Query(message)) => assert!(!message.is_empty()),
        }
    } else {
        let Ok((text, expected)) = tables(&mut Unstructured::new(rest)) else {
            return;
        };
        assert_eq!(parse(&text), Ok(expected), "{text:?}");
    }
});

const TYPES: [&str; 7] = [
    "string",
    "long",
    "unsignedLong",
    "double",
    "boolean",
    "dateTime:RFC3339",
    "dateTime:RFC3339Nano",
];

/// Blocks of tables as InfluxDB writes them, and the records they hold. Every table has the `result` (defaulted) and
/// `table` columns a Flux answer always has, then columns of any name and type.
fn tables(u: &mut Unstructured) -> arbitrary::Result<(String, Vec<Record>)> {
    let mut text = String::new();
    let mut records = Vec::new();
    for block in 0..u.int_in_range(1..=3)? {
        let mut columns = vec![("result".to_owned(), "string"), ("table".to_owned(), "long")];
        for _ in 0..u.int_in_range(0..=6)? {
            let name: String = u.arbitrary()?;
            if columns.iter().all(|(c, _)| *c != name) {
                columns.push((name, *u.choose(&TYPES)?));
            }
        }
        line(
            &mut text,
            "#group",
            columns.iter().map(|(c, _)| bool_text(c == "table")),
        );
        line(&mut text, "#datatype", columns.iter().map(|(_, t)| (*t).to_owned()));
        let defaults = columns
            .iter()
            .map(|(c, _)| if c == "result" { "_result" } else { "" }.to_owned());
        line(&mut text, "#default", defaults);
        line(&mut text, "", columns.iter().map(|(c, _)| c.clone()));
        for _ in 0..u.int_in_range(0..=4)? {
            let mut record = HashMap::new();
            let mut cells = Vec::new();
            for (name, datatype) in &columns {
                let (cell, value) = match name.as_str() {
                    "result" => (String::new(), Value::String("_result".to_owned())),
                    "table" => (block.to_string(), Value::Long(i64::from(block))),
                    _ => cell(u, datatype)?,
                };
                cells.push(cell);
                record.insert(name.clone(), value);
            }
            line(&mut text, "", cells);
            records.push(record);
        }
        text.push_str("\r\n");
    }
    Ok((text, records))
}

/// A cell of `datatype` and the value it reads as; an empty cell is null except in a string column.
fn cell(u: &mut Unstructured, datatype: &str) -> arbitrary::Result<(String, Value)> {
    if datatype != "string" && u.ratio(1, 8)? {
        return Ok((String::new(), Value::Null));
    }
    Ok(match datatype {
        "string" => {
            let s: String = u.arbitrary()?;
            (s.clone(), Value::String(s))
        }
        "long" => {
            let n: i64 = u.arbitrary()?;
            (n.to_string(), Value::Long(n))
        }
        "unsignedLong" => {
            let n: u64 = u.arbitrary()?;
            (n.to_string(), Value::UnsignedLong(n))
        }
        "double" => {
            let x: f64 = u.arbitrary()?;
            if !x.is_finite() {
                return Err(arbitrary::Error::IncorrectFormat);
            }
            (x.to_string(), Value::Double(x))
        }
        "boolean" => {
            let b: bool = u.arbitrary()?;
            (bool_text(b), Value::Bool(b))
        }
        _ => {
            // Years 1 to 9999: what RFC 3339 can write.
            let nanos = u.int_in_range(-62_135_596_800_000_000_000_i128..=253_402_300_799_999_999_999)?;
            let at = DateTime::<Utc>::from_timestamp(
                i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or_default(),
                u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or_default(),
            )
            .ok_or(arbitrary::Error::IncorrectFormat)?;
            (at.to_rfc3339_opts(SecondsFormat::AutoSi, true), Value::Time(at))
        }
    })
}

fn bool_text(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

/// One CSV line: `first` then the cells, quoted when they hold a comma, a quote or a line break.
fn line(text: &mut String, first: &str, cells: impl IntoIterator<Item = String>) {
    text.push_str(first);
    for cell in cells {
        text.push(',');
        if cell.contains([',', '"', '\r', '\n']) {
            text.push('"');
            text.push_str(&cell.replace('"', "\"\""));
            text.push('"');
        } else {
            text.push_str(&cell);
        }
    }
    text.push_str("\r\n");
}

//! A parser for the annotated CSV that `/api/v2/query` answers with the dialect the store asks for (`header: true`,
//! annotations `datatype`, `group`, `default`).
//!
//! Shape: blocks separated by a blank line; each block is annotation rows (`#datatype,…`, `#group,…`,
//! `#default,…`, first cell naming the annotation), one header row (first cell empty: `,result,table,_start,…`), then
//! data rows (first cell empty). Tables with the same columns share a block and differ by the `table` column. An
//! empty cell takes the column's `#default`, or is null. A block whose header is `,error,reference` is a query
//! failure reported with status 200: it becomes [`CsvError::Query`].
//!
//! Written here rather than taken from the influxdb2 crate, whose parser unwraps on malformed input (a panic in the
//! service on a bad answer) and keeps no distinction between a missing column and a null cell.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    /// The server reported that the query failed.
    #[error("query failed: {0}")]
    Query(String),
    /// The answer is not annotated CSV as expected.
    #[error("unreadable query answer (line {line}): {reason}")]
    Malformed { line: u64, reason: String },
}

/// A typed cell value. Types follow `#datatype`; unknown types stay text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    String(String),
    Long(i64),
    UnsignedLong(u64),
    Double(f64),
    Bool(bool),
    Time(DateTime<Utc>),
}

/// One data row: column name to value. A column absent from the row's table is absent from the map.
pub type Record = HashMap<String, Value>;

#[derive(Debug, Default)]
struct Block {
    datatypes: Option<Vec<String>>,
    defaults: Option<Vec<String>>,
    header: Option<Vec<String>>,
}

/// Every data row of every table in `text`, in order.
pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    let mut block = Block::default();
    let mut row = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        let more = reader
            .read_record(&mut row)
            .map_err(|e| malformed(line, e.to_string()))?;
        if !more {
            return Ok(records);
        }
        let line = row.position().map_or(line, csv::Position::line);
        let first = row.get(0).unwrap_or_default();
        if row.iter().all(str::is_empty) {
            block = Block::default();
        } else if let Some(annotation) = first.strip_prefix('#') {
            if block.header.is_some() {
                block = Block::default();
            }
            let cells = row.iter().skip(1).map(str::to_owned).collect();
            match annotation {
                "datatype" => block.datatypes = Some(cells),
                "default" => block.defaults = Some(cells),
                _ => {} // `#group` and annotations this store does not use
            }
        } else if !first.is_empty() {
            return Err(malformed(line, format!("unexpected first cell {first:?}")));
        } else if let Some(header) = &block.header {
            let mut record = Record::with_capacity(header.len());
            let datatypes = block.datatypes.as_deref().unwrap_or_default();
            let defaults = block.defaults.as_deref().unwrap_or_default();
            if row.len() - 1 != header.len() {
                return Err(malformed(
                    line,
                    format!("{} cells under {} columns", row.len() - 1, header.len()),
                ));
            }
            for (i, (name, cell)) in header.iter().zip(row.iter().skip(1)).enumerate() {
                let raw = if cell.is_empty() {
                    defaults.get(i).map_or("", String::as_str)
                } else {
                    cell
                };
                let datatype = datatypes.get(i).map_or("string", String::as_str);
                let value =
                    typed(raw, datatype).map_err(|reason| malformed(line, format!("column {name}: {reason}")))?;
                record.insert(name.clone(), value);
            }
            if header.first().is_some_and(|c| c == "error") {
                return Err(query_error(&record));
            }
            records.push(record);
        } else {
            let header: Vec<String> = row.iter().skip(1).map(str::to_owned).collect();
            match &block.datatypes {
                Some(types) if types.len() == header.len() => {}
                Some(types) => {
                    return Err(malformed(
                        line,
                        format!("{} datatypes for {} columns", types.len(), header.len()),
                    ));
                }
                None => return Err(malformed(line, "a header without a #datatype annotation".to_owned())),
            }
            block.header = Some(header);
        }
    }
}

fn malformed(line: u64, reason: String) -> CsvError {
    CsvError::Malformed { line, reason }
}

/// `error` and `reference` of an error table row.
fn query_error(record: &Record) -> CsvError {
    let text = |name: &str| match record.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let message = text("error").unwrap_or_else(|| "unknown query error".to_owned());
    CsvError::Query(match text("reference") {
        Some(reference) => format!("{message} (reference {reference})"),
        None => message,
    })
}

fn typed(raw: &str, datatype: &str) -> Result<Value, String> {
    if raw.is_empty() {
        return Ok(if datatype == "string" {
            Value::String(String::new())
        } else {
            Value::Null
        });
    }
    let bad = |e: &dyn std::fmt::Display| format!("{raw:?} is not a {datatype}: {e}");
    Ok(match datatype {
        "long" => Value::Long(raw.parse().map_err(|e| bad(&e))?),
        "unsignedLong" => Value::UnsignedLong(raw.parse().map_err(|e| bad(&e))?),
        "double" => Value::Double(raw.parse().map_err(|e| bad(&e))?),
        "boolean" => Value::Bool(match raw {
            "true" => true,
            "false" => false,
            _ => return Err(bad(&"expected true or false")),
        }),
        "dateTime:RFC3339" | "dateTime:RFC3339Nano" => Value::Time(
            DateTime::parse_from_rfc3339(raw)
                .map_err(|e| bad(&e))?
                .with_timezone(&Utc),
        ),
        _ => Value::String(raw.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_in_separate_blocks_with_defaults_nulls_and_quoted_cells() {
        let text = "#group,false,false,true,true,false,true,false,false\r\n\
            #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339Nano,string,long,string\r\n\
            #default,_result,,,,,,,\r\n\
            ,result,table,_start,_stop,_time,project,attempt,title\r\n\
            ,,0,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,2026-01-01T10:00:00.000000123Z,api,2,\"a, \"\"b\"\"\nc\"\r\n\
            ,,1,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,2026-01-01T11:00:00Z,web,,\r\n\
            \r\n\
            #group,false,false,true\r\n\
            #datatype,string,long,double\r\n\
            #default,_result,,\r\n\
            ,result,table,ratio\r\n\
            ,,2,0.5\r\n\
            \r\n";
        let records = parse(text).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0]["result"], Value::String("_result".to_owned()));
        assert_eq!(records[0]["table"], Value::Long(0));
        let time = DateTime::parse_from_rfc3339("2026-01-01T10:00:00.000000123Z").unwrap();
        assert_eq!(records[0]["_time"], Value::Time(time.with_timezone(&Utc)));
        assert_eq!(records[0]["attempt"], Value::Long(2));
        assert_eq!(records[0]["title"], Value::String("a, \"b\"\nc".to_owned()));
        assert_eq!(records[1]["attempt"], Value::Null);
        assert_eq!(records[1]["title"], Value::String(String::new()));
        assert_eq!(records[2]["ratio"], Value::Double(0.5));
        assert!(!records[2].contains_key("project"));
    }

    #[test]
    fn an_empty_answer_has_no_records() {
        assert_eq!(parse("\r\n").unwrap(), vec![]);
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn an_error_table_is_a_query_error() {
        let text = "#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n\
            ,\"runtime error @4:6-4:40: filter: type error\",897\r\n\r\n";
        assert_eq!(
            parse(text).unwrap_err(),
            CsvError::Query("runtime error @4:6-4:40: filter: type error (reference 897)".to_owned())
        );
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        let header = "#datatype,string,long,long\r\n,result,table,n\r\n";
        let cases = [
            ("{\"code\":\"invalid\"}", "unexpected first cell"),
            (",result,table\r\n,,0\r\n", "without a #datatype"),
            ("#datatype,string\r\n,result,table\r\n", "1 datatypes for 2 columns"),
            (&format!("{header},,0\r\n") as &str, "2 cells under 3 columns"),
            (&format!("{header},,0,twelve\r\n"), "column n: \"twelve\" is not a long"),
            (
                "#datatype,string,dateTime:RFC3339\r\n,result,t\r\n,,yesterday\r\n",
                "is not a dateTime",
            ),
            (
                "#datatype,string,boolean\r\n,result,b\r\n,,maybe\r\n",
                "expected true or false",
            ),
        ];
        for (text, reason) in cases {
            match parse(text) {
                Err(CsvError::Malformed { reason: got, .. }) => assert!(got.contains(reason), "{got} / {reason}"),
                other => panic!("{text:?}: expected a malformed error with {reason:?}, got {other:?}"),
            }
        }
    }
}

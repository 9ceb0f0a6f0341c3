//! Typed fields in and out of BSON documents for the MongoDB store: the BSON date written next to every
//! microsecond time, and readers that turn a missing or mistyped field into `StoreError::Corrupt` naming it.

use chrono::{DateTime, Utc};
use mongodb::bson::{Bson, Document};
use uuid::Uuid;

use crate::store::{StoreError, StoreResult};

pub(super) fn date(at: DateTime<Utc>) -> mongodb::bson::DateTime {
    mongodb::bson::DateTime::from_millis(at.timestamp_millis())
}

pub(super) fn corrupt(field: &str, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{field}: {problem}"))
}

pub(super) fn string(d: &Document, field: &str) -> StoreResult<String> {
    d.get_str(field).map(str::to_owned).map_err(|e| corrupt(field, e))
}

pub(super) fn opt_string(d: &Document, field: &str) -> StoreResult<Option<String>> {
    match d.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(corrupt(field, format!("{other} is not a string"))),
    }
}

/// An integer, whether the server answers it as Int64 or (when it fits) Int32.
pub(super) fn int(d: &Document, field: &str) -> StoreResult<i64> {
    match d.get(field) {
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        Some(other) => Err(corrupt(field, format!("{other} is not an integer"))),
        None => Err(corrupt(field, "missing")),
    }
}

pub(super) fn time(d: &Document, field: &str) -> StoreResult<DateTime<Utc>> {
    let micros = int(d, field)?;
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt(field, format!("{micros} is not a timestamp")))
}

pub(super) fn opt_time(d: &Document, field: &str) -> StoreResult<Option<DateTime<Utc>>> {
    match d.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(_) => time(d, field).map(Some),
    }
}

pub(super) fn uuid(d: &Document, field: &str) -> StoreResult<Uuid> {
    let value = string(d, field)?;
    Uuid::parse_str(&value).map_err(|e| corrupt(field, format!("{value:?} is not a uuid: {e}")))
}

pub(super) fn subdocs<'a>(d: &'a Document, field: &str) -> StoreResult<Vec<&'a Document>> {
    d.get_array(field)
        .map_err(|e| corrupt(field, e))?
        .iter()
        .map(|v| v.as_document().ok_or_else(|| corrupt(field, "not a document")))
        .collect()
}

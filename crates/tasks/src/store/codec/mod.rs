//! How a [`Pipeline`] is stored: the same bytes in every store. The current form is a compact binary document (a
//! magic prefix and format byte, then every field in a fixed order: varints, length-prefixed strings, raw UUIDs);
//! pipelines stored earlier as JSON (`{"format":1,…}`, [`json`]) or in binary formats 2 (without the commit), 3
//! (without the approval time) and 4 (without the definition) are still read. Every write stores the current binary form.
//!
//! The run number is not in the document: the stores keep it beside it (a hash field, a column) and set
//! `Pipeline::number` when they read one, so decoding answers 0.
//!
//! Decoding re-validates every value through the domain's parsers (names, retry policies, executor parameters), so a
//! document edited by hand is reported as corrupt instead of running with impossible values. Status and enum codes
//! are this file's own table, not enum positions, so reordering a domain enum cannot change what stored bytes mean.

mod binary;
mod json;
mod wire;

use crate::domain::Pipeline;

use super::StoreError;

/// The first bytes of a binary document: never `{`, so it cannot be mistaken for the JSON form.
const MAGIC: [u8; 2] = [0xD7, 0x7A];
/// Bumped when the binary layout changes; decoding refuses layouts it does not know.
const BINARY_FORMAT: u8 = 5;
/// The oldest binary layout still read (format 2 has no commit, 3 no approval time, 4 no definition; see [`binary`]).
const OLDEST_BINARY_FORMAT: u8 = 2;

pub fn encode_pipeline(p: &Pipeline) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + 192 * p.jobs().count());
    out.extend_from_slice(&MAGIC);
    out.push(BINARY_FORMAT);
    binary::encode(p, &mut out);
    out
}

pub fn decode_pipeline(bytes: &[u8]) -> Result<Pipeline, StoreError> {
    match bytes {
        [a, b, format, rest @ ..] if [*a, *b] == MAGIC => {
            if !(OLDEST_BINARY_FORMAT..=BINARY_FORMAT).contains(format) {
                return Err(corrupt(format!(
                    "pipeline document: binary format {format} (want {OLDEST_BINARY_FORMAT} to {BINARY_FORMAT})"
                )));
            }
            binary::decode(rest, *format)
        }
        [b'{', ..] => json::decode(bytes),
        _ => Err(corrupt("pipeline document: neither the binary nor the JSON form")),
    }
}

fn corrupt(message: impl Into<String>) -> StoreError {
    StoreError::Corrupt(message.into())
}

#[cfg(test)]
mod tests;

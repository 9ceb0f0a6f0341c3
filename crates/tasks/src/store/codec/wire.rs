//! The binary document's primitives: varints, length-prefixed strings, raw UUIDs, times, options. Reading never
//! panics: anything short or out of range is a corrupt document.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::corrupt;
use crate::store::StoreError;

pub(super) struct Writer<'a>(pub(super) &'a mut Vec<u8>);

impl Writer<'_> {
    pub(super) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub(super) fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    pub(super) fn id(&mut self, id: Uuid) {
        self.0.extend_from_slice(id.as_bytes());
    }

    pub(super) fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    pub(super) fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }

    pub(super) fn time(&mut self, t: DateTime<Utc>) {
        let secs = t.timestamp();
        self.varint(((secs << 1) ^ (secs >> 63)) as u64);
        self.varint(t.timestamp_subsec_nanos().into());
    }

    pub(super) fn opt_time(&mut self, t: Option<DateTime<Utc>>) {
        match t {
            None => self.u8(0),
            Some(t) => {
                self.u8(1);
                self.time(t);
            }
        }
    }
}

pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
}

impl Reader<'_> {
    pub(super) fn short(&self) -> StoreError {
        corrupt(format!("pipeline document: truncated at byte {}", self.at))
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&[u8], StoreError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.short())?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    pub(super) fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn varint(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("pipeline document: varint too long"))
    }

    pub(super) fn u32(&mut self) -> Result<u32, StoreError> {
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| corrupt(format!("pipeline document: {v} is out of range")))
    }

    /// A count of items that each take at least one byte: never more than the bytes left.
    pub(super) fn count(&mut self) -> Result<usize, StoreError> {
        let v = self.varint()?;
        usize::try_from(v)
            .ok()
            .filter(|n| *n <= self.bytes.len() - self.at)
            .ok_or_else(|| corrupt(format!("pipeline document: count {v}")))
    }

    pub(super) fn id(&mut self) -> Result<Uuid, StoreError> {
        let raw: [u8; 16] = self.take(16)?.try_into().map_err(|_| self.short())?;
        Ok(Uuid::from_bytes(raw))
    }

    pub(super) fn str(&mut self) -> Result<String, StoreError> {
        let n = self.count()?;
        let raw = self.take(n)?;
        String::from_utf8(raw.to_vec()).map_err(|_| corrupt("pipeline document: a string is not UTF-8"))
    }

    pub(super) fn opt_str(&mut self) -> Result<Option<String>, StoreError> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.str().map(Some),
        }
    }

    pub(super) fn time(&mut self) -> Result<DateTime<Utc>, StoreError> {
        let zigzag = self.varint()?;
        let secs = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        let nanos = self.u32()?;
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| corrupt(format!("pipeline document: time {secs}.{nanos}")))
    }

    pub(super) fn opt_time(&mut self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.time().map(Some),
        }
    }

    pub(super) fn pick<T: Copy>(&mut self, table: &[T], what: &str) -> Result<T, StoreError> {
        let c = self.u8()?;
        table
            .get(usize::from(c))
            .copied()
            .ok_or_else(|| corrupt(format!("pipeline document: {what} code {c}")))
    }
}

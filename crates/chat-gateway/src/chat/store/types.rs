//! The store's newtypes. Each parses its raw form once (`parse`/`new`) and names the field when it refuses it, so
//! everything downstream holds only valid values.

use std::fmt;

use devopstrack_platform::auth::Role;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A message's place in its room: 1, 2, 3… with no gaps, in commit order. `EventId::ZERO` is "before the first
/// message", a cursor only (`after=0` replays a room from its start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(u64);

impl EventId {
    pub const ZERO: EventId = EventId(0);

    /// Any cursor a client may send: 0 to `i64::MAX` (what both databases hold).
    pub fn new(raw: u64) -> Result<Self, String> {
        if i64::try_from(raw).is_ok() {
            Ok(Self(raw))
        } else {
            Err(format!("{raw} is not an event id (0 to {})", i64::MAX))
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }

    pub(crate) fn sql(self) -> i64 {
        // `new` keeps the value within i64.
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    pub(crate) fn from_sql(raw: i64, column: &str) -> Result<Self, String> {
        u64::try_from(raw)
            .map(Self)
            .map_err(|_| format!("{column}: {raw} is not an event id"))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The sender's id for one message, unique per (sender, room): a resend with the same id answers the stored
/// message. 1–64 printable ASCII characters without spaces (clients send a UUID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "clientMsgId: 1 to {} printable ASCII characters without spaces",
                Self::MAX_LEN
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::chat::domain::try_from_string!(ClientMsgId => String);

impl From<ClientMsgId> for String {
    fn from(id: ClientMsgId) -> String {
        id.0
    }
}

/// An action's confirmation code, `confirm K7QF`: four characters from an alphabet without look-alikes (no 0/O,
/// 1/I/L), unique among open actions. Parsing is case-insensitive; the code is kept upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShortCode(String);

impl ShortCode {
    pub const ALPHABET: &'static str = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    pub const LEN: usize = 4;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let upper = raw.trim().to_ascii_uppercase();
        if upper.len() == Self::LEN && upper.chars().all(|c| Self::ALPHABET.contains(c)) {
            Ok(Self(upper))
        } else {
            Err(format!(
                "code: {:?} is not a confirmation code ({} characters of {})",
                raw.chars().take(16).collect::<String>(),
                Self::LEN,
                Self::ALPHABET
            ))
        }
    }

    /// A fresh random code (the store draws again when an open action holds it).
    pub fn random() -> Self {
        let alphabet = Self::ALPHABET.as_bytes();
        let mut rng = rand::thread_rng();
        Self(
            (0..Self::LEN)
                .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShortCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::chat::domain::try_from_string!(ShortCode => String);

impl From<ShortCode> for String {
    fn from(code: ShortCode) -> String {
        code.0
    }
}

/// A person as the chat records them: id, display name, and role at that moment (roles change; the record keeps
/// what was checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    id: String,
    name: String,
    role: Role,
}

impl Person {
    pub const MAX_ID_LEN: usize = 64;
    pub const MAX_NAME_CHARS: usize = 200;

    /// `id`: 1–64 of `[A-Za-z0-9_:-]` (a user UUID, or `service:<name>`); `name`: 1–200 characters, no control
    /// characters.
    pub fn new(id: &str, name: &str, role: Role) -> Result<Self, String> {
        check_person_id(id)?;
        check_line("name", name, Self::MAX_NAME_CHARS)?;
        Ok(Self {
            id: id.to_owned(),
            name: name.to_owned(),
            role,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn role(&self) -> Role {
        self.role
    }
}

pub(crate) fn check_person_id(id: &str) -> Result<(), String> {
    let ok = (1..=Person::MAX_ID_LEN).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id: {:?} is not a user id (1 to {} of A-Z a-z 0-9 - _ :)",
            id.chars().take(16).collect::<String>(),
            Person::MAX_ID_LEN
        ))
    }
}

/// One line of text: 1 to `max_chars` characters, not blank, no control characters.
pub(crate) fn check_line(field: &str, value: &str, max_chars: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field}: must not be empty"));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(format!("{field}: {chars} characters, at most {max_chars} allowed"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field}: must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_fit_both_databases() {
        assert_eq!(EventId::new(0).unwrap(), EventId::ZERO);
        assert_eq!(EventId::new(i64::MAX as u64).unwrap().sql(), i64::MAX);
        assert!(EventId::new(i64::MAX as u64 + 1).is_err());
        assert!(EventId::from_sql(-1, "event_id").is_err());
    }

    #[test]
    fn client_msg_ids_are_short_printable_ascii() {
        assert!(ClientMsgId::parse("0193b7a4-5c1e-7f00-8000-000000000001").is_ok());
        for bad in ["", "a b", "é", &"x".repeat(65), "tab\t"] {
            assert!(
                ClientMsgId::parse(bad).unwrap_err().starts_with("clientMsgId:"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn short_codes_use_the_unambiguous_alphabet_in_upper_case() {
        assert_eq!(ShortCode::parse("k7qf").unwrap().as_str(), "K7QF");
        for bad in ["K7Q", "K7QFX", "K0QF", "KOQF", "K1QF", "KIQF", "KLQF", "K7Q!", ""] {
            assert!(ShortCode::parse(bad).is_err(), "{bad:?}");
        }
        for _ in 0..200 {
            let code = ShortCode::random();
            assert_eq!(ShortCode::parse(code.as_str()).unwrap(), code);
        }
    }

    #[test]
    fn people_have_plain_ids_and_one_line_names() {
        let ok = Person::new("service:gateway", "Gateway", Role::Service).unwrap();
        assert_eq!(
            (ok.id(), ok.name(), ok.role()),
            ("service:gateway", "Gateway", Role::Service)
        );
        assert!(Person::new("a b", "Ann", Role::Viewer).unwrap_err().starts_with("id:"));
        assert!(Person::new("u1", "", Role::Viewer).unwrap_err().starts_with("name:"));
        assert!(
            Person::new("u1", "Ann\nEvil", Role::Viewer)
                .unwrap_err()
                .starts_with("name:")
        );
    }
}

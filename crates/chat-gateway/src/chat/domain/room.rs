//! Room ids: `general`, `project:<slug>` (binds that project as the default for commands) and `dm:<user id>` (one
//! person's private room with the bot).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RoomKind {
    General,
    /// A project's room: the slug (`^[a-z0-9][a-z0-9-]{1,62}$`).
    Project(String),
    /// A person's private room with the bot: their user id.
    Direct(String),
}

/// A parsed room id. Only the three forms exist; anything else is refused with a message naming the forms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomId(RoomKind);

impl RoomId {
    pub fn general() -> Self {
        Self(RoomKind::General)
    }

    pub fn project(slug: &str) -> Result<Self, String> {
        Self::parse(&format!("project:{slug}"))
    }

    pub fn direct(user_id: &str) -> Result<Self, String> {
        Self::parse(&format!("dm:{user_id}"))
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        const FORMS: &str = "a room is general, project:<slug> or dm:<user id>";
        if raw == "general" {
            return Ok(Self(RoomKind::General));
        }
        if let Some(slug) = raw.strip_prefix("project:") {
            let ok = (2..=63).contains(&slug.len())
                && slug.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && slug
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            return if ok {
                Ok(Self(RoomKind::Project(slug.to_owned())))
            } else {
                Err(format!(
                    "{raw:?}: the project slug must match ^[a-z0-9][a-z0-9-]{{1,62}}$ ({FORMS})"
                ))
            };
        }
        if let Some(user) = raw.strip_prefix("dm:") {
            let ok = (1..=64).contains(&user.len())
                && user
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':');
            return if ok {
                Ok(Self(RoomKind::Direct(user.to_owned())))
            } else {
                Err(format!("{raw:?}: not a user id ({FORMS})"))
            };
        }
        Err(format!("{raw:?}: {FORMS}"))
    }

    pub fn kind(&self) -> &RoomKind {
        &self.0
    }

    /// The project a project room binds as the default for commands.
    pub fn project_slug(&self) -> Option<&str> {
        match &self.0 {
            RoomKind::Project(slug) => Some(slug),
            _ => None,
        }
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            RoomKind::General => f.write_str("general"),
            RoomKind::Project(slug) => write!(f, "project:{slug}"),
            RoomKind::Direct(user) => write!(f, "dm:{user}"),
        }
    }
}

super::try_from_string!(RoomId => String);

impl From<RoomId> for String {
    fn from(room: RoomId) -> String {
        room.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_room_forms_parse_and_print_back() {
        for raw in ["general", "project:api", "dm:0193b7a4-5c1e-7f00-8000-000000000001"] {
            assert_eq!(RoomId::parse(raw).unwrap().to_string(), raw);
        }
        assert_eq!(RoomId::parse("project:api").unwrap().project_slug(), Some("api"));
        assert_eq!(RoomId::general().project_slug(), None);
    }

    #[test]
    fn anything_else_is_refused() {
        for raw in [
            "",
            "General",
            "project:",
            "project:A",
            "project:-x",
            "dm:",
            "dm:a b",
            "room:1",
            "project:a",
        ] {
            assert!(RoomId::parse(raw).is_err(), "{raw}");
        }
    }
}

//! Page sizes, `order_by`, and opaque page tokens.
//!
//! A token is base64url(JSON) of the keyset position *and* of the query it was made for (order and filter, or project
//! and environment), so a token replayed with another query is refused (INVALID_ARGUMENT) instead of silently
//! skipping or repeating rows (AIP-158). Tokens are not secret: they only ever select rows the caller may read anyway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{ProjectCursor, ProjectFilter, ProjectOrder, ProjectSortField, SortKey, TimeCursor};
use crate::error::Error;

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;

/// `pageSize`: 0 means the default (50); values above 200 are clamped; negatives are an error.
pub fn page_size(requested: i32) -> Result<u32, Error> {
    match requested {
        n if n < 0 => Err(Error::invalid("pageSize", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok((n as u32).min(MAX_PAGE_SIZE)),
    }
}

/// `orderBy`: `slug` (default), `name`, `created_at`, `updated_at`, prefixed with `-` for descending.
pub fn parse_order_by(raw: &str) -> Result<ProjectOrder, Error> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(ProjectOrder::default());
    }
    let (descending, field) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let field = match field {
        "slug" => ProjectSortField::Slug,
        "name" => ProjectSortField::Name,
        "created_at" | "createdAt" => ProjectSortField::CreatedAt,
        "updated_at" | "updatedAt" => ProjectSortField::UpdatedAt,
        _ => {
            return Err(Error::invalid(
                "orderBy",
                format!("unknown order {raw:?}: use slug, name, created_at or updated_at, with '-' for descending"),
            ));
        }
    };
    Ok(ProjectOrder { field, descending })
}

/// The canonical text of an order (what `parse_order_by` reads back).
pub fn order_to_string(order: ProjectOrder) -> String {
    let field = match order.field {
        ProjectSortField::Slug => "slug",
        ProjectSortField::Name => "name",
        ProjectSortField::CreatedAt => "created_at",
        ProjectSortField::UpdatedAt => "updated_at",
    };
    if order.descending {
        format!("-{field}")
    } else {
        field.to_owned()
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct ProjectQuery {
    order: String,
    query: Option<String>,
    tag: Option<String>,
    archived: bool,
}

impl ProjectQuery {
    fn new(order: ProjectOrder, filter: &ProjectFilter) -> Self {
        Self {
            order: order_to_string(order),
            query: filter.query.clone(),
            tag: filter.tag.as_ref().map(|t| t.as_str().to_owned()),
            archived: filter.include_archived,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Key {
    Text(String),
    /// Microseconds since the epoch.
    Time(i64),
}

#[derive(Debug, Serialize, Deserialize)]
struct ProjectToken {
    q: ProjectQuery,
    key: Key,
    id: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
struct TimeToken {
    /// What was listed: `releases:<project id>` or `deployments:<project id>:<environment or empty>`.
    scope: String,
    at: i64,
    id: String,
}

fn not_ours() -> Error {
    Error::invalid("pageToken", "is not a token this server issued")
}

fn other_query() -> Error {
    Error::invalid(
        "pageToken",
        "was issued for a different query (order, filter or scope); repeat the query without it",
    )
}

fn encode<T: Serialize>(token: &T) -> String {
    // Serializing plain structs of strings and integers cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(token).unwrap_or_default())
}

fn decode<T: for<'de> Deserialize<'de>>(token: &str) -> Result<T, Error> {
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| not_ours())?;
    serde_json::from_slice(&raw).map_err(|_| not_ours())
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(micros: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(micros).ok_or_else(not_ours)
}

pub fn encode_project_token(order: ProjectOrder, filter: &ProjectFilter, cursor: &ProjectCursor) -> String {
    let key = match &cursor.key {
        SortKey::Text(text) => Key::Text(text.clone()),
        SortKey::Time(at) => Key::Time(micros(*at)),
    };
    encode(&ProjectToken {
        q: ProjectQuery::new(order, filter),
        key,
        id: cursor.id,
    })
}

/// `None` for an empty token (the first page).
pub fn decode_project_token(
    token: &str,
    order: ProjectOrder,
    filter: &ProjectFilter,
) -> Result<Option<ProjectCursor>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let decoded: ProjectToken = decode(token)?;
    if decoded.q != ProjectQuery::new(order, filter) {
        return Err(other_query());
    }
    let textual = matches!(order.field, ProjectSortField::Slug | ProjectSortField::Name);
    let key = match decoded.key {
        Key::Text(text) if textual => SortKey::Text(text),
        Key::Time(at) if !textual => SortKey::Time(from_micros(at)?),
        Key::Text(_) | Key::Time(_) => return Err(not_ours()),
    };
    Ok(Some(ProjectCursor { key, id: decoded.id }))
}

pub fn encode_time_token(scope: &str, cursor: &TimeCursor) -> String {
    encode(&TimeToken {
        scope: scope.to_owned(),
        at: micros(cursor.at),
        id: cursor.id.clone(),
    })
}

/// `None` for an empty token (the first page).
pub fn decode_time_token(token: &str, scope: &str) -> Result<Option<TimeCursor>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let decoded: TimeToken = decode(token)?;
    if decoded.scope != scope {
        return Err(other_query());
    }
    Ok(Some(TimeCursor {
        at: from_micros(decoded.at)?,
        id: decoded.id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Tag, now_micros};

    #[test]
    fn page_sizes_default_clamp_and_reject_negatives() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(10_000).unwrap(), 200);
        assert!(page_size(-1).unwrap_err().to_string().starts_with("pageSize:"));
    }

    #[test]
    fn orders_parse_and_print_back() {
        for (raw, field, descending) in [
            ("", ProjectSortField::Slug, false),
            ("name", ProjectSortField::Name, false),
            ("-created_at", ProjectSortField::CreatedAt, true),
            ("updated_at", ProjectSortField::UpdatedAt, false),
            ("-slug", ProjectSortField::Slug, true),
        ] {
            let order = parse_order_by(raw).unwrap();
            assert_eq!((order.field, order.descending), (field, descending), "{raw}");
            assert_eq!(parse_order_by(&order_to_string(order)).unwrap(), order);
        }
        for bad in ["owner", "--slug", "slug desc", "-"] {
            assert!(
                parse_order_by(bad).unwrap_err().to_string().starts_with("orderBy:"),
                "{bad}"
            );
        }
    }

    #[test]
    fn project_tokens_round_trip_only_for_their_own_query() {
        let order = parse_order_by("-created_at").unwrap();
        let filter = ProjectFilter {
            query: Some("api".into()),
            tag: Some(Tag::parse("team-a").unwrap()),
            include_archived: false,
        };
        let cursor = ProjectCursor {
            key: SortKey::Time(now_micros()),
            id: Uuid::new_v4(),
        };
        let token = encode_project_token(order, &filter, &cursor);

        assert_eq!(decode_project_token(&token, order, &filter).unwrap(), Some(cursor));
        assert_eq!(decode_project_token("", order, &filter).unwrap(), None);
        let other_filter = ProjectFilter {
            include_archived: true,
            ..filter.clone()
        };
        for (order, filter) in [(parse_order_by("created_at").unwrap(), &filter), (order, &other_filter)] {
            let err = decode_project_token(&token, order, filter).unwrap_err().to_string();
            assert!(err.contains("pageToken: was issued for a different query"), "{err}");
        }
        for garbage in ["%%%", "bm90LWEtdG9rZW4", &URL_SAFE_NO_PAD.encode("{}")] {
            let err = decode_project_token(garbage, order, &filter).unwrap_err().to_string();
            assert!(err.contains("pageToken: is not a token"), "{err}");
        }
    }

    #[test]
    fn time_tokens_round_trip_only_in_their_scope() {
        let cursor = TimeCursor {
            at: now_micros(),
            id: "gh-42".into(),
        };
        let token = encode_time_token("releases:p1", &cursor);
        assert_eq!(decode_time_token(&token, "releases:p1").unwrap(), Some(cursor));
        assert!(decode_time_token(&token, "releases:p2").is_err());
        assert!(decode_time_token("xyz", "releases:p1").is_err());
    }
}

//! Page tokens, which every list endpoint takes from the caller: auth's `(created_at, id)` tokens, projects' project
//! and time tokens (bound to the query they were made for) and tasks' pipeline tokens.
//!
//! Invariants: decoding any string never panics and a refusal names `pageToken`; a decoded token encodes to one that
//! decodes to the same position; every position survives encode then decode; a project or time token is refused for
//! another query or scope.
#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, Utc};
use devopstrack_auth::domain::Cursor;
use devopstrack_auth::tokens::{decode_page_token, encode_page_token};
use devopstrack_projects::domain::{
    ProjectCursor, ProjectFilter, ProjectOrder, ProjectSortField, SortKey, Tag, TimeCursor,
};
use devopstrack_projects::pagination::{
    decode_project_token, decode_time_token, encode_project_token, encode_time_token,
};
use devopstrack_tasks::app::fuzzing::{decode_token, encode_token};
use devopstrack_tasks::domain::PipelineId;
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

#[derive(Arbitrary, Debug)]
struct Query {
    field: u8,
    descending: bool,
    query: Option<String>,
    tag: Option<String>,
    archived: bool,
}

impl Query {
    fn order(&self) -> ProjectOrder {
        let field = match self.field % 4 {
            0 => ProjectSortField::Slug,
            1 => ProjectSortField::Name,
            2 => ProjectSortField::CreatedAt,
            _ => ProjectSortField::UpdatedAt,
        };
        ProjectOrder {
            field,
            descending: self.descending,
        }
    }

    fn filter(&self) -> ProjectFilter {
        ProjectFilter {
            query: self.query.clone(),
            tag: self.tag.as_deref().and_then(|t| Tag::parse(t).ok()),
            include_archived: self.archived,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Case {
    AuthToken(String),
    AuthCursor {
        micros: i64,
        id: [u8; 16],
    },
    TasksToken(String),
    TasksId([u8; 16]),
    ProjectToken {
        token: String,
        query: Query,
    },
    ProjectCursor {
        query: Query,
        text: String,
        micros: i64,
        id: [u8; 16],
        other: Query,
    },
    TimeToken {
        token: String,
        scope: String,
    },
    TimeCursor {
        scope: String,
        micros: i64,
        id: String,
        other: String,
    },
}

fuzz_target!(|case: Case| match case {
    Case::AuthToken(token) => match decode_page_token(&token) {
        Ok(Some(cursor)) => assert_eq!(decode_page_token(&encode_page_token(&cursor)), Ok(Some(cursor))),
        Ok(None) => assert!(token.is_empty()),
        Err(e) => assert!(e.starts_with("pageToken:"), "{e}"),
    },
    Case::AuthCursor { micros, id } => {
        let Some(created_at) = time(micros) else { return };
        let cursor = Cursor {
            created_at,
            id: Uuid::from_bytes(id),
        };
        assert_eq!(decode_page_token(&encode_page_token(&cursor)), Ok(Some(cursor)));
    }
    Case::TasksToken(token) => match decode_token(&token) {
        Ok(id) => assert_eq!(decode_token(&encode_token(id)).ok(), Some(id)),
        Err(e) => assert!(e.to_string().starts_with("pageToken:"), "{e}"),
    },
    Case::TasksId(bytes) => {
        let id = PipelineId::parse(&Uuid::from_bytes(bytes).to_string()).expect("a UUID");
        assert_eq!(decode_token(&encode_token(id)).ok(), Some(id));
    }
    Case::ProjectToken { token, query } => {
        let (order, filter) = (query.order(), query.filter());
        match decode_project_token(&token, order, &filter) {
            Ok(Some(cursor)) => {
                let again = encode_project_token(order, &filter, &cursor);
                assert_eq!(decode_project_token(&again, order, &filter).ok(), Some(Some(cursor)));
            }
            Ok(None) => assert!(token.is_empty()),
            Err(e) => assert!(e.to_string().starts_with("pageToken:"), "{e}"),
        }
    }
    Case::ProjectCursor {
        query,
        text,
        micros,
        id,
        other,
    } => {
        let (order, filter) = (query.order(), query.filter());
        let key = match order.field {
            ProjectSortField::Slug | ProjectSortField::Name => SortKey::Text(text),
            ProjectSortField::CreatedAt | ProjectSortField::UpdatedAt => match time(micros) {
                Some(at) => SortKey::Time(at),
                None => return,
            },
        };
        let cursor = ProjectCursor {
            key,
            id: Uuid::from_bytes(id),
        };
        let token = encode_project_token(order, &filter, &cursor);
        assert_eq!(decode_project_token(&token, order, &filter).ok(), Some(Some(cursor)));
        let (other_order, other_filter) = (other.order(), other.filter());
        if (other_order, &other_filter) != (order, &filter) {
            let refused = decode_project_token(&token, other_order, &other_filter);
            assert!(refused.is_err(), "a token for {query:?} was taken for {other:?}");
        }
    }
    Case::TimeToken { token, scope } => match decode_time_token(&token, &scope) {
        Ok(Some(cursor)) => {
            let again = encode_time_token(&scope, &cursor);
            assert_eq!(decode_time_token(&again, &scope).ok(), Some(Some(cursor)));
        }
        Ok(None) => assert!(token.is_empty()),
        Err(e) => assert!(e.to_string().starts_with("pageToken:"), "{e}"),
    },
    Case::TimeCursor {
        scope,
        micros,
        id,
        other,
    } => {
        let Some(at) = time(micros) else { return };
        let cursor = TimeCursor { at, id };
        let token = encode_time_token(&scope, &cursor);
        assert_eq!(decode_time_token(&token, &scope).ok(), Some(Some(cursor)));
        if other != scope {
            assert!(decode_time_token(&token, &other).is_err());
        }
    }
});

/// An instant with microsecond precision, as the stores keep them.
fn time(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
}

//! The rules the services enforce on the strings the API takes (slugs, names, versions, commits, ids …), as named
//! schemas of the document, so generated clients and the schema check see the real contract. Each is written from
//! the domain newtype that enforces it (named on each); the tests (`contract_tests`) run every pattern against that
//! newtype over a table of inputs, so a rule that changes in a service fails here until the document follows.
//!
//! Patterns avoid look-around and `\p{…}` so ECMA, Python and Rust regex engines read them alike. Where a rule trims
//! its input first, surrounding white space is allowed. Lengths are counted in characters, as the rules count them.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// `char::is_whitespace` (what `str::trim` removes), as a character-class body.
macro_rules! ws {
    () => {
        r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}
/// `char::is_control` (Unicode `Cc`), as a character-class body.
macro_rules! cc {
    () => {
        r"\x00-\x1F\x7F-\x9F"
    };
}
/// Text trimmed to 1..=`$max` characters, none of them a control character once trimmed.
macro_rules! trimmed_text {
    ($inner:literal) => {
        concat!(
            "^[",
            ws!(),
            "]*[^",
            ws!(),
            cc!(),
            "](?:[^",
            cc!(),
            "]{0,",
            $inner,
            "}[^",
            ws!(),
            cc!(),
            "])?[",
            ws!(),
            "]*$"
        )
    };
}

/// A UUID as `Uuid::parse_str` reads it: hyphenated, simple (32 hex digits), braced or `urn:uuid:`.
macro_rules! uuid_forms {
    () => {
        r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{32}|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}|urn:uuid:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    };
}
macro_rules! slug {
    () => {
        "[a-z0-9][a-z0-9-]{1,62}"
    };
}
macro_rules! env_name {
    () => {
        "[a-z0-9][a-z0-9-]{0,31}"
    };
}

/// A string schema with a pattern and optional length bounds, registered under `$name`.
macro_rules! string_schema {
    ($(#[doc = $doc:literal])+ $ty:ident, $pattern:expr $(, min = $min:expr)? $(, max = $max:expr)? $(, example = $example:expr)?) => {
        $(#[doc = $doc])+
        pub struct $ty;

        impl $ty {
            pub const PATTERN: &'static str = $pattern;
        }

        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                let description = [$($doc),+].map(str::trim).join(" ");
                #[allow(unused_mut)]
                let mut schema = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some($ty::PATTERN))
                    .description(Some(description));
                $(schema = schema.min_length(Some($min));)?
                $(schema = schema.max_length(Some($max));)?
                $(schema = schema.examples([$example]);)?
                schema.into()
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($ty))
            }
        }
    };
}

string_schema!(
    /// A project slug (projects' `Slug`): 2–63 lower-case letters, digits or `-`, starting with a letter or digit.
    Slug, concat!("^", slug!(), "$"), example = "api"
);
string_schema!(
    /// A chat room (the chat's `RoomId`): `general`, `project:<slug>` or `dm:<user id>`.
    RoomRef, concat!("^(?:general|project:", slug!(), "|dm:[A-Za-z0-9_:-]{1,64})$"), example = "general"
);
string_schema!(
    /// A project named by its slug or its id (projects' `ProjectRef`: a UUID, else a slug).
    ProjectRef, concat!("^(?:", slug!(), "|", uuid_forms!(), ")$"), example = "api"
);
string_schema!(
    /// A project filter (metrics' `validate::project`): a slug; empty for every project.
    ProjectFilter, concat!("^(?:", slug!(), ")?$"), example = "api"
);
string_schema!(
    /// An environment name (projects' `EnvName`): 1–32 lower-case letters, digits or `-`, starting with a letter or
    /// digit.
    EnvName, concat!("^", env_name!(), "$"), example = "staging"
);
string_schema!(
    /// An environment filter (metrics' `validate::environment`): an environment name; empty for every environment.
    EnvFilter, concat!("^(?:", env_name!(), ")?$"), example = "production"
);
string_schema!(
    /// A version label (projects' `VersionLabel`): 1–64 visible ASCII characters, no spaces (`1.4.0`,
    /// `v2.0.0-rc.1`).
    VersionLabel, "^[!-~]{1,64}$", example = "1.4.0"
);
string_schema!(
    /// A git commit (`platform::commit::CommitSha`): 7–64 hex digits, an abbreviated or full SHA-1 or SHA-256 id
    /// (stored lower-case).
    CommitSha, "^[0-9A-Fa-f]{7,64}$", example = "3f2a9c1d8e"
);
string_schema!(
    /// An optional commit (projects' `parse_optional_sha`): a commit sha, or empty for none.
    OptionalCommitSha, "^(?:[0-9A-Fa-f]{7,64})?$", example = "3f2a9c1d8e"
);
string_schema!(
    /// A tag (projects' `Tag`): 1–32 lower-case letters, digits, `.`, `_` or `-`, starting with a letter or digit.
    Tag, "^[a-z0-9][a-z0-9._-]{0,31}$", example = "backend"
);
string_schema!(
    /// A display name (auth's `parse_name`, projects' `ProjectName`): 1–100 characters once trimmed, no control
    /// characters.
    DisplayName, trimmed_text!("98"), example = "Ada Lovelace"
);
string_schema!(
    /// Free text (projects' `parse_description`): at most 2000 characters; no control characters but new lines and
    /// tabs.
    Description, r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$", max = 2000
);
string_schema!(
    /// Release notes (projects' `create_release`): at most 10000 characters; no control characters but new lines
    /// and tabs.
    ReleaseNotes, r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$", max = 10000
);
/// Text trimmed to at most `$inner + 2` characters (empty allowed), none of them a control character once trimmed.
macro_rules! short_text {
    ($inner:literal) => {
        concat!(
            "^[",
            ws!(),
            "]*(?:[^",
            ws!(),
            cc!(),
            "](?:[^",
            cc!(),
            "]{0,",
            $inner,
            "}[^",
            ws!(),
            cc!(),
            "])?)?[",
            ws!(),
            "]*$"
        )
    };
}
string_schema!(
    /// Short free text (projects' `short_text`: a project's owner, who triggered a deployment, a search): at most 200
    /// characters once trimmed, no control characters; empty: the default (you, or no filter).
    ShortText, short_text!("198")
);
string_schema!(
    /// A pipeline id as a deployment carries it (projects' `short_text`): at most 100 characters once trimmed, no
    /// control characters; empty: none.
    PipelineRef, short_text!("98")
);
string_schema!(
    /// A tag filter (projects' `list_projects`): a tag; empty for any.
    TagFilter, "^(?:[a-z0-9][a-z0-9._-]{0,31})?$", example = "backend"
);
string_schema!(
    /// A project order (projects' `parse_order_by`): `slug` (default), `name`, `created_at` or `updated_at`
    /// (`createdAt`, `updatedAt` too), `-` first for descending; surrounding white space is ignored.
    ProjectOrder,
    concat!("^[", ws!(), "]*(?:-?(?:slug|name|created_at|createdAt|updated_at|updatedAt))?[", ws!(), "]*$"),
    example = "-updated_at"
);
string_schema!(
    /// A new project owner (projects' `update_project`): 1–200 characters once trimmed, no control characters.
    NewOwner, trimmed_text!("198")
);
string_schema!(
    /// A UUID (`Uuid::parse_str`: hyphenated, simple, braced or `urn:uuid:`).
    Uuid, concat!("^(?:", uuid_forms!(), ")$"), example = "0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1f"
);
string_schema!(
    /// An email address (auth's `Email`): `local@domain` once trimmed (and lower-cased), no spaces or control
    /// characters, a domain that neither starts nor ends with `.`; at most 64 bytes before the `@` and 254 in all:
    /// up to 64 and 189 ASCII characters, or 16 and 47 of any kind (4 bytes at most each).
    Email,
    concat!(
        "^[", ws!(), "]*(?:[!-?A-~]{1,64}|[^@", ws!(), cc!(), "]{1,16})@(?:",
        r"[!-\-/-?A-~](?:[!-?A-~]{0,187}[!-\-/-?A-~])?|",
        "[^@.", ws!(), cc!(), "](?:[^@", ws!(), cc!(), "]{0,45}[^@.", ws!(), cc!(), "])?",
        ")[", ws!(), "]*$"
    ),
    example = "ada@example.com"
);
string_schema!(
    /// A new password (auth's `NewPassword`): 10–256 characters, not only white space.
    NewPassword, concat!("[^", ws!(), "]"), min = 10, max = 256
);
string_schema!(
    /// A stage or job name (tasks' `Name`): 1–63 lower-case letters, digits, `.`, `_` or `-`, starting with a letter
    /// or digit; unique within the pipeline (stages) or the stage (jobs).
    StepName, "^[a-z0-9][a-z0-9._-]{0,62}$", example = "build"
);
string_schema!(
    /// The version a pipeline deploys (tasks' `create_pipeline`): at most 64 characters, no white space or control
    /// characters; with `environment` (both or neither).
    PipelineVersion, concat!("^[^", ws!(), cc!(), "]{0,64}$"), example = "1.4.0"
);
string_schema!(
    /// An idempotency key (tasks' `create_pipeline`): 1–64 characters of `[A-Za-z0-9._:-]` not starting with `gh:`
    /// (reserved for runs tracked from GitHub); empty: none.
    IdempotencyKey,
    r"^(?:[A-Za-fh-z0-9._:-][A-Za-z0-9._:-]{0,63}|g(?:[A-Za-gi-z0-9._:-][A-Za-z0-9._:-]{0,62})?|gh(?:[A-Za-z0-9._-][A-Za-z0-9._:-]{0,61})?)?$",
    example = "ci-run-4711"
);
string_schema!(
    /// A deployment id, its idempotency key (projects' `parse_deployment_id`): 1–64 characters of `[A-Za-z0-9._:-]`.
    DeploymentId, r"^[A-Za-z0-9._:-]{1,64}$", example = "deploy-1"
);
string_schema!(
    /// A repository URL (projects' `RepoUrl`): `https://host/owner/name` or `git@host:owner/name`, at most 300
    /// visible ASCII characters, no credentials.
    RepoUrl, r"^(?:https://[A-Za-z0-9:-][A-Za-z0-9.:-]*/|git@[A-Za-z0-9-][A-Za-z0-9.-]*:)[!-~]*[!-.0-~][!-~]*$",
    max = 300, example = "https://github.com/acme/api"
);
string_schema!(
    /// A git branch (projects' `parse_branch`): at most 100 visible ASCII characters without `..`; empty: `main`.
    Branch, r"^\.?(?:[!-\-/-~]+\.)*[!-\-/-~]*$", max = 100, example = "main"
);
string_schema!(
    /// Where an environment is reachable (projects' `parse_env_url`): an `http://` or `https://` URL of at most 300
    /// visible ASCII characters; empty: none.
    EnvUrl, r"^(?:https?://[!-~]*)?$", max = 300, example = "https://staging.example.com"
);
string_schema!(
    /// Why a job is rejected (tasks' `reject_job`): 1–500 characters once trimmed, no control characters but new
    /// lines.
    RejectReason,
    concat!(
        "^[", ws!(), "]*[^", ws!(), cc!(), r"](?:[^\x00-\x09\x0B-\x1F\x7F-\x9F]{0,498}[^", ws!(), cc!(), "])?[",
        ws!(), "]*$"
    ),
    example = "not during the freeze"
);
string_schema!(
    /// A webhook secret (projects' `check_webhook_secret`): 16–256 characters, no control characters.
    WebhookSecret, concat!("^[^", cc!(), "]*$"), min = 16, max = 256
);
string_schema!(
    /// A GitHub event name (`X-GitHub-Event`, the gateway's `GithubEvent`): 1–64 characters of `[a-z_]`.
    GithubEventName, "^[a-z_]{1,64}$", example = "workflow_run"
);
string_schema!(
    /// A GitHub delivery id (`X-GitHub-Delivery`, projects' `parse_delivery_id`): 1–128 characters of
    /// `[A-Za-z0-9._:-]`.
    GithubDeliveryId, r"^[A-Za-z0-9._:-]{1,128}$", example = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
);
string_schema!(
    /// A series' bucket width (`step`): seconds (`3600`) or a count of `s`, `m`, `h` or `d` (`15m`, `1d`), from 1
    /// minute to 30 days.
    SeriesStep, "^[0-9]+[smhd]?$", example = "1h"
);

/// The roles a user or an API token may be given (auth refuses `service`, the role of internal services).
pub struct UserRole;

impl PartialSchema for UserRole {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["viewer", "operator", "admin"]))
            .description(Some("A user's role: viewer, operator or admin."))
            .into()
    }
}

impl ToSchema for UserRole {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("UserRole")
    }
}

#[cfg(test)]
mod tests;

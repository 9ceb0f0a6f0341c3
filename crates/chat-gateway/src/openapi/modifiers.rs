//! The passes that finish the generated document: the `bearer` security scheme every operation uses, and the error
//! answers any operation may give (401, 413/415, 500, 503), added once instead of on every handler.

use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

/// The `bearer` security scheme every operation uses unless it says `security: [{}]`.
pub(super) struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token (EdDSA JWT, 15 minutes)"))
                    .build(),
            ),
        );
    }
}

/// Adds the answers any operation may give, as references to `components.responses`.
pub(super) struct CommonResponses;

const COMMON: [(&str, &str, &str); 5] = [
    (
        "401",
        "Unauthenticated",
        "No valid access token (`WWW-Authenticate: Bearer`)",
    ),
    ("413", "PayloadTooLarge", "The body is over 64 KiB"),
    ("415", "UnsupportedMediaType", "The body is not `application/json`"),
    ("500", "Internal", "An unexpected failure (logged with the request id)"),
    (
        "503",
        "Unavailable",
        "A backing service is down or too slow; try again shortly",
    ),
];

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_responses(operation);
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description) in COMMON {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build();
            components.responses.insert(name.to_owned(), RefOr::T(response));
        }
    }
}

fn add_common_responses(operation: &mut Operation) {
    // `security: [{}]` marks a public operation; anything else inherits the global bearer requirement.
    let public = operation
        .security
        .as_ref()
        .is_some_and(|s| s.iter().any(|r| *r == SecurityRequirement::default()));
    let has_body = operation.request_body.is_some();
    let is_meta = operation.tags.as_ref().is_some_and(|t| t.iter().any(|t| t == "meta"));
    for (status, name, _) in COMMON {
        let applies = match status {
            "401" => !public,
            "413" | "415" => has_body,
            _ => !is_meta,
        };
        if applies {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| Ref::from_response_name(name).into());
        }
    }
}

/// `minProperties` of the bodies that must carry more than their required fields. Set here because utoipa 5.5 writes
/// the `min_properties` container attribute as `maxProperties`.
pub(super) struct MinProperties;

const MIN_PROPERTIES: [(&str, usize); 1] = [
    // `expectedVersion` and at least one field to change (`nothing to change` otherwise).
    ("UpdateProjectRequest", 2),
];

impl Modify for MinProperties {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (name, min) in MIN_PROPERTIES {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.min_properties = Some(min);
            }
        }
    }
}

//! Interactive API docs at `/api/docs`: Swagger UI reading `/api/v1/openapi.json`.
//!
//! Swagger UI is vendored (`assets/swagger-ui/`, from npm `swagger-ui-dist`; the version and checksum are in `VERSION`)
//! and embedded in the binary: nothing is fetched at build or run time. The page runs under the edge's CSP
//! (`script-src 'self'`): it has no inline script; `init.js` starts the UI. The bundle and stylesheet are requested
//! with `?v=<version>`, so they may be cached for a year; the page and `init.js` are revalidated.

use actix_web::middleware::Compress;
use actix_web::{HttpResponse, web};

/// The vendored Swagger UI (`assets/swagger-ui/VERSION`); the page's asset URLs carry it as `?v=`.
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

const INDEX_HTML: &str = include_str!("../assets/docs/index.html");
const INIT_JS: &str = include_str!("../assets/docs/init.js");
const BUNDLE_JS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui.css");

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/docs")
            .wrap(Compress::default())
            .route("", web::get().to(index))
            .route("/", web::get().to(index))
            .route("/init.js", web::get().to(init_js))
            .route("/swagger-ui-bundle.js", web::get().to(bundle_js))
            .route("/swagger-ui.css", web::get().to(css)),
    );
}

fn asset(content_type: &'static str, cache: &'static str, body: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("cache-control", cache))
        .body(web::Bytes::from_static(body))
}

async fn index() -> HttpResponse {
    asset("text/html; charset=utf-8", REVALIDATE, INDEX_HTML.as_bytes())
}

async fn init_js() -> HttpResponse {
    asset(JAVASCRIPT, REVALIDATE, INIT_JS.as_bytes())
}

async fn bundle_js() -> HttpResponse {
    asset(JAVASCRIPT, IMMUTABLE, BUNDLE_JS)
}

async fn css() -> HttpResponse {
    asset("text/css; charset=utf-8", IMMUTABLE, CSS)
}

#[cfg(test)]
mod tests {
    use actix_web::App;
    use actix_web::test::{TestRequest, call_service, init_service, read_body};

    use super::*;

    /// Every `src="…"` and `href="…"` of the page.
    fn references(html: &str) -> Vec<&str> {
        ["src=\"", "href=\""]
            .iter()
            .flat_map(|attr| html.split(attr).skip(1).map(|rest| &rest[..rest.find('"').unwrap()]))
            .collect()
    }

    #[actix_web::test]
    async fn the_page_and_everything_it_loads_are_served_from_the_binary() {
        let app = init_service(App::new().configure(configure)).await;
        let page = call_service(&app, TestRequest::get().uri("/api/docs").to_request()).await;
        assert_eq!(page.status(), 200);
        assert_eq!(
            page.headers().get("content-type").unwrap().to_str().unwrap(),
            "text/html; charset=utf-8"
        );
        let wanted = [
            (
                "/api/docs/swagger-ui.css?v=5.35.0",
                "text/css; charset=utf-8",
                IMMUTABLE,
            ),
            ("/api/docs/swagger-ui-bundle.js?v=5.35.0", JAVASCRIPT, IMMUTABLE),
            ("/api/docs/init.js", JAVASCRIPT, REVALIDATE),
        ];
        let mut seen = references(INDEX_HTML);
        seen.retain(|r| !r.starts_with("/api/v1/"));
        assert_eq!(seen.len(), wanted.len(), "{seen:?}");
        for (uri, content_type, cache) in wanted {
            assert!(seen.contains(&uri), "the page should load {uri}: {seen:?}");
            let response = call_service(&app, TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(response.status(), 200, "{uri}");
            assert_eq!(
                response.headers().get("content-type").unwrap().to_str().unwrap(),
                content_type,
                "{uri}"
            );
            assert_eq!(
                response.headers().get("cache-control").unwrap().to_str().unwrap(),
                cache,
                "{uri}"
            );
            assert!(!read_body(response).await.is_empty(), "{uri}");
        }
    }

    #[actix_web::test]
    async fn the_bundle_is_compressed_for_clients_that_accept_gzip() {
        let app = init_service(App::new().configure(configure)).await;
        let request = TestRequest::get()
            .uri("/api/docs/swagger-ui-bundle.js")
            .insert_header(("accept-encoding", "gzip"))
            .to_request();
        let response = call_service(&app, request).await;
        assert_eq!(
            response.headers().get("content-encoding").unwrap().to_str().unwrap(),
            "gzip"
        );
        let compressed = read_body(response).await.len();
        assert!(
            compressed < BUNDLE_JS.len() / 2,
            "{compressed} bytes of {}",
            BUNDLE_JS.len()
        );
    }

    #[test]
    fn the_page_has_no_inline_script_for_the_csp() {
        for script in INDEX_HTML.split("<script").skip(1) {
            let tag = &script[..script.find('>').unwrap()];
            assert!(
                tag.contains("src=\"/api/docs/"),
                "inline or foreign script: <script{tag}>"
            );
            assert!(
                script[tag.len() + 1..].starts_with("</script>"),
                "a script with a src must have no body"
            );
        }
        let handlers: Vec<_> = INDEX_HTML
            .split_whitespace()
            .filter(|w| w.starts_with("on") && w.contains('='))
            .collect();
        assert!(handlers.is_empty(), "inline event handlers: {handlers:?}");
        assert!(INIT_JS.contains("\"/api/v1/openapi.json\"") && INIT_JS.contains("validatorUrl: null"));
    }

    #[test]
    fn the_version_in_the_urls_is_the_vendored_one() {
        let vendored = include_str!("../assets/swagger-ui/VERSION");
        assert!(
            vendored.starts_with(&format!("swagger-ui-dist {SWAGGER_UI_VERSION}\n")),
            "{vendored}"
        );
        assert_eq!(INDEX_HTML.matches(&format!("?v={SWAGGER_UI_VERSION}\"")).count(), 2);
        assert!(
            std::str::from_utf8(BUNDLE_JS).unwrap().contains(SWAGGER_UI_VERSION),
            "bundle of another version"
        );
    }
}

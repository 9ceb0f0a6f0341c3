//! The web dashboard at `/`: the built React app (`frontend/dist`, or `DEVOPSTRACK_GATEWAY__DASHBOARD_DIR`), served
//! from disk so a rebuild needs no restart.
//!
//! - Hashed files under `/assets/` are cached for a year (`immutable`); everything else, `index.html` first, is
//!   revalidated (`no-cache`), so a new build is picked up at once.
//! - History-API fallback: a GET of a path that is no file and does not look like one (`/projects/api`) answers
//!   `index.html`, and the app's router takes over. A missing asset (`/assets/x.js`, `/logo.png`) is a 404.
//! - `/api/...` never reaches this service (its path pattern excludes the `api` segment), so unknown API paths keep
//!   their JSON 404.
//! - No path traversal: `.`/`..`/hidden segments and backslashes are refused, and the canonical path of a file must
//!   stay under the canonical root (which also stops symlinks pointing out of it).
//! - Without a build, every page is a short built-in page that says how to build the dashboard.
//! - Responses are compressed (gzip) for clients that accept it.

pub(crate) mod dist;

use std::path::{Path, PathBuf};

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::middleware::Compress;
use actix_web::{HttpRequest, HttpResponse, guard, web};

use crate::error::ApiError;
use crate::state::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
const HTML: &str = "text/html; charset=utf-8";

/// `/` and every path whose first segment is not `api`. The router's regex has no look-ahead, so "not `api`" is
/// spelled out: a first segment that is empty, or differs from `api` at its first, second or third character, or is
/// longer than it.
pub(crate) const PATTERN: &str = "/{tail:(?:[^a/][^/]*|a|a[^p/][^/]*|ap|ap[^i/][^/]*|api[^/]+)?(?:/.*)?}";

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>DevOpsTrack</title>
<style>
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#0A0E1A;color:#fff;
font:16px/1.5 system-ui,sans-serif}main{max-width:36rem;padding:2rem;border:1px solid #2E3650;border-radius:12px;
background:#1E2538}h1{margin-top:0;font-size:1.3rem}code{color:#00D9FF}p{color:#8E94A3}a{color:#00D9FF}
</style></head>
<body><main>
<h1>The dashboard is not built yet</h1>
<p>The API is up (<a href="/api/docs">API docs</a>). To get the dashboard, build it and reload this page:</p>
<p><code>make run</code> builds it, or: <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code></p>
<p>The gateway serves <code>frontend/dist</code> from its working directory, or the directory named by
<code>DEVOPSTRACK_GATEWAY__DASHBOARD_DIR</code>.</p>
</main></body></html>
"#;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PATTERN)
            .wrap(Compress::default())
            .route(web::route().guard(guard::Any(guard::Get()).or(guard::Head())).to(serve))
            // Another method on a page or on a route this path shadows (`POST /healthz`): the JSON 405 with `Allow`.
            .default_service(web::to(super::not_found)),
    );
}

async fn serve(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tail = req.match_info().get("tail").unwrap_or_default();
    let not_found = || ApiError::NotFound(format!("no file at /{tail}"));
    let Some(segments) = safe_segments(tail) else {
        return Err(not_found());
    };
    let Some(root) = state.dashboard.root.as_deref() else {
        return Ok(page(NOT_BUILT.as_bytes().to_vec()));
    };
    if !segments.is_empty() {
        let candidate = segments.iter().fold(root.to_path_buf(), |path, s| path.join(s));
        if let Some(file) = contained_file(root, &candidate).await {
            let body = read(&file).await?;
            let cache = if segments[0] == "assets" { IMMUTABLE } else { REVALIDATE };
            return Ok(HttpResponse::Ok()
                .insert_header((CONTENT_TYPE, content_type(&file)))
                .insert_header((CACHE_CONTROL, cache))
                .body(body));
        }
        if looks_like_a_file(&segments) {
            return Err(not_found());
        }
    }
    Ok(page(read(&root.join("index.html")).await?))
}

fn page(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HTML))
        .insert_header((CACHE_CONTROL, REVALIDATE))
        .body(body)
}

/// The path's segments, or `None` when one of them could climb out or name a hidden file. Empty segments
/// (`//`, a trailing `/`) are dropped.
fn safe_segments(tail: &str) -> Option<Vec<&str>> {
    let mut segments = Vec::new();
    for segment in tail.split('/') {
        if segment.is_empty() {
            continue;
        }
        if segment.starts_with('.') || segment.contains(['\\', '\0', ':']) {
            return None;
        }
        segments.push(segment);
    }
    Some(segments)
}

/// An asset path (`/assets/…`) or a last segment with an extension: a miss is a 404, not the app.
fn looks_like_a_file(segments: &[&str]) -> bool {
    segments.first() == Some(&"assets") || segments.last().is_some_and(|s| s.contains('.'))
}

/// `candidate` if it is a regular file whose canonical path is under `root`.
async fn contained_file(root: &Path, candidate: &Path) -> Option<PathBuf> {
    let canonical = tokio::fs::canonicalize(candidate).await.ok()?;
    if !canonical.starts_with(root) {
        return None;
    }
    let metadata = tokio::fs::metadata(&canonical).await.ok()?;
    metadata.is_file().then_some(canonical)
}

async fn read(path: &Path) -> Result<Vec<u8>, ApiError> {
    tokio::fs::read(path)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context(format!("reading {}", path.display()))))
}

fn content_type(path: &Path) -> &'static str {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    match extension.to_ascii_lowercase().as_str() {
        "html" => HTML,
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use actix_web::dev::ResourceDef;

    use super::*;

    #[test]
    fn the_pattern_takes_every_path_but_the_api() {
        let def = ResourceDef::new(PATTERN);
        for path in [
            "/",
            "/projects",
            "/projects/api",
            "/assets/index-1a2b.js",
            "/apis",
            "/a",
            "/ap",
            "/apx/y",
            "/x/api/y",
        ] {
            assert!(def.is_match(path), "{path} should reach the dashboard");
        }
        for path in ["/api", "/api/", "/api/v1/nope", "/api/docs"] {
            assert!(!def.is_match(path), "{path} must stay with the API");
        }
    }

    #[test]
    fn segments_that_could_escape_are_refused() {
        assert_eq!(safe_segments("assets//a.js/"), Some(vec!["assets", "a.js"]));
        for bad in [
            "../etc/passwd",
            "assets/../../x",
            "./index.html",
            ".env",
            "a\\..\\b",
            "c:/x",
        ] {
            assert_eq!(safe_segments(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(
            content_type(Path::new("a/index-x.JS")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("font.woff2")), "font/woff2");
        assert_eq!(content_type(Path::new("x.unknown")), "application/octet-stream");
    }
}

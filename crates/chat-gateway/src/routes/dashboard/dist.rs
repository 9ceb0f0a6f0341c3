//! Where the built dashboard is: found once at start, held in [`crate::state::AppState`], read by every page served.

use std::path::{Path, PathBuf};

/// Where the built dashboard is, if anywhere.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// Canonical directory holding `index.html`; `None`: not built.
    pub(super) root: Option<PathBuf>,
}

impl Dashboard {
    /// The configured directory, else `frontend/dist` under the working directory when it holds an `index.html`.
    pub fn new(configured: Option<&Path>) -> Self {
        let candidate = configured.map_or_else(|| PathBuf::from("frontend/dist"), Path::to_path_buf);
        let root = candidate
            .join("index.html")
            .is_file()
            .then(|| candidate.canonicalize().ok())
            .flatten();
        match &root {
            Some(dir) => tracing::info!(dir = %dir.display(), "serving the dashboard"),
            None => tracing::info!(
                dir = %candidate.display(),
                "no dashboard build found; / explains how to build it"
            ),
        }
        Self { root }
    }
}

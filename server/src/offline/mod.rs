//! What lets the scanner open with no network: `/sw.js`, a service worker that keeps the
//! scanner page and the build's files. It names them with the build's hashes, so a new
//! build is a new worker and replaces the cache whole.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use leptos::prelude::LeptosOptions;

const WORKER: &str = include_str!("service_worker.js");

/// The build's file hashes (`js`, `wasm`, `css`) that cargo-leptos writes beside the binary.
fn build_hashes(options: &LeptosOptions) -> Option<(String, String, String)> {
    if !options.hash_files {
        return None;
    }
    let path = std::env::current_exe().ok()?.parent()?.join(options.hash_file.as_ref());
    let text = std::fs::read_to_string(path).ok()?;
    let hash = |name: &str| {
        text.lines().filter_map(|l| l.split_once(':')).find(|(k, _)| k.trim() == name).map(|(_, v)| v.trim().to_owned())
    };
    Some((hash("js")?, hash("wasm")?, hash("css")?))
}

/// The worker's source: which build it keeps, and the files of that build.
pub fn worker_source(options: &LeptosOptions, fallback_version: &str) -> String {
    let pkg = format!("/{}/{}", options.site_pkg_dir, options.output_name);
    let (version, files) = match build_hashes(options) {
        Some((js, wasm, css)) => (
            format!("{js}-{wasm}-{css}"),
            vec![format!("{pkg}.{js}.js"), format!("{pkg}.{wasm}.wasm"), format!("{pkg}.{css}.css")],
        ),
        // Development builds are not hashed: one cache per server start.
        None => (fallback_version.to_owned(), vec![format!("{pkg}.js"), format!("{pkg}.wasm"), format!("{pkg}.css")]),
    };
    let mut assets = vec!["/scanner".to_owned(), "/manifest.webmanifest".to_owned(), "/icon.svg".to_owned(), "/favicon.svg".to_owned()];
    assets.extend(files);
    let optional = ["/decoder-worker.js", "/decoder/decoder.js", "/decoder/decoder_bg.wasm"];
    let kept: Vec<&str> = assets.iter().map(String::as_str).chain(optional).collect();
    format!(
        "const VERSION = {};\nconst ASSETS = {};\nconst OPTIONAL_ASSETS = {};\nconst KEPT = new Set({});\n{WORKER}",
        serde_json::Value::from(version),
        serde_json::Value::from(assets.clone()),
        serde_json::Value::from(optional.to_vec()),
        serde_json::Value::from(kept),
    )
}

#[derive(Clone)]
pub struct WorkerScript(pub std::sync::Arc<str>);

impl WorkerScript {
    pub fn new(options: &LeptosOptions) -> Self {
        let started = chrono::Utc::now().timestamp_millis().to_string();
        Self(worker_source(options, &format!("dev-{started}")).into())
    }
}

/// `GET /sw.js`, never cached by the browser's HTTP cache: its update check must see a new build.
pub async fn service_worker(State(script): State<WorkerScript>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        script.0.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unhashed_build_keeps_the_scanner_page_and_the_package() {
        let options = LeptosOptions::builder().output_name("billetix").hash_files(false).build();
        let source = worker_source(&options, "dev-1");
        assert!(source.starts_with("const VERSION = \"dev-1\";"), "{source}");
        assert!(source.contains("\"/scanner\""));
        assert!(source.contains("\"/pkg/billetix.wasm\""));
        assert!(source.contains("self.addEventListener('fetch'"));
    }
}

//! The dashboard: static assets served from the binary (stylesheet, vendored htmx 2.0.11) and, as they
//! are built, the workspace views (clients of the public ZenML REST API only).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// htmx 2.0.11 (npm `htmx.org`, BSD-2-Clause, see `assets/htmx-LICENSE`), vendored: no CDN.
pub const HTMX_JS: &str = include_str!("../assets/htmx-2.0.11.min.js");

/// The URL prefix the assets are served under (by both servers).
pub const ASSETS_PREFIX: &str = "/static";

/// `GET /static/htmx.min.js` (+ the other assets), long-cached: the file names carry no version, so
/// the cache is bounded to a day.
pub fn assets_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(
        "/static/htmx.min.js",
        get(|| async {
            (
                [
                    (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                    (header::CACHE_CONTROL, "public, max-age=86400"),
                ],
                HTMX_JS,
            )
                .into_response()
        }),
    )
}

//! The web query console: `GET /` (the page) and `GET /console/{file}`
//! (its script, its style sheet and the vendored uPlot chart library).
//!
//! The files under `console/` are compiled into the binary, so the console
//! needs no build step and fetches nothing from the network. Every response
//! carries an `ETag` and `Cache-Control: no-cache`: browsers revalidate and
//! get `304 Not Modified` until the binary changes. The page talks to the
//! same HTTP API as any other client.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;

/// The page's policy: its own scripts, styles and API only. uPlot sets
/// element styles from script, which `style-src` does not restrict.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("console/index.html"),
};

/// The files under `/console/`.
const ASSETS: [Asset; 4] = [
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("console/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("console/app.css"),
    },
    Asset {
        name: "uPlot.iife.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("console/vendor/uPlot.iife.min.js"),
    },
    Asset {
        name: "uPlot.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("console/vendor/uPlot.min.css"),
    },
];

/// The console's routes; they read no state.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/console/{file}", get(file))
}

/// The asset served as `/console/{name}`.
fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

/// A strong validator for `asset`: a hash of its bytes (a few
/// microseconds for the largest file).
fn etag(asset: &Asset) -> String {
    format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(asset.body))
}

/// `asset`, or `304 Not Modified` when the browser already holds it.
fn respond(asset: &'static Asset, request: &HeaderMap) -> Response {
    let tag = etag(asset);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|candidate| candidate.trim() == tag));
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if asset.name == INDEX.name {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    (headers, asset.body).into_response()
}

/// `GET /`: the console page.
async fn index(request: HeaderMap) -> Response {
    respond(&INDEX, &request)
}

/// `GET /console/{file}`.
async fn file(Path(name): Path<String>, request: HeaderMap) -> Result<Response, ApiError> {
    let asset = asset(&name).ok_or_else(|| {
        let known: Vec<&str> = ASSETS.iter().map(|asset| asset.name).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "the console has no file `{name}` (it serves {})",
                known.join(", ")
            ),
        )
    })?;
    Ok(respond(asset, &request))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;

    /// Sends `GET uri` (with `If-None-Match` when given) to the console's
    /// routes alone.
    async fn get(uri: &str, if_none_match: Option<&str>) -> Response {
        let app: Router = routes();
        let mut request = Request::builder().uri(uri);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        app.oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn header_of(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn serves_every_file_with_its_content_type() {
        let cases = [
            ("/", "text/html; charset=utf-8", &INDEX),
            (
                "/console/app.js",
                "text/javascript; charset=utf-8",
                &ASSETS[0],
            ),
            ("/console/app.css", "text/css; charset=utf-8", &ASSETS[1]),
            (
                "/console/uPlot.iife.min.js",
                "text/javascript; charset=utf-8",
                &ASSETS[2],
            ),
            (
                "/console/uPlot.min.css",
                "text/css; charset=utf-8",
                &ASSETS[3],
            ),
        ];
        for (uri, content_type, asset) in cases {
            let response = get(uri, None).await;
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            assert_eq!(
                header_of(&response, header::CONTENT_TYPE),
                content_type,
                "{uri}"
            );
            assert_eq!(
                header_of(&response, header::CACHE_CONTROL),
                "no-cache",
                "{uri}"
            );
            assert!(header_of(&response, header::ETAG).starts_with('"'), "{uri}");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], asset.body, "{uri}");
        }
    }

    #[tokio::test]
    async fn the_page_loads_only_its_own_files() {
        let page = std::str::from_utf8(INDEX.body).unwrap();
        for asset in &ASSETS {
            assert!(
                page.contains(&format!("/console/{}", asset.name)),
                "index.html does not load {}",
                asset.name
            );
        }
        assert!(!page.contains("http://") && !page.contains("https://"));
        let response = get("/", None).await;
        assert!(
            header_of(&response, header::CONTENT_SECURITY_POLICY).contains("default-src 'none'")
        );
    }

    #[tokio::test]
    async fn a_known_version_is_not_modified() {
        let first = get("/console/app.js", None).await;
        let tag = header_of(&first, header::ETAG).to_string();
        let again = get("/console/app.js", Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let body = again.into_body().collect().await.unwrap().to_bytes();
        assert!(body.is_empty());
        let other = get("/console/app.css", Some(&tag)).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_files_are_404_in_the_api_error_shape() {
        for uri in [
            "/console/nope.js",
            "/console/..%2Fconsole.rs",
            "/console/index.html",
        ] {
            let response = get(uri, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["code"], 404, "{uri}");
            assert!(
                body["error"].as_str().unwrap().contains("app.js"),
                "{uri}: {body}"
            );
        }
    }
}

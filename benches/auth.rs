//! What authentication adds to a query: the same cached query through the
//! whole router (middleware, handler, broker, response) with authentication
//! off, and on with credentials that were verified before (Basic, and a
//! bearer token). The difference is the cost of the header check, the
//! credential cache and the table permission check; the table is empty so
//! that the query's own work does not drown it. Also the first, uncached
//! verification of an Argon2 password, which a client pays once.
//!
//! Run: `cargo bench --bench auth`. Figures go in BENCHMARKS.md.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request};
use criterion::{criterion_group, criterion_main, Criterion};
use gamay::api::{router, AppState};
use gamay::app::App;
use gamay::auth::{secret, Authenticator};
use gamay::config::ServerConfig;
use serde_json::json;
use tower::ServiceExt;

const SCHEMA: &str = include_str!("data/stock_transactions.schema.json");
const TABLE: &str = include_str!("data/stock_transactions.offline.json");

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// An app with the benchmark table, and the credentials to use on it.
fn app(
    runtime: &tokio::runtime::Runtime,
    auth: bool,
) -> (tempfile::TempDir, axum::Router, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut headers = Vec::new();
    let mut config = ServerConfig::new(dir.path().join("data"));
    if auth {
        let (token, digest) = secret::new_token();
        let file = json!({"principals": [
            {"name": "admin", "password": secret::hash_password("admin-pw")},
            {"name": "dashboard", "token": digest, "tables": ["stock_transactions"], "permissions": ["READ"]},
        ]});
        let path = dir.path().join("auth.json");
        std::fs::write(&path, file.to_string()).unwrap();
        config.auth_file = Some(path);
        headers.push(basic("admin", "admin-pw"));
        headers.push(format!("Bearer {token}"));
    } else {
        headers.push(String::new());
    }
    let state = AppState::new(App::open(config).unwrap());
    let router = router(state);
    runtime.block_on(async {
        for (uri, body) in [("/schemas", SCHEMA), ("/tables", TABLE)] {
            let mut request = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
            if auth {
                request = request.header(header::AUTHORIZATION, &headers[0]);
            }
            let response = router
                .clone()
                .oneshot(request.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "{uri}: {}",
                response.status()
            );
        }
    });
    (dir, router, headers)
}

fn query(runtime: &tokio::runtime::Runtime, router: &axum::Router, authorization: &str) {
    let body = r#"{"sql": "SELECT COUNT(*) FROM stock_transactions"}"#;
    let mut request = Request::post("/query/sql").header(header::CONTENT_TYPE, "application/json");
    if !authorization.is_empty() {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    let response = runtime
        .block_on(
            router
                .clone()
                .oneshot(request.body(Body::from(body)).unwrap()),
        )
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

fn cached_query(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("cached_query");
    let (_off_dir, off, none) = app(&runtime, false);
    group.bench_function("auth_off", |b| b.iter(|| query(&runtime, &off, &none[0])));
    let (_on_dir, on, headers) = app(&runtime, true);
    // First calls verify and cache the credentials.
    query(&runtime, &on, &headers[0]);
    query(&runtime, &on, &headers[1]);
    group.bench_function("auth_on_basic", |b| {
        b.iter(|| query(&runtime, &on, &headers[0]))
    });
    group.bench_function("auth_on_bearer", |b| {
        b.iter(|| query(&runtime, &on, &headers[1]))
    });
    group.finish();
}

fn first_verification(c: &mut Criterion) {
    let hash = secret::hash_password("admin-pw");
    let file = json!({"principals": [{"name": "admin", "password": hash}]}).to_string();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    std::fs::write(&path, file).unwrap();
    let mut group = c.benchmark_group("argon2");
    group.sample_size(10);
    group.bench_function("verify_password", |b| {
        b.iter_batched(
            || Arc::new(Authenticator::from_file(&path).unwrap()),
            |auth| {
                auth.authenticate(Some(&basic("admin", "admin-pw")))
                    .unwrap()
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, cached_query, first_verification);
criterion_main!(benches);

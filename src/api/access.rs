//! Which permission each endpoint needs, in one table, and the middleware
//! that authenticates a request, checks it against that table, guards
//! against cross-site requests, and writes the audit log.
//!
//! Checks that depend on the body (the table a POSTed config creates, the
//! tables a query reads) and lists that show only what the caller may read
//! are done by the handlers, with the [`Caller`] this middleware attaches.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, RawPathParams, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::RequestPartsExt;

use super::error::ApiError;
use super::AppState;
use crate::auth::{audit, AuthError, Permission, Principal};
use crate::query::error::{QueryError, ACCESS_DENIED};
use crate::query::response::BrokerResponse;

/// The authenticated caller, attached to every request past the middleware.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<Principal>);

impl Caller {
    /// Refuses with 403 unless the caller may act with `permission` on
    /// `table` (raw or typed), or on every table when `table` is `None`.
    pub fn require(&self, permission: Permission, table: Option<&str>) -> Result<(), ApiError> {
        if self.0.may(permission, table) {
            Ok(())
        } else {
            Err(denied(&self.0, permission, table))
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        // Routes outside the access table (none today) act as anonymous
        // only when authentication is off; the middleware always attaches
        // a caller when it is on.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the request reached a handler unauthenticated", &""))
    }
}

/// Pinot's 403 for a denied action.
pub fn denied(principal: &Principal, permission: Permission, table: Option<&str>) -> ApiError {
    let target = match table {
        Some(table) => format!("table `{table}`"),
        None => "every table".to_string(),
    };
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "Permission is denied for {} on {target}: principal `{}` does not hold it",
            permission.name(),
            principal.name
        ),
    )
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone (health, the console's static files).
    Public,
    /// Any authenticated caller; the handler checks the rest.
    Authenticated,
    /// `permission` on the table named by this path parameter.
    OnPathTable(Permission, &'static str),
    /// `permission` on the table named by this query parameter.
    OnQueryTable(Permission, &'static str),
    /// `permission` on some table; the handler checks which.
    Holds(Permission),
    /// `permission` on every table.
    Everywhere(Permission),
    /// Every table and every permission.
    Admin,
}

/// The rule of each route, by method and matched path. A route missing
/// here is refused to everyone but administrators.
pub fn rule(method: &Method, path: &str) -> Rule {
    use Permission::*;
    use Rule::*;
    let read = *method == Method::GET || *method == Method::HEAD;
    match (path, read) {
        ("/health" | "/" | "/console/{file}", true) => Public,
        ("/metrics", true) => Everywhere(Metrics),
        // Queries: the broker checks READ on every table the query reads.
        ("/query/sql" | "/query", _) => Authenticated,
        // Lists show only what the caller may read.
        ("/schemas" | "/tables" | "/tableConfigs", true) => Authenticated,
        ("/schemas" | "/tables" | "/tableConfigs", false) => Holds(Create),
        // Validation probes Kafka brokers named in the body.
        ("/schemas/validate" | "/tables/validate" | "/tableConfigs/validate", false) => {
            Holds(Create)
        }
        ("/schemas/{name}" | "/tables/{name}" | "/tableConfigs/{name}", true) => {
            OnPathTable(Read, "name")
        }
        ("/schemas/{name}" | "/tables/{name}", false) if *method == Method::PUT => {
            OnPathTable(Update, "name")
        }
        ("/schemas/{name}" | "/tables/{name}" | "/tableConfigs/{name}", false)
            if *method == Method::DELETE =>
        {
            OnPathTable(Delete, "name")
        }
        ("/instances" | "/instances/{name}", true) => Holds(Read),
        ("/tables/{name}/rebalance", false) => OnPathTable(Update, "name"),
        (
            "/tables/{name}/metadata"
            | "/tables/{name}/idealstate"
            | "/tables/{name}/externalview"
            | "/tables/{name}/pauseStatus"
            | "/tables/{name}/consumingSegmentsInfo"
            | "/tables/{name}/ingestionStatus",
            true,
        ) => OnPathTable(Read, "name"),
        (
            "/tables/{name}/pauseConsumption"
            | "/tables/{name}/resumeConsumption"
            | "/tables/{name}/forceCommit",
            false,
        ) => OnPathTable(Update, "name"),
        ("/tables/forceCommitStatus/{job}", true) => Holds(Update),
        ("/segments/{table}" | "/segments/{table}/{segment}/metadata", true) => {
            OnPathTable(Read, "table")
        }
        ("/segments/{table}/{segment}", false) if *method == Method::DELETE => {
            OnPathTable(Delete, "table")
        }
        ("/ingestFromFile", false) => OnQueryTable(Update, "tableNameWithType"),
        ("/connector-plugins", true) => Authenticated,
        // A connector writes table data to hosts its config names.
        _ if path == "/connectors" || path.starts_with("/connectors/") => Admin,
        _ => Admin,
    }
}

/// The middleware: cross-site guard, authentication, the route's rule,
/// then the handler; administrative actions are audited.
pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Err(err) = same_origin(&parts.method, &parts.headers) {
        return err.into_response();
    }
    let path = match parts.extract::<MatchedPath>().await {
        Ok(matched) => matched.as_str().to_string(),
        Err(_) => parts.uri.path().to_string(),
    };
    let rule = rule(&parts.method, &path);
    if rule == Rule::Public {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let principal = match &state.auth {
        None => Arc::new(Principal::anonymous()),
        Some(_) => match authenticate(&state, parts.headers.get(header::AUTHORIZATION)).await {
            Ok(principal) => principal,
            Err(err) => {
                let challenge = !script_request(&parts.headers);
                return unauthorized(err, is_query(&path), challenge);
            }
        },
    };
    let caller = Caller(principal.clone());
    let allowed = match rule {
        Rule::Public | Rule::Authenticated => Ok(()),
        Rule::Holds(permission) => {
            if principal.has(permission) {
                Ok(())
            } else {
                Err(denied(&principal, permission, None))
            }
        }
        Rule::Everywhere(permission) => caller.require(permission, None),
        Rule::Admin => {
            if principal.is_admin() {
                Ok(())
            } else {
                Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "Permission is denied: {} {} is for administrators (every table, every permission); principal `{}` is not one",
                        parts.method, path, principal.name
                    ),
                ))
            }
        }
        Rule::OnPathTable(permission, param) => {
            let params = parts.extract::<RawPathParams>().await.ok();
            let table = params.as_ref().and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == param)
                    .map(|(_, value)| value.to_string())
            });
            caller.require(permission, Some(table.as_deref().unwrap_or("")))
        }
        Rule::OnQueryTable(permission, param) => {
            let query: HashMap<String, String> =
                parts.uri.query().and_then(query_pairs).unwrap_or_default();
            match query.get(param) {
                Some(table) => caller.require(permission, Some(table)),
                // The handler answers the missing parameter.
                None => Ok(()),
            }
        }
    };
    let mutating = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !is_query(&path)
        && !path.ends_with("/validate");
    let audited = mutating.then(|| {
        (
            parts.method.to_string(),
            parts.uri.path().to_string(),
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.to_string()),
        )
    });
    let response = match allowed {
        Ok(()) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(err) => err.into_response(),
    };
    if let Some((method, uri_path, remote)) = audited {
        state.audit.record(&audit::Entry {
            time: audit::now(),
            principal: &principal.name,
            method: &method,
            path: &uri_path,
            status: response.status().as_u16(),
            remote,
        });
    }
    response
}

fn query_pairs(query: &str) -> Option<HashMap<String, String>> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(
        &format!("/?{query}").parse().ok()?,
    )
    .ok()
    .map(|q| q.0)
}

/// Checks the credentials: a cached verification at once, else Argon2 on
/// the blocking pool, a few at a time so that a flood of wrong passwords
/// cannot take every core.
async fn authenticate(
    state: &AppState,
    header: Option<&HeaderValue>,
) -> Result<Arc<Principal>, AuthError> {
    let Some(auth) = state.auth.clone() else {
        return Ok(Arc::new(Principal::anonymous()));
    };
    let header = match header {
        None => return Err(AuthError::Missing),
        Some(value) => value
            .to_str()
            .map_err(|_| AuthError::Malformed("the header is not ASCII".into()))?
            .to_string(),
    };
    if let Some(principal) = auth.cached(&header) {
        return Ok(principal);
    }
    let _permit = state.auth_slots.acquire().await;
    tokio::task::spawn_blocking(move || auth.authenticate(Some(&header)))
        .await
        .unwrap_or(Err(AuthError::BadPassword))
}

/// The broker's query endpoints, which answer in the broker's shape.
fn is_query(path: &str) -> bool {
    matches!(
        path,
        "/query/sql" | "/query" | crate::cluster::remote::QUERY_PATH
    )
}

/// Whether a page's script sent the request (`X-Requested-With:
/// XMLHttpRequest`, as the console does): it asks for credentials itself,
/// so the browser must not show its own prompt.
fn script_request(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("x-requested-with")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"XMLHttpRequest"))
}

/// 401 with, when `challenge`, the `WWW-Authenticate` header that makes
/// clients (and browsers) send credentials. Query endpoints answer with
/// the broker's response and Pinot's code 180, which Pinot's clients
/// (pinotdb) read.
fn unauthorized(err: AuthError, query: bool, challenge: bool) -> Response {
    let mut response = if query {
        let error = QueryError::new(ACCESS_DENIED, err.to_string());
        let body = serde_json::to_vec(&BrokerResponse::error(&error)).unwrap_or_default();
        let mut response = (StatusCode::UNAUTHORIZED, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    } else {
        ApiError::new(StatusCode::UNAUTHORIZED, err.to_string()).into_response()
    };
    if challenge {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"gamay\", charset=\"UTF-8\""),
        );
    }
    response
}

/// Refuses a state-changing request that a browser sent from another
/// site: its `Origin` (or `Sec-Fetch-Site`) names a site other than this
/// server. Clients that are not browsers send neither.
fn same_origin(method: &Method, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Err(cross_site(&format!("Sec-Fetch-Site: {site}")));
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null");
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    if origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
        return Err(cross_site(&format!("Origin: {origin}")));
    }
    Ok(())
}

fn cross_site(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("a state-changing request from another site ({what}) is refused; send it from the console's own origin or from a client that is not a browser"),
    )
}

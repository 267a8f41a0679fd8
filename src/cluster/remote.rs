//! Asking another node's server to run a plan: the plan and the segments
//! go in the binary encoding of `query::wire` over HTTP, and the partial
//! result comes back the same way.

use std::time::{Duration, Instant};

use crate::query::broker::ServerResponse;
use crate::query::wire::{self, ServerRequest};
use crate::query::QueryError;

/// The path servers answer plans on.
pub const QUERY_PATH: &str = "/internal/query";

/// The content type of encoded plans and answers.
pub const CONTENT_TYPE: &str = "application/x-gamay-plan";

/// Why a server gave no answer about the query itself.
#[derive(Debug)]
pub enum Failure {
    /// The server ran the query and it failed there (the query's error).
    Query(QueryError),
    /// The server could not be reached or did not answer properly: its
    /// segments may be asked of another replica.
    Unreachable(String),
}

/// An HTTP client for servers, shared by every query.
pub struct Remote {
    client: reqwest::Client,
    /// The `Authorization` header nodes present to each other.
    credentials: Option<String>,
}

impl Remote {
    pub fn new(credentials: Option<String>) -> Remote {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        Remote {
            client,
            credentials,
        }
    }

    /// Sends `request` to the server at `url` and waits for its answer
    /// until `until`.
    pub async fn ask(
        &self,
        url: &str,
        request: &ServerRequest,
        until: Instant,
    ) -> Result<ServerResponse, Failure> {
        let body = wire::encode_request(request);
        let left = until.saturating_duration_since(Instant::now());
        let mut sending = self
            .client
            .post(format!("{}{QUERY_PATH}", url.trim_end_matches('/')))
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .timeout(left.max(Duration::from_millis(1)))
            .body(body);
        if let Some(credentials) = &self.credentials {
            sending = sending.header(reqwest::header::AUTHORIZATION, credentials);
        }
        let answer = sending
            .send()
            .await
            .map_err(|err| Failure::Unreachable(format!("{url}: {err}")))?;
        let status = answer.status();
        let bytes = answer
            .bytes()
            .await
            .map_err(|err| Failure::Unreachable(format!("{url}: {err}")))?;
        if !status.is_success() {
            return Err(Failure::Unreachable(format!(
                "{url} answered {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            )));
        }
        match wire::decode_response(&bytes) {
            Ok(Ok(response)) => match wire::check_response(&request.plan, &response) {
                Ok(()) => Ok(response),
                Err(err) => Err(Failure::Unreachable(format!(
                    "{url} sent an answer that does not fit the plan: {err}"
                ))),
            },
            Ok(Err(error)) => Err(Failure::Query(error)),
            Err(err) => Err(Failure::Unreachable(format!(
                "{url} sent an answer that does not decode: {err}"
            ))),
        }
    }
}

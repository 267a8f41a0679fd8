//! Scatter and gather: how the broker reaches the servers holding a
//! table's segments. [`Scatter`] is the seam: [`Single`] asks the one
//! server of a single node; a cluster's implementation (in `cluster`)
//! picks one live replica per segment, asks those servers over the
//! network, retries what a failed server held on another replica, and
//! reports what no replica could serve.

use std::sync::Arc;

use async_trait::async_trait;

use super::broker::{QueryServer, ServerResponse};
use super::error::{QueryError, INTERNAL};
use super::exec::Deadline;
use super::plan::Plan;

/// What the servers answered for one query.
#[derive(Debug, Default)]
pub struct Gathered {
    pub responses: Vec<ServerResponse>,
    pub servers_queried: u64,
    pub servers_responded: u64,
    /// What went unanswered (segments no replica served, servers that
    /// failed), reported with a partial result; empty when complete.
    pub missing: Vec<QueryError>,
}

/// Runs a plan on every segment of some tables, each segment once.
#[async_trait]
pub trait Scatter: Send + Sync {
    /// Runs `plan` over the segments of `tables` (names with type) and
    /// gathers the answers. An error fails the whole query; segments that
    /// could not be served go in [`Gathered::missing`] instead.
    async fn scatter(
        &self,
        plan: &Arc<Plan>,
        tables: &[String],
        deadline: &Arc<Deadline>,
    ) -> Result<Gathered, QueryError>;

    /// How many servers a query would reach, for responses that count them
    /// without scattering (multi-stage queries).
    fn server_count(&self) -> u64;
}

/// The single node: one server, in this process, holding every segment.
pub struct Single(pub Arc<dyn QueryServer>);

#[async_trait]
impl Scatter for Single {
    async fn scatter(
        &self,
        plan: &Arc<Plan>,
        tables: &[String],
        deadline: &Arc<Deadline>,
    ) -> Result<Gathered, QueryError> {
        let response = ask(&*self.0, plan, tables, None, deadline).await?;
        Ok(Gathered {
            responses: vec![response],
            servers_queried: 1,
            servers_responded: 1,
            missing: Vec::new(),
        })
    }

    fn server_count(&self) -> u64 {
        1
    }
}

/// Asks one server to run `plan` on its segments of `tables` (only
/// `segments`, when given) and waits for its answer.
pub async fn ask(
    server: &dyn QueryServer,
    plan: &Arc<Plan>,
    tables: &[String],
    segments: Option<Arc<Vec<String>>>,
    deadline: &Arc<Deadline>,
) -> Result<ServerResponse, QueryError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    server.query(
        plan.clone(),
        tables.to_vec(),
        segments,
        deadline.clone(),
        Box::new(move |result| {
            let _ = sender.send(result);
        }),
    );
    match receiver.await {
        Ok(result) => result,
        Err(_) => Err(QueryError::new(
            INTERNAL,
            "the server failed while running the query; its log has the details",
        )),
    }
}

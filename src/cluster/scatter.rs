//! Scatter over the cluster: each segment of the queried tables goes to
//! one live server holding it (chosen by `replicas.rs`: as few servers as
//! cover the query, or with `balanced` routing spread over the replicas;
//! in turn, query after query), the servers run their share at once, and a server that fails or lacks
//! a segment has that share asked of another replica while the query's
//! time lasts. What no replica serves is reported, never left out
//! silently.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::remote::{Failure, Remote};
use super::replicas::{self, Selector};
use super::routing::Router;
use super::Cluster;
use crate::catalog::Catalog;
use crate::metrics::cluster::ClusterMetrics;
use crate::query::consuming;
use crate::query::error::{SERVER_NOT_RESPONDING, SERVER_SEGMENT_MISSING};
use crate::query::exec::Deadline;
use crate::query::gather::{ask, Gathered, Scatter};
use crate::query::plan::Plan;
use crate::query::wire::ServerRequest;
use crate::query::{QueryError, QueryServer};
use crate::sync::Recover;

/// Segments named in an error message before "and N more".
const NAMED: usize = 5;

/// How long a server that failed a query is asked last: until then its
/// replicas go first, so a dead server costs one query a retry rather
/// than every query until the routing drops it.
const SUSPECT_FOR: Duration = Duration::from_secs(10);

/// The cluster's scatter, for a broker.
pub struct ClusterScatter {
    router: Arc<Router>,
    /// This node's id and its own server, asked without a network hop.
    me: String,
    local: Option<Arc<dyn QueryServer>>,
    remote: Remote,
    turn: AtomicU64,
    /// Servers that failed a query lately, and until when they are asked
    /// last.
    suspects: Mutex<BTreeMap<String, Instant>>,
    metrics: ClusterMetrics,
    /// The cluster the routing is read from, for a refresh mid-query.
    cluster: Arc<Cluster>,
    /// The tables' routing settings.
    catalog: Arc<Catalog>,
}

impl ClusterScatter {
    pub fn new(
        router: Arc<Router>,
        me: String,
        local: Option<Arc<dyn QueryServer>>,
        remote: Remote,
        cluster: Arc<Cluster>,
        catalog: Arc<Catalog>,
    ) -> ClusterScatter {
        ClusterScatter {
            router,
            me,
            local,
            remote,
            turn: AtomicU64::new(0),
            suspects: Mutex::new(BTreeMap::new()),
            metrics: cluster.metrics.clone(),
            cluster,
            catalog,
        }
    }
}

#[async_trait]
impl Scatter for ClusterScatter {
    async fn scatter(
        &self,
        plan: &Arc<Plan>,
        tables: &[String],
        deadline: &Arc<Deadline>,
    ) -> Result<Gathered, QueryError> {
        let routing = self.router.current();
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) as usize;
        let suspects: BTreeSet<String> = {
            let now = Instant::now();
            let mut suspects = self.suspects.locked();
            suspects.retain(|_, until| *until > now);
            suspects.keys().cloned().collect()
        };
        // Segment → its holders in the order to try them. An upsert or
        // dedup table's stream partition goes to one consumer whole (its
        // committed segments and its rows past them, under its token):
        // their valid docs depend on one another.
        let mut sealed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for table in tables {
            let whole = self.by_partition(table);
            let Some(segments) = routing.tables.get(table) else {
                continue;
            };
            for (segment, holders) in segments {
                let grouped = whole
                    .then(|| routing.partition_of.get(table)?.get(segment))
                    .flatten()
                    .and_then(|partition| {
                        let route = routing.partitions.get(table)?.get(partition)?;
                        Some(consuming::token(table, *partition, route.from))
                    });
                match grouped {
                    Some(token) => groups.entry(token).or_default().push(segment.clone()),
                    None => {
                        sealed.insert(segment.clone(), holders.clone());
                    }
                }
            }
        }
        let mut pending = replicas::order(sealed, &suspects, turn, self.selector(tables));
        for table in tables {
            // Each stream partition's rows past its committed segments,
            // from one of its consumers.
            let Some(partitions) = routing.partitions.get(table) else {
                continue;
            };
            // The lease holder first, the other consumers when it fails.
            for (partition, route) in partitions {
                let name = consuming::token(table, *partition, route.from);
                let mut order = route.servers.clone();
                order.sort_by_key(|holder| suspects.contains(holder));
                if let Some(group) = groups.get_mut(&name) {
                    group.push(name.clone());
                }
                pending.insert(name, order);
            }
        }
        let members = |unit: &String| -> Vec<String> {
            groups
                .get(unit)
                .cloned()
                .unwrap_or_else(|| vec![unit.clone()])
        };
        let unit_of: BTreeMap<&String, &String> = groups
            .iter()
            .flat_map(|(unit, names)| names.iter().map(move |name| (name, unit)))
            .collect();
        let mut gathered = Gathered::default();
        let mut queried: BTreeSet<String> = BTreeSet::new();
        let mut responded: BTreeSet<String> = BTreeSet::new();
        let mut unserved: Vec<String> = Vec::new();
        let mut failures: Vec<String> = Vec::new();
        let mut tried: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut refreshed = false;
        while !pending.is_empty() {
            // A segment every known holder lacked may have moved, or been
            // deleted, since the routing was read: read it again, once.
            let stale = pending
                .iter()
                .any(|(segment, holders)| holders.is_empty() && tried.contains_key(segment));
            if stale && !refreshed {
                refreshed = true;
                if let Err(err) = self.router.refresh(&self.cluster).await {
                    tracing::warn!(error = %err, "cannot refresh the routing mid-query");
                }
            }
            // Each pending segment to its next untried holder.
            let mut shares: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (segment, holders) in std::mem::take(&mut pending) {
                let mut holders = holders;
                if holders.is_empty() {
                    // The routing may have moved on since the query began
                    // (a segment that just moved answers missing where it
                    // was): its newer holders get a turn too.
                    holders = self.newer_holders(tables, &segment, tried.get(&segment));
                }
                if holders.is_empty()
                    && tried.contains_key(&segment)
                    && consuming::parse(&segment).is_none()
                    && self.unrouted(tables, &segment)
                {
                    // Deleted while the query ran: no longer the table's.
                    continue;
                }
                if holders.is_empty() {
                    unserved.extend(members(&segment));
                    continue;
                }
                let server = holders.remove(0);
                tried
                    .entry(segment.clone())
                    .or_default()
                    .insert(server.clone());
                shares.entry(server).or_default().push(segment.clone());
                pending.insert(segment, holders);
            }
            if shares.is_empty() {
                break;
            }
            let named: BTreeMap<&String, Vec<String>> = shares
                .iter()
                .map(|(server, units)| (server, units.iter().flat_map(&members).collect()))
                .collect();
            let asks = named.iter().map(|(server, segments)| {
                queried.insert((*server).clone());
                self.timed_ask(&routing.servers, server, plan, tables, segments, deadline)
            });
            let answers = futures_util::future::join_all(asks).await;
            let mut retry: BTreeSet<String> = BTreeSet::new();
            for ((server, segments), answer) in shares.iter().zip(answers) {
                match answer {
                    Ok(response) => {
                        responded.insert(server.clone());
                        // A unit with any part missing is asked again whole
                        // (a server serves a group whole or not at all).
                        retry.extend(response.missing.iter().map(|name| {
                            unit_of
                                .get(name)
                                .map_or_else(|| name.clone(), |unit| (*unit).clone())
                        }));
                        let served = segments.iter().filter(|segment| !retry.contains(*segment));
                        for segment in served {
                            pending.remove(segment);
                        }
                        gathered.responses.push(response);
                    }
                    Err(Failure::Query(error)) => return Err(error),
                    Err(Failure::Unreachable(reason)) => {
                        tracing::warn!(server = %server, error = %reason, "a server failed a query; asking other replicas");
                        self.suspects
                            .locked()
                            .insert(server.clone(), Instant::now() + SUSPECT_FOR);
                        failures.push(reason);
                        retry.extend(segments.iter().cloned());
                    }
                }
            }
            pending.retain(|segment, _| retry.contains(segment));
            self.metrics.retries.inc_by(pending.len() as u64);
            if deadline.check().is_err() {
                return Err(plan.options.timeout_error());
            }
        }
        gathered.servers_queried = queried.len() as u64;
        self.metrics.scattered.inc();
        self.metrics.servers_per_query.observe(queried.len() as f64);
        self.metrics.segments_missing.inc_by(unserved.len() as u64);
        gathered.servers_responded = responded.len() as u64;
        if !unserved.is_empty() {
            unserved.sort();
            let named: Vec<&str> = unserved.iter().take(NAMED).map(String::as_str).collect();
            let more = unserved.len().saturating_sub(NAMED);
            gathered.missing.push(QueryError::new(
                SERVER_SEGMENT_MISSING,
                format!(
                    "{} segment(s) of {} could not be served: no live replica holds them ({}{}); the result leaves their rows out",
                    unserved.len(),
                    tables.join(", "),
                    named.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ),
            ));
        }
        for failure in failures {
            gathered
                .missing
                .push(QueryError::new(SERVER_NOT_RESPONDING, failure));
        }
        // A failure whose segments another replica served left nothing
        // out: it is only worth a log line.
        if unserved.is_empty() {
            gathered
                .missing
                .retain(|error| error.code != SERVER_NOT_RESPONDING);
        }
        Ok(gathered)
    }

    fn server_count(&self) -> u64 {
        self.router.current().servers.len() as u64
    }
}

impl ClusterScatter {
    /// Whether `table` is served a stream partition at a time, whole (an
    /// upsert or dedup table).
    fn by_partition(&self, table: &str) -> bool {
        self.catalog
            .table(table)
            .is_some_and(|entry| super::controller::by_partition(&entry.config))
    }

    /// How the segments of `tables` are spread over their replicas: spread
    /// when any of them asks for `balanced` routing, the fewest servers
    /// otherwise.
    fn selector(&self, tables: &[String]) -> Selector {
        let balanced = tables.iter().any(|table| {
            self.catalog.table(table).is_some_and(|entry| {
                let routing = entry.config.routing.as_ref();
                let named = routing.and_then(|routing| routing.instance_selector_type.as_deref());
                Selector::of(named) == Selector::Balanced
            })
        });
        if balanced {
            Selector::Balanced
        } else {
            Selector::FewestServers
        }
    }

    /// [`Self::ask_one`], its time recorded under the server's id.
    async fn timed_ask(
        &self,
        servers: &BTreeMap<String, String>,
        server: &str,
        plan: &Arc<Plan>,
        tables: &[String],
        segments: &[String],
        deadline: &Arc<Deadline>,
    ) -> Result<crate::query::broker::ServerResponse, Failure> {
        let started = Instant::now();
        let answer = self
            .ask_one(servers, server, plan, tables, segments, deadline)
            .await;
        self.metrics.server_request(server, started.elapsed());
        answer
    }

    /// Whether the latest routing has no place for `segment` in `tables`.
    fn unrouted(&self, tables: &[String], segment: &str) -> bool {
        let routing = self.router.current();
        tables.iter().all(|table| {
            routing
                .tables
                .get(table)
                .is_none_or(|segments| !segments.contains_key(segment))
        })
    }

    /// The holders the latest routing gives `segment` that were not tried.
    fn newer_holders(
        &self,
        tables: &[String],
        segment: &str,
        tried: Option<&BTreeSet<String>>,
    ) -> Vec<String> {
        let routing = self.router.current();
        let mut out = Vec::new();
        for table in tables {
            let holders = routing
                .tables
                .get(table)
                .and_then(|segments| segments.get(segment));
            for holder in holders.into_iter().flatten() {
                if tried.is_none_or(|tried| !tried.contains(holder)) && !out.contains(holder) {
                    out.push(holder.clone());
                }
            }
        }
        out
    }

    async fn ask_one(
        &self,
        servers: &BTreeMap<String, String>,
        server: &str,
        plan: &Arc<Plan>,
        tables: &[String],
        segments: &[String],
        deadline: &Arc<Deadline>,
    ) -> Result<crate::query::broker::ServerResponse, Failure> {
        if server == self.me {
            if let Some(local) = &self.local {
                return ask(
                    local.as_ref(),
                    plan,
                    tables,
                    Some(Arc::new(segments.to_vec())),
                    deadline,
                )
                .await
                .map_err(Failure::Query);
            }
        }
        let latest = self.router.current();
        let Some(url) = servers.get(server).or_else(|| latest.servers.get(server)) else {
            return Err(Failure::Unreachable(format!(
                "server {server} is no longer live"
            )));
        };
        let left = deadline
            .at
            .saturating_duration_since(std::time::Instant::now());
        let request = ServerRequest {
            plan: plan.as_ref().clone(),
            tables: tables.to_vec(),
            segments: Some(segments.to_vec()),
            timeout_ms: left.as_millis() as u64,
        };
        self.remote.ask(url, &request, deadline.at).await
    }
}

//! The broker: plans a query, scatters it to the servers holding the
//! table's segments, gathers their partial results, and reduces them into
//! Pinot's response.
//!
//! [`QueryServer`] is the broker↔server boundary. [`LocalServer`] runs
//! segments of this process on a CPU pool of its own (rayon), apart from
//! the HTTP runtime, one task per segment, except those a star-tree answers
//! (a walk of pre-aggregated records, done in place); a remote server would implement
//! the same trait over the network.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::{QueryError, ACCESS_DENIED, INTERNAL, TABLE_DOES_NOT_EXIST};
use super::exec::{
    execute_in_place, result_rows_error, CancelOnDrop, Deadline, Partial, RunningQueries,
    SegmentStats,
};
use super::explain::{TableIndexes, TreeNames};
use super::gather::Scatter;
use super::multistage::{Admit, MultiStage};
use super::options::QueryOptions;
use super::plan::Plan;
use super::plan_cache::{PlanCache, Planned, Stamp};
use super::quota::Quotas;
use super::reduce;
use super::response::{BrokerResponse, ResultTable};
use super::result_cache::{Kept, ResultCache, SegmentKey};
use super::source::{table_sources, SegmentSource};
use super::sql::{self, Route, TableColumns};
use super::workload::job::{Pools, SegmentResult};
use super::workload::{Lane, WorkloadConfig};
use crate::auth::Principal;
use crate::catalog::names::did_you_mean;
use crate::catalog::{Catalog, TableType};
use crate::query::error::ExecError;
use crate::segment::SegmentSpec;
use crate::server::Server;

/// What one server answers for one query.
#[derive(Debug, Default)]
pub struct ServerResponse {
    pub partial: Option<Partial>,
    pub segments_queried: u64,
    pub segments_processed: u64,
    pub segments_matched: u64,
    pub consuming_queried: u64,
    pub min_consuming_freshness_ms: Option<i64>,
    pub total_docs: u64,
    pub docs_scanned: u64,
    pub entries_in_filter: u64,
    pub entries_post_filter: u64,
    pub groups_limit_reached: bool,
    /// Segments the broker named that this server does not hold (not
    /// loaded yet, or moved away): the broker asks another replica.
    pub missing: Vec<String>,
}

impl ServerResponse {
    /// Counts one executed segment.
    fn add_segment(&mut self, stats: &SegmentStats) {
        self.segments_processed += 1;
        self.segments_matched += (stats.docs_scanned > 0) as u64;
        self.total_docs += stats.total_docs;
        self.docs_scanned += stats.docs_scanned;
        self.entries_in_filter += stats.entries_in_filter;
        self.entries_post_filter += stats.entries_post_filter;
        self.groups_limit_reached |= stats.groups_limit_reached;
        if let Some(since) = stats.consuming_since {
            self.consuming_queried += 1;
            self.note_freshness(since);
        }
    }

    /// Adds another server's statistics (not its partial result).
    fn add_server(&mut self, other: &ServerResponse) {
        self.segments_queried += other.segments_queried;
        self.segments_processed += other.segments_processed;
        self.segments_matched += other.segments_matched;
        self.consuming_queried += other.consuming_queried;
        self.total_docs += other.total_docs;
        self.docs_scanned += other.docs_scanned;
        self.entries_in_filter += other.entries_in_filter;
        self.entries_post_filter += other.entries_post_filter;
        self.groups_limit_reached |= other.groups_limit_reached;
        if let Some(since) = other.min_consuming_freshness_ms {
            self.note_freshness(since);
        }
    }

    fn note_freshness(&mut self, since: i64) {
        self.min_consuming_freshness_ms = Some(
            self.min_consuming_freshness_ms
                .map_or(since, |min| min.min(since)),
        );
    }
}

/// Called once with a server's answer.
pub type Reply = Box<dyn FnOnce(Result<ServerResponse, QueryError>) + Send>;

/// A server that holds segments and runs plans on them.
pub trait QueryServer: Send + Sync {
    /// Runs `plan` on the server's segments of `tables` (names with type),
    /// only those named in `segments` when given, calling `reply` when
    /// done. Must stop early once `deadline` passes. Named segments the
    /// server does not hold are listed in the reply's `missing`.
    fn query(
        &self,
        plan: Arc<Plan>,
        tables: Vec<String>,
        segments: Option<Arc<Vec<String>>>,
        deadline: Arc<Deadline>,
        reply: Reply,
    );
}

/// Segments of this process.
pub struct LocalServer {
    server: Arc<Server>,
    pools: Arc<Pools>,
    cache: Arc<ResultCache>,
}

impl LocalServer {
    pub fn new(
        server: Arc<Server>,
        threads: usize,
        workload: &WorkloadConfig,
    ) -> Result<LocalServer, rayon::ThreadPoolBuildError> {
        Ok(LocalServer {
            server,
            pools: Arc::new(Pools::new(threads, workload)?),
            cache: Arc::new(ResultCache::new(workload.result_cache_bytes)),
        })
    }

    /// The answers this server keeps for sealed segments.
    pub fn result_cache(&self) -> Arc<ResultCache> {
        self.cache.clone()
    }

    /// The segments of `tables` to run, and those of `wanted` not found.
    fn segments(
        &self,
        tables: &[String],
        wanted: Option<&[String]>,
        every_version: bool,
    ) -> (Vec<Arc<dyn SegmentSource>>, Vec<String>) {
        let mut out: Vec<Arc<dyn SegmentSource>> = Vec::new();
        for table in tables {
            if let Some(data) = self.server.table(table) {
                out.extend(table_sources(&data, every_version));
            }
        }
        let Some(wanted) = wanted else {
            return (out, Vec::new());
        };
        // Named segments are sealed ones; a stream partition's rows past
        // its checkpoint are asked for by token (`consuming.rs`).
        let mut named: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut chains: Vec<(&String, Vec<String>)> = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        for name in wanted {
            let Some((table, partition, from)) = super::consuming::parse(name) else {
                named.insert(name);
                continue;
            };
            let chain = tables
                .iter()
                .filter(|held| held.as_str() == table)
                .find_map(|table| self.server.table(table))
                .and_then(|data| super::consuming::resolve(&data.live(), partition, from));
            match chain {
                Some(chain) => chains.push((name, chain)),
                None => missing.push(name.clone()),
            }
        }
        // The chains were read from a later snapshot than the sources: a
        // chain the sources do not hold whole is not served at all.
        let held: std::collections::HashSet<&str> =
            out.iter().map(|segment| segment.name()).collect();
        let mut served_chains: Vec<(&String, Vec<String>)> = Vec::new();
        for (token, chain) in chains {
            if chain.iter().all(|name| held.contains(name.as_str())) {
                served_chains.push((token, chain));
            } else {
                missing.push(token.clone());
            }
        }
        drop(held);
        let found: std::collections::HashSet<&str> = out
            .iter()
            .filter(|segment| segment.consuming_since().is_none())
            .map(|segment| segment.name())
            .filter(|name| named.contains(name))
            .collect();
        missing.extend(
            named
                .iter()
                .filter(|name| !found.contains(**name))
                .map(|name| name.to_string()),
        );
        drop(found);
        let withheld = self.withheld(tables, wanted, &missing);
        missing.extend(withheld.iter().cloned());
        let mut resolved: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (token, chain) in served_chains {
            if !withheld.contains(token) {
                resolved.extend(chain);
            }
        }
        out.retain(|segment| {
            resolved.contains(segment.name())
                || (segment.consuming_since().is_none()
                    && named.contains(segment.name())
                    && !withheld.contains(segment.name()))
        });
        missing.sort();
        missing.dedup();
        (out, missing)
    }

    /// The names of `wanted` not to serve because part of their partition
    /// is `missing` here: an upsert or dedup table is served a stream
    /// partition at a time, whole, since the valid docs of its segments
    /// depend on one another (a broker asks another consumer for the whole
    /// partition). A missing segment name names no partition, so it
    /// withholds every such table's segments.
    fn withheld(
        &self,
        tables: &[String],
        wanted: &[String],
        missing: &[String],
    ) -> std::collections::HashSet<String> {
        let mut out = std::collections::HashSet::new();
        if missing.is_empty() {
            return out;
        }
        let unknown = missing
            .iter()
            .any(|name| super::consuming::parse(name).is_none());
        for table in tables {
            let Some(data) = self.server.table(table) else {
                continue;
            };
            if data.upsert().is_none() {
                continue;
            }
            let live = data.live();
            let partition_of = |name: &str| -> Option<i32> {
                if let Some((of, partition, _)) = super::consuming::parse(name) {
                    return (of == table).then_some(partition);
                }
                live.sealed
                    .iter()
                    .find(|segment| segment.name() == name)
                    .and_then(|segment| segment.meta().stream.as_ref())
                    .map(|stream| stream.partition)
            };
            let broken: std::collections::HashSet<i32> = missing
                .iter()
                .filter_map(|name| partition_of(name))
                .collect();
            for name in wanted {
                let Some(partition) = partition_of(name) else {
                    continue;
                };
                if unknown || broken.contains(&partition) {
                    out.insert(name.clone());
                }
            }
        }
        out
    }
}

impl QueryServer for LocalServer {
    fn query(
        &self,
        plan: Arc<Plan>,
        tables: Vec<String>,
        segments: Option<Arc<Vec<String>>>,
        deadline: Arc<Deadline>,
        reply: Reply,
    ) {
        let (segments, missing) = self.segments(
            &tables,
            segments.as_deref().map(Vec::as_slice),
            plan.options.skip_upsert,
        );
        let reply: Reply = if missing.is_empty() {
            reply
        } else {
            Box::new(move |result: Result<ServerResponse, QueryError>| {
                reply(result.map(|mut response| {
                    response.missing = missing;
                    response
                }))
            })
        };
        // Segments a star-tree answers are done here, on the caller's
        // thread: a hand-off to the pool would cost more than the walk.
        // So are answers kept from before. Answers stay in segment order,
        // so partial sums add up the same way whichever were kept.
        let cache = self.cache.lookup(&plan);
        let mut answers: Vec<Option<Answer>> = segments
            .iter()
            .map(|segment| execute_in_place(&plan, segment.as_ref(), &deadline).map(Answer::Ran))
            .collect();
        // The sealed segments left, whose answers may be kept.
        let mut cached: Vec<usize> = Vec::new();
        let mut keys: Vec<SegmentKey> = Vec::new();
        if let Some(cache) = &cache {
            for (at, segment) in segments.iter().enumerate() {
                if answers[at].is_some() {
                    continue;
                }
                if let Some(key) = cache.segment_key(segment.as_ref()) {
                    cached.push(at);
                    keys.push(key);
                }
            }
        }
        let mut set_done = false;
        if let (Some(cache), true) = (&cache, cached.len() > 1) {
            if let Some(set) = cache.get_set(&keys) {
                cover(&mut answers, &cached, set);
                set_done = true;
            }
        }
        if let (Some(cache), false) = (&cache, set_done) {
            for (at, key) in cached.iter().zip(&keys) {
                answers[*at] = cache.get(key).map(Answer::Kept);
            }
        }
        // Kept answers count the rows they read against `maxRowsScanned`
        // as when run, so a query past it fails every time (`gather`
        // answers the failure).
        let scanned = answers.iter().flatten().all(|answer| match answer {
            Answer::Kept(kept) => kept
                .stats
                .iter()
                .filter(|stats| !stats.star_tree)
                .all(|stats| deadline.scanned(stats.docs_scanned).is_ok()),
            _ => true,
        });
        if !scanned {
            return reply(gather(&plan, Vec::new(), &deadline));
        }
        let rest_at: Vec<usize> = (0..answers.len())
            .filter(|at| answers[*at].is_none())
            .collect();
        let (job_plan, job_deadline, put) = (plan.clone(), deadline.clone(), cache.clone());
        // The key of each segment to run, where its answer may be kept.
        let rest_keys: Vec<Option<SegmentKey>> = rest_at
            .iter()
            .map(|at| {
                let index = cached.binary_search(at).ok()?;
                Some(keys[index].clone())
            })
            .collect();
        let finish = move |mut answers: Vec<Option<Answer>>| {
            if let (Some(cache), false, true) = (&cache, set_done, cached.len() > 1) {
                if let Some(set) = merge_kept(&plan, &answers, &cached) {
                    cover(&mut answers, &cached, cache.put_set(keys, set));
                }
            }
            reply(gather(
                &plan,
                answers.into_iter().flatten().collect(),
                &deadline,
            ))
        };
        if rest_at.is_empty() {
            return finish(answers);
        }
        let rest: Vec<Arc<dyn SegmentSource>> =
            rest_at.iter().map(|at| segments[*at].clone()).collect();

        let background = job_plan.options.secondary_workload;
        self.pools.run(
            job_plan,
            rest,
            job_deadline,
            background,
            Box::new(move |done| {
                for ((at, key), result) in rest_at.into_iter().zip(rest_keys).zip(done) {
                    if let (Some(cache), Some(key), Ok(answer)) = (&put, &key, &result) {
                        cache.put(key, answer);
                    }
                    answers[at] = Some(Answer::Ran(result));
                }
                finish(answers)
            }),
        );
    }
}

/// One segment's answer: run now, or kept by the result cache (for it
/// alone, or for it and others merged), or part of another's kept set.
enum Answer {
    Ran(SegmentResult),
    Kept(Arc<Kept>),
    Covered,
}

/// Puts `set`, the merged answer of the segments at `cached`, in the
/// first one's place, and marks the others covered by it.
fn cover(answers: &mut [Option<Answer>], cached: &[usize], set: Arc<Kept>) {
    for (index, at) in cached.iter().enumerate() {
        answers[*at] = Some(if index == 0 {
            Answer::Kept(set.clone())
        } else {
            Answer::Covered
        });
    }
}

/// The answers at `cached` merged in order, each segment's statistics
/// kept; `None` if any of them failed.
fn merge_kept(plan: &Plan, answers: &[Option<Answer>], cached: &[usize]) -> Option<Kept> {
    let mut parts = Vec::with_capacity(cached.len());
    let mut stats = Vec::with_capacity(cached.len());
    for at in cached {
        match answers[*at].as_ref()? {
            Answer::Ran(Ok((partial, segment_stats))) => {
                parts.push(Cow::Borrowed(partial));
                stats.push(*segment_stats);
            }
            Answer::Kept(kept) => {
                parts.push(Cow::Borrowed(&kept.partial));
                stats.extend_from_slice(&kept.stats);
            }
            Answer::Ran(Err(_)) | Answer::Covered => return None,
        }
    }
    let partial = reduce::merge_parts(plan, parts).ok()?;
    Some(Kept { partial, stats })
}

/// Merges one server's per-segment answers into its response.
fn gather(
    plan: &Plan,
    mut answers: Vec<Answer>,
    deadline: &Deadline,
) -> Result<ServerResponse, QueryError> {
    // A limit a task found passed is the reason the others stopped too.
    if let Some(error) = deadline.failure() {
        return Err(error);
    }
    let mut response = ServerResponse {
        segments_queried: answers.len() as u64,
        ..ServerResponse::default()
    };
    for answer in &answers {
        match answer {
            Answer::Ran(Ok((_, stats))) => response.add_segment(stats),
            Answer::Ran(Err(ExecError::TimedOut)) => return Err(plan.options.timeout_error()),
            Answer::Ran(Err(err)) => return Err(QueryError::execution(err.to_string())),
            Answer::Kept(kept) => kept
                .stats
                .iter()
                .for_each(|stats| response.add_segment(stats)),
            Answer::Covered => {}
        }
    }
    // Partials run now are moved into the merge; kept ones are borrowed.
    let parts: Vec<Cow<'_, Partial>> = answers
        .iter_mut()
        .filter_map(|answer| match answer {
            Answer::Ran(Ok((partial, _))) => Some(Cow::Owned(std::mem::replace(
                partial,
                Partial::Rows(Vec::new()),
            ))),
            Answer::Kept(kept) => Some(Cow::Borrowed(&kept.partial)),
            Answer::Ran(Err(_)) | Answer::Covered => None,
        })
        .collect();
    match reduce::merge_parts(plan, parts) {
        Ok(partial) => {
            response.partial = Some(partial);
            Ok(response)
        }
        Err(err) => Err(QueryError::new(INTERNAL, err.to_string())),
    }
}

/// Pinot's 180 unless `reader` may read `table`.
fn may_read(reader: &Principal, table: &str) -> Result<(), QueryError> {
    if reader.sees(table) && reader.has(crate::auth::Permission::Read) {
        Ok(())
    } else {
        Err(QueryError::new(
            ACCESS_DENIED,
            format!(
                "Permission is denied for READ on table `{table}`: principal `{}` does not hold it",
                reader.name
            ),
        ))
    }
}

/// Plans and runs queries for the HTTP API.
pub struct Broker {
    catalog: Arc<Catalog>,
    scatter: Arc<dyn Scatter>,
    multistage: Arc<MultiStage>,
    plans: PlanCache,
    quotas: Arc<Quotas>,
    running: RunningQueries,
    /// Slots of single-table queries.
    interactive: Lane,
    /// Slots of multi-stage and secondary queries.
    background: Lane,
}

impl Broker {
    pub fn new(
        catalog: Arc<Catalog>,
        scatter: Arc<dyn Scatter>,
        multistage: Arc<MultiStage>,
        workload: &WorkloadConfig,
    ) -> Broker {
        Broker {
            catalog,
            scatter,
            multistage,
            plans: PlanCache::default(),
            quotas: Arc::default(),
            running: RunningQueries::default(),
            interactive: Lane::new(
                "interactive",
                "--max-running-queries",
                workload.max_running,
                workload.max_queued,
            ),
            background: Lane::new(
                "background",
                "--max-background-queries",
                workload.max_background,
                workload.max_queued,
            ),
        }
    }

    /// Each lane's name and its count of waiting queries.
    pub fn queued(&self) -> Vec<(&'static str, Arc<std::sync::atomic::AtomicUsize>)> {
        [&self.interactive, &self.background]
            .into_iter()
            .map(|lane| (lane.name(), lane.queued_counter()))
            .collect()
    }

    /// Counts the queries whose work is still in flight, on any core.
    pub fn running(&self) -> RunningQueries {
        self.running.clone()
    }

    /// Runs `sql` with `options` (from the request) for `reader`, who must
    /// be allowed to read every table the query reads, and returns Pinot's
    /// response; errors come back as the response's `exceptions`.
    pub async fn run(
        &self,
        sql: &str,
        options: QueryOptions,
        reader: &Principal,
    ) -> (BrokerResponse, Option<QueryError>) {
        let started = Instant::now();
        let (mut response, error) = match self.try_run(sql, options, reader, started).await {
            Ok(response) => (response, None),
            Err(error) => (BrokerResponse::error(&error), Some(error)),
        };
        response.time_used_ms = started.elapsed().as_millis() as u64;
        (response, error)
    }

    async fn try_run(
        &self,
        sql: &str,
        options: QueryOptions,
        reader: &Principal,
        started: Instant,
    ) -> Result<BrokerResponse, QueryError> {
        if let Some(planned) = self.plans.get(sql, &options, &self.catalog) {
            may_read(reader, &planned.stamp.name)?;
            self.quotas
                .admit(&planned.stamp.name, &planned.stamp.entries)?;
            return self.execute(&planned.plan, &planned.tables, started).await;
        }
        let request_options = options.clone();
        let mut options = options;
        let (query, explain) = match sql::parse(sql, &mut options)? {
            Route::Single { query, explain } => (query, explain),
            Route::MultiStage { sql } => {
                let slot = self.background.enter(started + options.timeout()).await?;
                let deadline = Arc::new(Deadline::tracked(&options, started, &self.running, slot));
                let _cancel = CancelOnDrop(deadline.clone());
                let visible = |table: &str| may_read(reader, table).is_ok();
                let (quotas, catalog) = (self.quotas.clone(), self.catalog.clone());
                let admit: Admit =
                    Arc::new(move |table| quotas.admit(table, &catalog.tables_named(table)));
                let table = self
                    .multistage
                    .run(&sql, &options, deadline, &visible, admit)
                    .await?;
                return Ok(BrokerResponse::multistage(
                    table,
                    self.scatter.server_count(),
                ));
            }
        };
        let name = sql::table_name(&query)?;
        may_read(reader, &name)?;
        let (columns, tables, indexes, stamp) = self.table(&name, reader)?;
        self.quotas.admit(&name, &stamp.entries)?;
        let plan = Arc::new(sql::plan(&query, &columns, options)?);
        if explain {
            let mut indexes = indexes;
            (indexes.star_trees, indexes.time_column) = self.star_trees(&name);
            return Ok(BrokerResponse::explain(&super::explain::explain(
                &plan, &indexes,
            )));
        }
        let planned = Arc::new(Planned {
            plan,
            tables,
            stamp,
        });
        self.plans.put(sql, request_options, planned.clone());
        self.execute(&planned.plan, &planned.tables, started).await
    }

    /// Runs a broker's share of a query on `server` (this node's): `plan`
    /// on `segments` of `tables`, within `timeout` (what is left of the
    /// query's time), holding a slot of the query's lane like any query
    /// here.
    pub async fn run_share(
        &self,
        server: &dyn QueryServer,
        plan: Plan,
        tables: &[String],
        segments: Option<Vec<String>>,
        timeout: Duration,
    ) -> Result<ServerResponse, QueryError> {
        let started = Instant::now();
        let mut plan = plan;
        plan.options.timeout_ms = timeout.as_millis() as u64;
        let plan = Arc::new(plan);
        let lane = if plan.options.secondary_workload {
            &self.background
        } else {
            &self.interactive
        };
        let slot = lane.enter(started + timeout).await?;
        let deadline = Arc::new(Deadline::tracked(
            &plan.options,
            started,
            &self.running,
            slot,
        ));
        let _cancel = CancelOnDrop(deadline.clone());
        super::gather::ask(server, &plan, tables, segments.map(Arc::new), &deadline).await
    }

    /// Scatters `plan` to the servers and gathers their answers.
    async fn execute(
        &self,
        plan: &Arc<Plan>,
        tables: &[String],
        started: Instant,
    ) -> Result<BrokerResponse, QueryError> {
        // A secondary query starts in the background lane; any other moves
        // there if it works long enough (`workload::job`).
        let lane = if plan.options.secondary_workload {
            &self.background
        } else {
            &self.interactive
        };
        let slot = lane.enter(started + plan.options.timeout()).await?;
        let deadline = Arc::new(Deadline::tracked(
            &plan.options,
            started,
            &self.running,
            slot,
        ));
        // A caller that goes away stops the servers' work too.
        let _cancel = CancelOnDrop(deadline.clone());
        let gathered = match tokio::time::timeout_at(
            (deadline.at + Duration::from_millis(5)).into(),
            self.scatter.scatter(plan, tables, &deadline),
        )
        .await
        {
            Ok(result) => result?,
            Err(_) => {
                deadline.cancel();
                return Err(plan.options.timeout_error());
            }
        };
        let responses = gathered.responses;
        let mut merged = ServerResponse::default();
        let mut partials = Vec::new();
        for response in responses {
            merged.add_server(&response);
            partials.extend(response.partial);
        }
        let partial = reduce::merge(plan, partials)
            .map_err(|err| QueryError::new(INTERNAL, err.to_string()))?;
        let rows =
            reduce::finish(plan, partial).map_err(|err| QueryError::execution(err.to_string()))?;
        if rows.len() as u64 > plan.options.max_result_rows {
            return Err(result_rows_error(plan.options.max_result_rows));
        }
        let table = ResultTable {
            columns: plan.output.iter().map(|o| (o.name.clone(), o.ty)).collect(),
            rows,
        };
        let mut response = BrokerResponse::success(table, &merged, gathered.servers_queried);
        response.num_servers_responded = gathered.servers_responded;
        if !gathered.missing.is_empty() {
            response.partial_result = true;
            response.exceptions = gathered
                .missing
                .iter()
                .map(|error| super::response::Exception {
                    error_code: error.code,
                    message: error.message.clone(),
                })
                .collect();
        }
        Ok(response)
    }

    /// The star-trees a table's segments are built with (dimensions, stored
    /// `FUNCTION__column` metrics), and its time column.
    fn star_trees(&self, name: &str) -> (Vec<TreeNames>, Option<String>) {
        let mut trees = Vec::new();
        let mut time_column = None;
        for entry in self.catalog.tables_named(name) {
            let Some(schema) = self.catalog.schema_for_table(&entry.config) else {
                continue;
            };
            let spec = SegmentSpec::new(&schema.schema, &entry.config);
            for tree in &spec.star_trees {
                trees.push((
                    tree.dimensions
                        .iter()
                        .map(|index| spec.columns[*index].name.clone())
                        .collect(),
                    tree.pair_names(&spec.columns),
                ));
            }
            time_column = time_column.or(entry.config.segments_config.time_column_name.clone());
        }
        (trees, time_column)
    }

    /// The queried table's columns, the typed tables holding its data, its
    /// indexes, and the catalog entries they come from.
    fn table(
        &self,
        name: &str,
        reader: &Principal,
    ) -> Result<(TableColumns, Vec<String>, TableIndexes, Stamp), QueryError> {
        let entries = self.catalog.tables_named(name);
        if entries.is_empty() {
            let mut known = self.catalog.table_names(None);
            known.retain(|table| reader.sees(table));
            return Err(QueryError::new(
                TABLE_DOES_NOT_EXIST,
                format!(
                    "table {name} does not exist{}",
                    did_you_mean(name, known.iter().map(String::as_str))
                ),
            ));
        }
        let raw = entries[0].config.raw_name().to_string();
        let schema_name = entries[0]
            .config
            .segments_config
            .schema_name
            .clone()
            .unwrap_or_else(|| raw.clone());
        let schema = self.catalog.schema(&schema_name).ok_or_else(|| {
            QueryError::new(
                TABLE_DOES_NOT_EXIST,
                format!("table {name} has no schema named {schema_name}"),
            )
        })?;
        let columns = TableColumns::of_schema(&raw, &schema.schema);
        let tables = entries
            .iter()
            .map(|entry| {
                let table_type: TableType = entry.config.table_type;
                table_type.with_type(&raw)
            })
            .collect();
        let mut indexes = TableIndexes::default();
        for entry in &entries {
            let config = &entry.config.table_index_config;
            indexes.sorted = indexes
                .sorted
                .or_else(|| config.sorted_column.first().cloned());
            indexes
                .inverted
                .extend(config.inverted_index_columns.iter().cloned());
            indexes
                .range
                .extend(config.range_index_columns.iter().cloned());
            indexes
                .bloom
                .extend(config.bloom_filter_columns.iter().cloned());
            indexes
                .bloom
                .extend(config.bloom_filter_configs.keys().cloned());
        }
        let stamp = Stamp {
            name: name.to_string(),
            entries,
            schema_name,
            schema,
        };
        Ok((columns, tables, indexes, stamp))
    }
}

//! The multi-stage engine: queries outside the single-table subset (joins,
//! subqueries, window functions, CTEs, set operations, and anything sent to
//! `POST /query`) run on DataFusion over the same segments, through
//! [`provider::SegmentTable`]. It runs on a Tokio runtime of its own, so
//! long analytical queries do not hold up the HTTP workers. A query stops
//! at its deadline or when its caller goes away: the task is aborted, and
//! every operator checks the query's [`Deadline`] per batch
//! ([`guard`]), which is what stops CPU-bound work that never yields.
//! Plans DataFusion optimized into a shape it cannot run are repaired
//! first ([`soft_limit`]).

pub(crate) mod arrow;
mod bounded;
mod guard;
mod provider;
mod remote;
mod soft_limit;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryConsumer, MemoryPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::error::{QueryError, EXECUTION, INTERNAL, SQL_PARSING, TABLE_DOES_NOT_EXIST};
use super::exec::{result_rows_error, Deadline, TIMED_OUT};
use super::options::QueryOptions;
use super::response::ResultTable;
use super::source::{table_sources, SegmentSource};
use super::workload::lower_thread_priority;
use crate::catalog::{Catalog, TableType};
use crate::expr::value::{ColumnType, Value};
use crate::expr::ColumnRef;
use crate::segment::default_null_value;
use crate::server::Server;

pub use arrow::rows as arrow_rows;
pub use provider::SegmentTable;

pub struct MultiStage {
    catalog: Arc<Catalog>,
    server: Arc<Server>,
    /// `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
    threads: usize,
    /// Set on a broker of a cluster: tables are scanned on the servers
    /// holding them.
    scatter: Option<Arc<dyn crate::query::gather::Scatter>>,
}

impl Drop for MultiStage {
    fn drop(&mut self) {
        // Dropped from async code when the server stops: do not block there.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl MultiStage {
    pub fn new(
        catalog: Arc<Catalog>,
        server: Arc<Server>,
        threads: usize,
        nice: i32,
    ) -> std::io::Result<MultiStage> {
        // The engine is the background lane: its threads yield the cores to
        // single-table queries (`query::workload`).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("gamay-multistage")
            .on_thread_start(move || lower_thread_priority(nice))
            .enable_all()
            .build()?;
        Ok(MultiStage {
            catalog,
            server,
            runtime: Some(runtime),
            threads: threads.max(1),
            scatter: None,
        })
    }

    /// Scans tables through `scatter` (the servers of a cluster) rather
    /// than this node's segments.
    pub fn scan_through(&mut self, scatter: Arc<dyn crate::query::gather::Scatter>) {
        self.scatter = Some(scatter);
    }

    /// A table provider for every table in the catalog that `visible`
    /// accepts, by raw name.
    fn tables(
        &self,
        visible: &(dyn Fn(&str) -> bool + Sync),
        options: &QueryOptions,
    ) -> Vec<(String, SegmentTable)> {
        let mut out = Vec::new();
        for name in self.catalog.table_names(None) {
            if !visible(&name) {
                continue;
            }
            let entries = self.catalog.tables_named(&name);
            let Some(first) = entries.first() else {
                continue;
            };
            let schema_name = first
                .config
                .segments_config
                .schema_name
                .clone()
                .unwrap_or_else(|| name.clone());
            let Some(schema) = self.catalog.schema(&schema_name) else {
                continue;
            };
            let columns: Vec<ColumnRef> = schema
                .schema
                .columns()
                .map(|column| ColumnRef {
                    name: column.name.to_string(),
                    ty: ColumnType::of(column.data_type, column.single_value),
                    default: Value::from_scalar(default_null_value(&column)),
                })
                .collect();
            if let Some(scatter) = &self.scatter {
                let rows = remote::RemoteRows {
                    scatter: scatter.clone(),
                    tables: entries
                        .iter()
                        .map(|entry| entry.config.table_type.with_type(&name))
                        .collect(),
                    options: options.clone(),
                };
                out.push((name, SegmentTable::remote(columns, rows)));
                continue;
            }
            let mut segments: Vec<Arc<dyn SegmentSource>> = Vec::new();
            for entry in &entries {
                let table_type: TableType = entry.config.table_type;
                if let Some(data) = self.server.table(&table_type.with_type(&name)) {
                    segments.extend(table_sources(&data, false));
                }
            }
            out.push((name, SegmentTable::new(columns, segments)));
        }
        out
    }

    /// A session for one query: the catalog's tables that `visible` accepts, a memory pool of
    /// the query's `maxQueryMemoryBytes` (no spilling to disk), bounded
    /// growing functions, and `deadline` for the scans to check.
    fn session(
        &self,
        options: &QueryOptions,
        deadline: &Arc<Deadline>,
        visible: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<SessionContext, QueryError> {
        let internal = |err: DataFusionError| QueryError::new(INTERNAL, err.to_string());
        let mut config = SessionConfig::new()
            .with_target_partitions(self.threads)
            .with_information_schema(false)
            .with_extension(deadline.clone());
        // Table and column names are case-sensitive, as in Pinot.
        config.options_mut().sql_parser.enable_ident_normalization = false;
        let memory = usize::try_from(options.max_query_memory_bytes).unwrap_or(usize::MAX);
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(memory));
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(pool.clone())
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()
            .map_err(internal)?;
        let context = SessionContext::new_with_config_rt(config, runtime);
        bounded::register(&context, &pool).map_err(internal)?;
        for (name, table) in self.tables(visible, options) {
            context
                .register_table(name.as_str(), Arc::new(table))
                .map_err(internal)?;
        }
        Ok(context)
    }

    /// Runs `sql` until `deadline`, seeing only the tables `visible`
    /// accepts (others do not exist for the query); once planned, `admit`
    /// is asked for each table it reads (the tables' query quotas). Every operator stops at its next batch
    /// once the deadline passes or is cancelled, and the query's task is
    /// aborted when this future is dropped (its caller went away).
    pub async fn run(
        &self,
        sql: &str,
        options: &QueryOptions,
        deadline: Arc<Deadline>,
        visible: &(dyn Fn(&str) -> bool + Sync),
        admit: Admit,
    ) -> Result<ResultTable, QueryError> {
        let context = self.session(options, &deadline, visible)?;
        let Some(runtime) = &self.runtime else {
            return Err(QueryError::new(
                INTERNAL,
                "the multi-stage engine has stopped",
            ));
        };
        let task = AbortOnDrop(runtime.spawn(execute(
            context,
            sql.to_string(),
            options.clone(),
            deadline.clone(),
            admit,
        )));
        let timeout = deadline.at.saturating_duration_since(Instant::now());
        let result = match tokio::time::timeout(timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(err)) => Err(QueryError::new(
                INTERNAL,
                format!("the query task failed: {err}"),
            )),
            Err(_) => Err(options.timeout_error()),
        };
        if result.is_err() {
            deadline.cancel();
        }
        match (result, deadline.failure()) {
            // A guard that found a limit passed.
            (Err(_), Some(failure)) => Err(failure),
            // A guard that saw the deadline pass.
            (Err(error), None) if error.message.contains(TIMED_OUT) => Err(options.timeout_error()),
            (other, _) => other,
        }
    }
}

/// Plans and runs `sql` in `context`, guarded, collecting at most
/// `maxResultRows` rows whose batches are reserved in the query's pool.
async fn execute(
    context: SessionContext,
    sql: String,
    options: QueryOptions,
    deadline: Arc<Deadline>,
    admit: Admit,
) -> Result<ResultTable, QueryError> {
    let failed = |err: DataFusionError| execution_error(err, &options);
    let frame = context
        .sql(&sql)
        .await
        .map_err(|err| planning_error(err, &options))?;
    for table in scanned_tables(frame.logical_plan()) {
        admit(&table)?;
    }
    let schema = frame.schema().as_arrow().clone();
    let task_context = Arc::new(frame.task_ctx());
    let pool = task_context.memory_pool().clone();
    let plan = frame
        .create_physical_plan()
        .await
        .and_then(soft_limit::drop_unusable)
        .and_then(|plan| guard::guard(plan, &deadline, options.max_rows_in_join))
        .map_err(failed)?;
    let mut stream = execute_stream(plan, task_context).map_err(failed)?;
    let result = MemoryConsumer::new("result").register(&pool);
    let mut batches = Vec::new();
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(failed)?;
        rows += batch.num_rows() as u64;
        if rows > options.max_result_rows {
            return Err(result_rows_error(options.max_result_rows));
        }
        result
            .try_grow(batch.get_array_memory_size())
            .map_err(failed)?;
        batches.push(batch);
    }
    let rows = arrow::rows(&batches).map_err(|err| QueryError::execution(err.to_string()))?;
    Ok(ResultTable {
        columns: schema
            .fields()
            .iter()
            .map(|field| (field.name().clone(), arrow::column_type(field.data_type())))
            .collect(),
        rows,
    })
}

/// Asked, once a query is planned, for each table it reads.
pub type Admit = Arc<dyn Fn(&str) -> Result<(), QueryError> + Send + Sync>;

/// The tables `plan` scans, subqueries included.
fn scanned_tables(plan: &LogicalPlan) -> BTreeSet<String> {
    let mut tables = BTreeSet::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            tables.insert(scan.table_name.table().to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    tables
}

/// The error of a query past its memory pool's limit, if `err` is one.
fn memory_error(err: &DataFusionError, options: &QueryOptions) -> Option<QueryError> {
    let DataFusionError::ResourcesExhausted(detail) = err.find_root() else {
        return None;
    };
    Some(QueryError::limit(
        format!(
            "the query needs more memory than its limit of {} bytes: {detail}",
            options.max_query_memory_bytes
        ),
        "maxQueryMemoryBytes",
    ))
}

fn execution_error(err: DataFusionError, options: &QueryOptions) -> QueryError {
    memory_error(&err, options).unwrap_or_else(|| datafusion_error(err))
}

/// Aborts a task of the multi-stage runtime when dropped: a dropped
/// `JoinHandle` would let the task run on.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// Maps DataFusion's errors to Pinot's codes. What the query causes is the
/// caller's (4xx): SQL and plan errors, and errors computing on its data
/// (a division by zero, a cast that overflows, an invalid regular
/// expression, a function's bad argument). Failures of the engine itself
/// (internal errors, I/O, joins of its tasks) stay 5xx.
pub fn datafusion_error(err: DataFusionError) -> QueryError {
    let message = err.to_string();
    // The type coercion rule reports some argument types that fit no
    // signature (`round(price, price)`, a BETWEEN of INT and BINARY) as
    // internal errors; the rule reads only the query's types, so whatever
    // it refuses is the query's.
    if raised_by(&err, "type_coercion") {
        return QueryError::validation(message);
    }
    let code = match err.find_root() {
        DataFusionError::SQL(..) => SQL_PARSING,
        DataFusionError::Plan(text) if text.contains("table") && text.contains("not found") => {
            TABLE_DOES_NOT_EXIST
        }
        DataFusionError::SchemaError(..) => return QueryError::unknown_column(message),
        DataFusionError::Plan(_)
        | DataFusionError::NotImplemented(_)
        | DataFusionError::Configuration(_) => return QueryError::validation(message),
        DataFusionError::ArrowError(arrow, _) => arrow_code(arrow),
        DataFusionError::Execution(_) | DataFusionError::ResourcesExhausted(_) => EXECUTION,
        DataFusionError::External(inner) => external_code(inner.as_ref()),
        // The `~` operators (which REGEXP_LIKE with a literal pattern
        // becomes) report a pattern that does not compile, or compiles
        // past the regex crate's size limit, as an internal error.
        DataFusionError::Internal(text) if text.starts_with(REGEX_KERNEL_FAILED) => {
            let cause = text[REGEX_KERNEL_FAILED.len()..].trim();
            return QueryError::new(
                EXECUTION,
                format!(
                    "the regular expression is invalid or too large ({cause}); \
                     a pattern must compile to at most 10485760 bytes"
                ),
            );
        }
        _ => INTERNAL,
    };
    QueryError::new(code, message)
}

/// How DataFusion's regular-expression match kernel starts the internal
/// error it raises for a pattern that does not compile.
const REGEX_KERNEL_FAILED: &str = "failed to call 'regex_match_dyn_scalar'";

/// Whether `err` came out of the analyzer rule named `rule`, which wraps
/// its errors in a context of its name.
fn raised_by(err: &DataFusionError, rule: &str) -> bool {
    let mut current = err;
    while let DataFusionError::Context(context, inner) = current {
        if context == rule {
            return true;
        }
        current = inner;
    }
    false
}

/// Planning errors: past the memory pool, or as [`datafusion_error`] says.
fn planning_error(err: DataFusionError, options: &QueryOptions) -> QueryError {
    memory_error(&err, options).unwrap_or_else(|| datafusion_error(err))
}

/// Arrow's compute errors come from the query's data; its I/O and memory
/// errors from the engine.
fn arrow_code(err: &datafusion::arrow::error::ArrowError) -> i32 {
    use datafusion::arrow::error::ArrowError;
    match err {
        ArrowError::IoError(..) | ArrowError::MemoryError(_) => INTERNAL,
        ArrowError::ExternalError(inner) => external_code(inner.as_ref()),
        _ => EXECUTION,
    }
}

/// Errors of other libraries that functions wrap (a regular expression
/// that does not parse, a value that does not convert) are the query's,
/// unless they are I/O.
fn external_code(err: &(dyn std::error::Error + Send + Sync + 'static)) -> i32 {
    if err.is::<std::io::Error>() {
        INTERNAL
    } else {
        EXECUTION
    }
}

//! The multi-stage engine: queries outside the single-table subset (joins,
//! subqueries, window functions, CTEs, set operations, and anything sent to
//! `POST /query`) run on DataFusion over the same segments, through
//! [`provider::SegmentTable`]. It runs on a Tokio runtime of its own, so
//! long analytical queries do not hold up the HTTP workers. A query stops
//! at its deadline or when its caller goes away: the task is aborted, and
//! every operator checks the query's [`Deadline`] per batch
//! ([`guard`]), which is what stops CPU-bound work that never yields.

pub(crate) mod arrow;
mod guard;
mod provider;

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;

use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::error::{QueryError, EXECUTION, INTERNAL, SQL_PARSING, TABLE_DOES_NOT_EXIST};
use super::exec::{result_rows_error, Deadline, TIMED_OUT};
use super::expr::ColumnRef;
use super::options::QueryOptions;
use super::response::ResultTable;
use super::source::{table_sources, SegmentSource};
use super::value::{ColumnType, Value};
use crate::catalog::{Catalog, TableType};
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
    ) -> std::io::Result<MultiStage> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("gamay-multistage")
            .enable_all()
            .build()?;
        Ok(MultiStage {
            catalog,
            server,
            runtime: Some(runtime),
            threads: threads.max(1),
        })
    }

    /// A table provider for every table in the catalog that `visible`
    /// accepts, by raw name.
    fn tables(&self, visible: &(dyn Fn(&str) -> bool + Sync)) -> Vec<(String, SegmentTable)> {
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

    /// Runs `sql` until `deadline`, seeing only the tables `visible`
    /// accepts (others do not exist for the query). Scans stop at the deadline's next
    /// check once it passes or is cancelled, and the query's task is
    /// aborted when this future is dropped (its caller went away).
    pub async fn run(
        &self,
        sql: &str,
        options: &QueryOptions,
        deadline: Arc<Deadline>,
        visible: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<ResultTable, QueryError> {
        let mut config = SessionConfig::new()
            .with_target_partitions(self.threads)
            .with_information_schema(false)
            .with_extension(deadline.clone());
        // Table and column names are case-sensitive, as in Pinot.
        config.options_mut().sql_parser.enable_ident_normalization = false;
        let context = SessionContext::new_with_config(config);
        for (name, table) in self.tables(visible) {
            context
                .register_table(name.as_str(), Arc::new(table))
                .map_err(|err| QueryError::new(INTERNAL, err.to_string()))?;
        }
        let sql = sql.to_string();
        let Some(runtime) = &self.runtime else {
            return Err(QueryError::new(
                INTERNAL,
                "the multi-stage engine has stopped",
            ));
        };
        let (max_result_rows, max_rows_in_join) =
            (options.max_result_rows, options.max_rows_in_join);
        let task = AbortOnDrop(runtime.spawn({
            let deadline = deadline.clone();
            async move {
                let frame = context.sql(&sql).await.map_err(datafusion_error)?;
                let schema = frame.schema().as_arrow().clone();
                let task_context = Arc::new(frame.task_ctx());
                let plan = frame
                    .create_physical_plan()
                    .await
                    .and_then(|plan| guard::guard(plan, &deadline, max_rows_in_join))
                    .map_err(datafusion_error)?;
                let mut stream = execute_stream(plan, task_context).map_err(datafusion_error)?;
                let mut batches = Vec::new();
                let mut rows = 0;
                while let Some(batch) = stream.next().await {
                    let batch = batch.map_err(datafusion_error)?;
                    rows += batch.num_rows() as u64;
                    if rows > max_result_rows {
                        return Err(result_rows_error(max_result_rows));
                    }
                    batches.push(batch);
                }
                let rows = arrow::rows(&batches).map_err(QueryError::execution)?;
                Ok::<_, QueryError>(ResultTable {
                    columns: schema
                        .fields()
                        .iter()
                        .map(|field| (field.name().clone(), arrow::column_type(field.data_type())))
                        .collect(),
                    rows,
                })
            }
        }));
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
pub fn datafusion_error(err: datafusion::error::DataFusionError) -> QueryError {
    use datafusion::error::DataFusionError;
    let message = err.to_string();
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
        _ => INTERNAL,
    };
    QueryError::new(code, message)
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

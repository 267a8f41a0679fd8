//! A table whose segments other nodes hold (a broker of a cluster): its
//! scan sends the servers a selection plan (the projected columns, the
//! pushed-down filter, the scan's limit) through the broker's
//! [`Scatter`], one replica per segment, and turns the rows they answer
//! into one Arrow batch. A segment no replica serves fails the query: a
//! join over rows that are silently missing would be wrong.

use std::fmt;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};

use super::arrow::to_array;
use crate::expr::value::{Value, Vector};
use crate::expr::{ColumnRef, Expr};
use crate::query::exec::{Deadline, Partial};
use crate::query::filter::Filter;
use crate::query::gather::Scatter;
use crate::query::options::QueryOptions;
use crate::query::plan::{Output, Plan, PlanKind};

/// Where a remote table's rows come from.
#[derive(Clone)]
pub struct RemoteRows {
    pub scatter: Arc<dyn Scatter>,
    /// The table's names with type.
    pub tables: Vec<String>,
    /// The query's options (its limits travel with the scan's plan).
    pub options: QueryOptions,
}

/// Scans a remote table: one partition, one batch.
pub struct RemoteScan {
    rows: RemoteRows,
    columns: Vec<ColumnRef>,
    filter: Option<Filter>,
    limit: Option<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl RemoteScan {
    pub fn new(
        rows: RemoteRows,
        columns: Vec<ColumnRef>,
        filter: Option<Filter>,
        limit: Option<usize>,
        schema: SchemaRef,
    ) -> RemoteScan {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        RemoteScan {
            rows,
            columns,
            filter,
            limit,
            schema,
            properties,
        }
    }

    /// The selection plan the servers run.
    fn plan(&self) -> Plan {
        // At most maxRowsInJoin rows come back, and one more to tell that
        // the limit was passed.
        let cap = (self.rows.options.max_rows_in_join as usize).saturating_add(1);
        let mut plan = Plan {
            table: self.rows.tables.first().cloned().unwrap_or_default(),
            filter: self.filter.clone(),
            kind: PlanKind::Select {
                select: self.columns.iter().cloned().map(Expr::Column).collect(),
                order_by: Vec::new(),
            },
            limit: self.limit.unwrap_or(cap).min(cap),
            offset: 0,
            output: self
                .columns
                .iter()
                .map(|column| Output {
                    name: column.name.clone(),
                    ty: column.ty,
                })
                .collect(),
            options: self.rows.options.clone(),
            columns: Vec::new(),
        };
        plan.collect_columns();
        plan
    }
}

impl fmt::Debug for RemoteScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GamayRemoteScan({})", self.rows.tables.join(", "))
    }
}

impl DisplayAs for RemoteScan {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        write!(
            f,
            "GamayRemoteScan: tables=[{}], columns=[{}], indexed_filter={}",
            self.rows.tables.join(", "),
            names.join(", "),
            self.filter.is_some()
        )
    }
}

impl ExecutionPlan for RemoteScan {
    fn name(&self) -> &str {
        "GamayRemoteScan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let deadline = context
            .session_config()
            .get_extension::<Deadline>()
            .unwrap_or_else(|| {
                Arc::new(Deadline::new(
                    std::time::Instant::now() + self.rows.options.timeout(),
                ))
            });
        let plan = Arc::new(self.plan());
        let rows = self.rows.clone();
        let columns = self.columns.clone();
        let schema = self.schema.clone();
        let batch = async move {
            let gathered = rows
                .scatter
                .scatter(&plan, &rows.tables, &deadline)
                .await
                .map_err(|err| DataFusionError::Execution(err.message))?;
            if let Some(missing) = gathered.missing.first() {
                return Err(DataFusionError::Execution(format!(
                    "a multi-stage query needs every segment of {}: {}",
                    rows.tables.join(", "),
                    missing.message
                )));
            }
            let mut values: Vec<Vec<Value>> = vec![Vec::new(); columns.len()];
            let mut count = 0usize;
            for response in gathered.responses {
                let Some(Partial::Rows(found)) = response.partial else {
                    continue;
                };
                for row in found {
                    count += 1;
                    if count as u64 > rows.options.max_rows_in_join {
                        return Err(DataFusionError::ResourcesExhausted(format!(
                            "a scan of {} passed maxRowsInJoin ({} rows); narrow the query or raise it with SET maxRowsInJoin = ...",
                            rows.tables.join(", "),
                            rows.options.max_rows_in_join
                        )));
                    }
                    for (column, value) in values.iter_mut().zip(row.values) {
                        column.push(value);
                    }
                }
            }
            let arrays = columns
                .iter()
                .zip(values)
                .map(|(column, values)| to_array(&Vector::Mixed(values), column.ty))
                .collect::<Vec<_>>();
            if arrays.is_empty() {
                let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(count));
                return RecordBatch::try_new_with_options(schema, arrays, &options)
                    .map_err(DataFusionError::from);
            }
            RecordBatch::try_new(schema, arrays).map_err(DataFusionError::from)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures_util::stream::once(batch),
        )))
    }
}

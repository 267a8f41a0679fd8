//! A Gamay table as a DataFusion `TableProvider`: one partition per
//! segment, projected columns only, and filters pushed into the segments'
//! indexes (translated to the single-table engine's [`Filter`]), so a join
//! or window query reads only the docs its predicates select.

use std::collections::HashMap;
use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr as DfExpr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};

use super::arrow::{arrow_type, to_array};
use super::remote::{RemoteRows, RemoteScan};
use crate::expr::value::{ColumnType, Value};
use crate::expr::ColumnRef;
use crate::query::docs::{DocSet, Docs};
use crate::query::exec::{open_columns, Deadline};
use crate::query::filter::{Filter, FilterStats, Pred};
use crate::query::options::QueryOptions;
use crate::query::plan::{Plan, PlanKind};
use crate::query::source::{candidate_docs, SegmentSource};

/// Rows per Arrow batch a scan produces.
const SCAN_BATCH: u32 = 8192;

/// One table: its columns and a snapshot of its segments.
#[derive(Clone)]
pub struct SegmentTable {
    pub columns: Vec<ColumnRef>,
    pub segments: Vec<Arc<dyn SegmentSource>>,
    /// Set when other nodes hold the table's segments: scans ask them.
    remote: Option<RemoteRows>,
    schema: SchemaRef,
}

impl fmt::Debug for SegmentTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SegmentTable({} segments)", self.segments.len())
    }
}

impl SegmentTable {
    pub fn new(columns: Vec<ColumnRef>, segments: Vec<Arc<dyn SegmentSource>>) -> SegmentTable {
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c.ty), true))
            .collect();
        SegmentTable {
            columns,
            segments,
            remote: None,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// A table whose segments other nodes hold, scanned through `rows`.
    pub fn remote(columns: Vec<ColumnRef>, rows: RemoteRows) -> SegmentTable {
        let mut table = SegmentTable::new(columns, Vec::new());
        table.remote = Some(rows);
        table
    }

    fn column(&self, name: &str) -> Option<&ColumnRef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The engine's filter for a DataFusion predicate, when it has one.
    fn translate(&self, expr: &DfExpr) -> Option<Filter> {
        use datafusion::logical_expr::expr::{BinaryExpr, InList, Like};
        let column_of = |expr: &DfExpr| match expr {
            DfExpr::Column(column) => self.column(&column.name),
            _ => None,
        };
        let literal = |expr: &DfExpr| match expr {
            DfExpr::Literal(value, _) => scalar(value),
            _ => None,
        };
        Some(match expr {
            DfExpr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
                Operator::And | Operator::Or => {
                    let children = vec![self.translate(left)?, self.translate(right)?];
                    if *op == Operator::And {
                        Filter::And(children)
                    } else {
                        Filter::Or(children)
                    }
                }
                _ => {
                    let (column, value, op) = match (column_of(left), literal(right)) {
                        (Some(c), Some(v)) => (c, v, *op),
                        _ => (column_of(right)?, literal(left)?, op.swap()?),
                    };
                    let pred = match op {
                        Operator::Eq => Pred::In(vec![value].into()),
                        Operator::NotEq => {
                            return Some(Filter::Not(Box::new(Filter::Column {
                                column: column.clone(),
                                pred: Pred::In(vec![value].into()),
                            })))
                        }
                        Operator::Lt => Pred::Range(Bound::Unbounded, Bound::Excluded(value)),
                        Operator::LtEq => Pred::Range(Bound::Unbounded, Bound::Included(value)),
                        Operator::Gt => Pred::Range(Bound::Excluded(value), Bound::Unbounded),
                        Operator::GtEq => Pred::Range(Bound::Included(value), Bound::Unbounded),
                        _ => return None,
                    };
                    if column.ty.is_array() {
                        return None;
                    }
                    Filter::Column {
                        column: column.clone(),
                        pred,
                    }
                }
            },
            DfExpr::InList(InList {
                expr,
                list,
                negated,
            }) => {
                let column = column_of(expr)?;
                if column.ty.is_array() {
                    return None;
                }
                let values: Option<Vec<Value>> = list.iter().map(literal).collect();
                let filter = Filter::Column {
                    column: column.clone(),
                    pred: Pred::In(values?.into()),
                };
                if *negated {
                    Filter::Not(Box::new(filter))
                } else {
                    filter
                }
            }
            DfExpr::Like(Like {
                negated,
                expr,
                pattern,
                escape_char: None,
                case_insensitive: false,
            }) => {
                let column = column_of(expr)?;
                let Some(Value::Str(pattern)) = literal(pattern) else {
                    return None;
                };
                let filter = Filter::Column {
                    column: column.clone(),
                    pred: Pred::Regex(crate::query::sql::like_regex(&pattern).ok()?),
                };
                if *negated {
                    Filter::Not(Box::new(filter))
                } else {
                    filter
                }
            }
            DfExpr::Not(inner) => Filter::Not(Box::new(self.translate(inner)?)),
            _ => return None,
        })
    }
}

fn scalar(value: &ScalarValue) -> Option<Value> {
    Some(match value {
        ScalarValue::Int8(Some(v)) => Value::Long(*v as i64),
        ScalarValue::Int16(Some(v)) => Value::Long(*v as i64),
        ScalarValue::Int32(Some(v)) => Value::Long(*v as i64),
        ScalarValue::Int64(Some(v)) => Value::Long(*v),
        ScalarValue::UInt8(Some(v)) => Value::Long(*v as i64),
        ScalarValue::UInt16(Some(v)) => Value::Long(*v as i64),
        ScalarValue::UInt32(Some(v)) => Value::Long(*v as i64),
        ScalarValue::Float32(Some(v)) => Value::Double(*v as f64),
        ScalarValue::Float64(Some(v)) => Value::Double(*v),
        ScalarValue::Boolean(Some(v)) => Value::Long(*v as i64),
        ScalarValue::Utf8(Some(v))
        | ScalarValue::LargeUtf8(Some(v))
        | ScalarValue::Utf8View(Some(v)) => Value::Str(v.clone()),
        _ => return None,
    })
}

#[async_trait]
impl TableProvider for SegmentTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&DfExpr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| match self.translate(filter) {
                // DataFusion re-checks the rows, so index answers may be a superset.
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[DfExpr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let indexes: Vec<usize> = match projection {
            Some(projection) => projection.clone(),
            None => (0..self.columns.len()).collect(),
        };
        let columns: Vec<ColumnRef> = indexes.iter().map(|i| self.columns[*i].clone()).collect();
        let schema = Arc::new(self.schema.project(&indexes)?);
        let filters: Vec<Filter> = filters.iter().filter_map(|f| self.translate(f)).collect();
        let filter = match filters.len() {
            0 => None,
            1 => filters.into_iter().next(),
            _ => Some(Filter::And(filters)),
        };
        if let Some(rows) = &self.remote {
            return Ok(Arc::new(RemoteScan::new(
                rows.clone(),
                columns,
                filter,
                limit,
                schema,
            )));
        }
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(self.segments.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Arc::new(SegmentScan {
            segments: self.segments.clone(),
            columns,
            filter,
            limit,
            schema,
            properties,
        }))
    }
}

/// Scans segments: partition `i` reads segment `i`.
#[derive(Debug)]
struct SegmentScan {
    segments: Vec<Arc<dyn SegmentSource>>,
    columns: Vec<ColumnRef>,
    filter: Option<Filter>,
    limit: Option<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for dyn SegmentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl DisplayAs for SegmentScan {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        write!(
            f,
            "GamaySegmentScan: segments={}, columns=[{}], indexed_filter={}",
            self.segments.len(),
            names.join(", "),
            self.filter.is_some()
        )
    }
}

impl ExecutionPlan for SegmentScan {
    fn name(&self) -> &str {
        "GamaySegmentScan"
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
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let deadline = context.session_config().get_extension::<Deadline>();
        let batches = match self.segments.get(partition) {
            Some(segment) => ScanBatches::new(segment.clone(), self, deadline)?,
            None => ScanBatches::empty(self),
        };
        let stream = futures_util::stream::iter(batches);
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// The plan a scan evaluates its filter and opens its columns with.
fn scan_plan(filter: Option<Filter>, columns: Vec<ColumnRef>) -> Plan {
    Plan {
        table: String::new(),
        filter,
        kind: PlanKind::Select {
            select: Vec::new(),
            order_by: Vec::new(),
        },
        limit: 0,
        offset: 0,
        output: Vec::new(),
        options: QueryOptions::default(),
        columns,
    }
}

/// Lazily reads one segment's matching docs, a batch at a time, checking
/// the query's deadline (when the session has one) before each.
struct ScanBatches {
    segment: Option<Arc<dyn SegmentSource>>,
    deadline: Option<Arc<Deadline>>,
    plan: Plan,
    docs: DocSet,
    next: u32,
    remaining: usize,
    schema: SchemaRef,
    types: Vec<ColumnType>,
}

impl ScanBatches {
    fn new(
        segment: Arc<dyn SegmentSource>,
        scan: &SegmentScan,
        deadline: Option<Arc<Deadline>>,
    ) -> Result<ScanBatches> {
        let mut columns = scan.columns.clone();
        if let Some(filter) = &scan.filter {
            filter.columns(&mut |column| {
                if !columns.iter().any(|c| c.name == column.name) {
                    columns.push(column.clone());
                }
            });
        }
        let plan = scan_plan(scan.filter.clone(), columns);
        let docs = {
            let columns = open_columns(&plan, segment.as_ref());
            let all = candidate_docs(segment.as_ref());
            let mut stats = FilterStats {
                entries_scanned: 0,
                deadline: deadline.as_deref(),
            };
            match &plan.filter {
                Some(filter) => filter
                    .docs(&columns, &all, &mut stats)
                    .map_err(|err| DataFusionError::Execution(err.to_string()))?,
                None => all,
            }
        };
        Ok(ScanBatches {
            segment: Some(segment),
            deadline,
            plan,
            docs,
            next: 0,
            remaining: scan.limit.unwrap_or(usize::MAX),
            schema: scan.schema.clone(),
            types: scan.columns.iter().map(|c| c.ty).collect(),
        })
    }

    fn empty(scan: &SegmentScan) -> ScanBatches {
        ScanBatches {
            segment: None,
            deadline: None,
            plan: scan_plan(None, Vec::new()),
            docs: DocSet::empty(),
            next: 0,
            remaining: 0,
            schema: scan.schema.clone(),
            types: Vec::new(),
        }
    }

    /// The next up-to-`SCAN_BATCH` doc ids.
    fn next_docs(&mut self) -> Option<Vec<u32>> {
        let take = (SCAN_BATCH as usize).min(self.remaining);
        let docs: Vec<u32> = match &self.docs {
            DocSet::Range(start, end) => {
                let from = (*start).max(self.next);
                (from..*end).take(take).collect()
            }
            DocSet::Bitmap(bitmap) => bitmap.range(self.next..).take(take).collect(),
        };
        let last = *docs.last()?;
        self.next = last + 1;
        self.remaining -= docs.len();
        Some(docs)
    }
}

impl Iterator for ScanBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        let segment = self.segment.clone()?;
        if let Some(Err(err)) = self.deadline.as_ref().map(|d| d.check()) {
            // Stop for good: a consumer that polls again gets nothing more.
            self.segment = None;
            return Some(Err(DataFusionError::Execution(err.to_string())));
        }
        let docs = self.next_docs()?;
        if let Some(Err(err)) = self.deadline.as_ref().map(|d| d.scanned(docs.len() as u64)) {
            self.segment = None;
            return Some(Err(DataFusionError::Execution(err.to_string())));
        }
        let columns = open_columns(&self.plan, segment.as_ref());
        let mut arrays = Vec::with_capacity(self.types.len());
        let by_name: HashMap<&str, ColumnType> = self
            .plan
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty))
            .collect();
        for field in self.schema.fields() {
            let Some(source) = columns.get(field.name()) else {
                return Some(Err(DataFusionError::Execution(format!(
                    "column {} is not open",
                    field.name()
                ))));
            };
            let ty = by_name
                .get(field.name().as_str())
                .copied()
                .unwrap_or(ColumnType::String);
            arrays.push(to_array(&source.values(Docs::List(&docs)), ty));
        }
        if arrays.is_empty() {
            let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(docs.len()));
            return Some(
                RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
                    .map_err(DataFusionError::from),
            );
        }
        Some(RecordBatch::try_new(self.schema.clone(), arrays).map_err(DataFusionError::from))
    }
}

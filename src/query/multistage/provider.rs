//! A Gamay table as a DataFusion `TableProvider`: filters pushed into the
//! segments' indexes (translated to the single-table engine's [`Filter`],
//! which answers them exactly) and run when the scan is planned, so the
//! join planner knows each side's rows; the matching docs cut into a few
//! equal partitions per core; projected columns only, read into Arrow
//! arrays a batch at a time (text copied from where it lies).

use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ScalarValue, Statistics};
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

use super::arrow::{arrow_type, column_array};
use super::remote::{RemoteRows, RemoteScan};
use crate::expr::value::Value;
use crate::expr::ColumnRef;
use crate::query::docs::{DocSet, Docs};
use crate::query::exec::{open_columns, split, Deadline};
use crate::query::filter::{Filter, FilterStats, Pred};
use crate::query::options::QueryOptions;
use crate::query::plan::{Plan, PlanKind};
use crate::query::source::{candidate_docs, SegmentSource};

/// Rows per Arrow batch a scan produces.
const SCAN_BATCH: u32 = 8192;

/// Scan partitions per core (see `partitions`).
const PER_CORE: u64 = 4;

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
                // DataFusion reads `\` as an escape in LIKE; Pinot's LIKE
                // (the engine's) does not: such patterns stay DataFusion's.
                if pattern.contains('\\') {
                    return None;
                }
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
                // The engine's filters answer exactly (the single-table
                // engine's results rest on them), so DataFusion need not
                // read the filter's columns to check them again.
                Some(_) => TableProviderFilterPushDown::Exact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
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
        let deadline = state.config().get_extension::<Deadline>();
        let threads = state.config().target_partitions();
        let matched = matching_docs(
            &self.segments,
            filter.as_ref(),
            deadline.as_deref(),
            threads,
        )?;
        let rows: u64 = matched.iter().map(DocSet::len).sum();
        let parts = partitions(&self.segments, matched, state.config().target_partitions());
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(parts.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        let mut statistics = Statistics::new_unknown(&schema);
        statistics.num_rows = Precision::Inexact(rows as usize);
        Ok(Arc::new(SegmentScan {
            parts,
            columns,
            limit,
            schema,
            properties,
            statistics: Arc::new(statistics),
        }))
    }
}

/// Each segment's docs that pass `filter`. Run when the scan is planned, so
/// that the join planner sees how many rows each side has. A filter that
/// scans values runs on threads of the multi-stage engine's own (they
/// inherit its lower priority), over parts of the segments' docs.
fn matching_docs(
    segments: &[Arc<dyn SegmentSource>],
    filter: Option<&Filter>,
    deadline: Option<&Deadline>,
    threads: usize,
) -> Result<Vec<DocSet>> {
    let Some(filter) = filter else {
        return Ok(segments
            .iter()
            .map(|s| candidate_docs(s.as_ref()))
            .collect());
    };
    let mut columns: Vec<ColumnRef> = Vec::new();
    filter.columns(&mut |column| {
        if !columns.iter().any(|c| c.name == column.name) {
            columns.push(column.clone());
        }
    });
    let plan = scan_plan(Some(filter.clone()), columns);
    // (segment, part of its docs) to filter.
    let mut tasks: Vec<(usize, DocSet)> = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        let all = candidate_docs(segment.as_ref());
        let scans = filter.scans(&open_columns(&plan, segment.as_ref()));
        let ways = if scans { threads } else { 1 };
        tasks.extend(split(&all, ways).into_iter().map(|part| (index, part)));
    }
    let run = |(index, part): &(usize, DocSet)| -> Result<DocSet> {
        let segment = segments[*index].as_ref();
        let open = open_columns(&plan, segment);
        let mut stats = FilterStats {
            entries_scanned: 0,
            deadline,
        };
        filter
            .docs(&open, part, &mut stats)
            .map_err(|err| DataFusionError::Execution(err.to_string()))
    };
    // (segment, its part's matches), in any order.
    let outcomes: Vec<(usize, Result<DocSet>)> = if tasks.len() < 2 || threads < 2 {
        tasks.iter().map(|task| (task.0, run(task))).collect()
    } else {
        // Each thread takes every `workers`-th task.
        let workers = threads.min(tasks.len());
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|worker| {
                    let (tasks, run) = (&tasks, &run);
                    std::thread::Builder::new()
                        .name("gamay-multistage-filter".into())
                        .spawn_scoped(scope, move || {
                            tasks[worker..]
                                .iter()
                                .step_by(workers)
                                .map(|task| (task.0, run(task)))
                                .collect::<Vec<_>>()
                        })
                })
                .collect();
            let mut outcomes = Vec::with_capacity(tasks.len());
            for handle in handles {
                let handle = handle.map_err(|err| {
                    DataFusionError::ResourcesExhausted(format!(
                        "cannot start a thread to filter a scan: {err}"
                    ))
                })?;
                let done = handle
                    .join()
                    .map_err(|_| DataFusionError::Execution("a segment's filter failed".into()))?;
                outcomes.extend(done);
            }
            Ok::<_, DataFusionError>(outcomes)
        })?
    };
    let mut matched: Vec<Vec<DocSet>> = vec![Vec::new(); segments.len()];
    for (index, result) in outcomes {
        matched[index].push(result?);
    }
    Ok(matched.into_iter().map(DocSet::union).collect())
}

/// A piece of a scan partition: some of one segment's matching docs.
#[derive(Debug)]
struct Part {
    segment: Arc<dyn SegmentSource>,
    docs: DocSet,
}

/// Splits the segments' matching docs into partitions of as many docs
/// each (give or take one), leaving out segments with nothing to read: the
/// docs are taken in segment order and cut at equal ranks, so a partition
/// reads a run of whole or partial segments. There are `PER_CORE` times as
/// many partitions as cores (fewer when there are few docs): work per doc
/// varies (joins match unevenly along a table), and smaller partitions let
/// an idle core take the next one.
fn partitions(
    segments: &[Arc<dyn SegmentSource>],
    matched: Vec<DocSet>,
    target: usize,
) -> Vec<Vec<Part>> {
    let total: u64 = matched.iter().map(DocSet::len).sum();
    let count = (target.max(1) as u64 * PER_CORE)
        .min(total.div_ceil(u64::from(SCAN_BATCH)))
        .max(1);
    // Partition `i` takes the docs ranked `bound(i)..bound(i + 1)`.
    let bound = |i: u64| i * total / count;
    let mut out: Vec<Vec<Part>> = (0..count).map(|_| Vec::new()).collect();
    let mut first = 0u64;
    for (segment, docs) in segments.iter().zip(matched) {
        let len = docs.len();
        if len == 0 {
            continue;
        }
        let last = first + len;
        for (index, parts) in out.iter_mut().enumerate() {
            let (from, to) = (bound(index as u64), bound(index as u64 + 1));
            let (from, to) = (from.max(first), to.min(last));
            if from < to {
                parts.push(Part {
                    segment: segment.clone(),
                    docs: ranked(&docs, from - first, to - first),
                });
            }
        }
        first = last;
    }
    out.retain(|parts| !parts.is_empty());
    out
}

/// The docs of `docs` ranked `from..to` (0 is the first doc).
fn ranked(docs: &DocSet, from: u64, to: u64) -> DocSet {
    if from == 0 && to >= docs.len() {
        return docs.clone();
    }
    match docs {
        DocSet::Range(start, _) => DocSet::Range(start + from as u32, start + to as u32),
        DocSet::Bitmap(bitmap) => {
            let mut part = bitmap.clone();
            if let Some(low) = bitmap.select(from as u32) {
                part.remove_range(..low);
            }
            if let Some(high) = bitmap.select(to as u32) {
                part.remove_range(high..);
            }
            DocSet::Bitmap(part)
        }
    }
}

/// Scans segments: partition `i` reads the parts in `parts[i]`, in order.
#[derive(Debug)]
struct SegmentScan {
    parts: Vec<Vec<Part>>,
    columns: Vec<ColumnRef>,
    limit: Option<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    statistics: Arc<Statistics>,
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
            "GamaySegmentScan: partitions={}, parts={}, columns=[{}]",
            self.parts.len(),
            self.parts.iter().map(Vec::len).sum::<usize>(),
            names.join(", "),
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

    fn partition_statistics(&self, partition: Option<usize>) -> Result<Arc<Statistics>> {
        match partition {
            None => Ok(self.statistics.clone()),
            Some(index) => {
                let mut statistics = Statistics::new_unknown(&self.schema);
                if let Some(parts) = self.parts.get(index) {
                    let rows: u64 = parts.iter().map(|part| part.docs.len()).sum();
                    statistics.num_rows = Precision::Inexact(rows as usize);
                }
                Ok(Arc::new(statistics))
            }
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let deadline = context.session_config().get_extension::<Deadline>();
        let batches: Vec<ScanBatches> = match self.parts.get(partition) {
            Some(parts) => parts
                .iter()
                .map(|part| ScanBatches::new(part, self, deadline.clone()))
                .collect(),
            None => vec![ScanBatches::empty(self)],
        };
        let stream = futures_util::stream::iter(batches.into_iter().flatten());
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

/// Lazily reads one part's docs, a batch at a time, checking the query's
/// deadline (when the session has one) before each.
struct ScanBatches {
    segment: Option<Arc<dyn SegmentSource>>,
    deadline: Option<Arc<Deadline>>,
    plan: Plan,
    docs: DocSet,
    next: u32,
    remaining: usize,
    schema: SchemaRef,
    /// Scratch for dictionary ids and doc lists.
    ids: Vec<u32>,
    list: Vec<u32>,
}

impl ScanBatches {
    fn new(part: &Part, scan: &SegmentScan, deadline: Option<Arc<Deadline>>) -> ScanBatches {
        ScanBatches {
            segment: Some(part.segment.clone()),
            deadline,
            plan: scan_plan(None, scan.columns.clone()),
            docs: part.docs.clone(),
            next: 0,
            remaining: scan.limit.unwrap_or(usize::MAX),
            schema: scan.schema.clone(),
            ids: Vec::new(),
            list: Vec::new(),
        }
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
            ids: Vec::new(),
            list: Vec::new(),
        }
    }

    /// The next up-to-`SCAN_BATCH` docs: a range of a contiguous set, or
    /// listed in `self.list`.
    fn next_docs(&mut self) -> Option<Option<(u32, u32)>> {
        let take = (SCAN_BATCH as usize).min(self.remaining);
        if take == 0 {
            return None;
        }
        match &self.docs {
            DocSet::Range(start, end) => {
                let from = (*start).max(self.next);
                let to = (*end).min(from.saturating_add(take as u32));
                if from >= to {
                    return None;
                }
                self.next = to;
                self.remaining -= (to - from) as usize;
                Some(Some((from, to)))
            }
            DocSet::Bitmap(bitmap) => {
                self.list.clear();
                self.list.extend(bitmap.range(self.next..).take(take));
                let last = *self.list.last()?;
                self.next = last + 1;
                self.remaining -= self.list.len();
                Some(None)
            }
        }
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
        let range = self.next_docs()?;
        let list = std::mem::take(&mut self.list);
        let docs = match range {
            Some((start, end)) => Docs::Range(start, end),
            None => Docs::List(&list),
        };
        let result = self.batch(segment.as_ref(), docs);
        self.list = list;
        if result.is_err() {
            self.segment = None;
        }
        Some(result)
    }
}

impl ScanBatches {
    fn batch(&mut self, segment: &dyn SegmentSource, docs: Docs<'_>) -> Result<RecordBatch> {
        if let Some(Err(err)) = self.deadline.as_ref().map(|d| d.scanned(docs.len() as u64)) {
            return Err(DataFusionError::Execution(err.to_string()));
        }
        let columns = open_columns(&self.plan, segment);
        let mut arrays = Vec::with_capacity(self.plan.columns.len());
        for column in &self.plan.columns {
            let Some(source) = columns.get(&column.name) else {
                return Err(DataFusionError::Execution(format!(
                    "column {} is not open",
                    column.name
                )));
            };
            let array = column_array(source.as_ref(), column.ty, docs, &mut self.ids)
                .map_err(|err| DataFusionError::Execution(err.to_string()))?;
            arrays.push(array);
        }
        if arrays.is_empty() {
            let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(docs.len()));
            return RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
                .map_err(DataFusionError::from);
        }
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(DataFusionError::from)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{col, lit};

    use super::*;
    use crate::expr::value::ColumnType;

    #[test]
    fn like_patterns_with_backslashes_stay_datafusions() {
        let table = SegmentTable::new(
            vec![ColumnRef {
                name: "s".into(),
                ty: ColumnType::String,
                default: Value::Str(String::new()),
            }],
            Vec::new(),
        );
        // DataFusion reads `\_` as a literal underscore; Pinot's LIKE as a
        // backslash then any character.
        assert!(table.translate(&col("s").like(lit("a\\_b"))).is_none());
        assert!(table.translate(&col("s").like(lit("100\\%"))).is_none());
        assert!(table.translate(&col("s").like(lit("a_b%"))).is_some());
        assert!(table.translate(&col("s").not_like(lit("%x%"))).is_some());
    }

    #[test]
    fn ranked_docs_cut_a_set_at_ranks() {
        let bitmap: roaring::RoaringBitmap = [3u32, 5, 8, 13, 21, 34].into_iter().collect();
        let docs = DocSet::Bitmap(bitmap);
        let cut = |from, to| {
            let mut out = Vec::new();
            ranked(&docs, from, to).for_each_batch(|batch| {
                batch.for_each(|doc| out.push(doc));
                true
            });
            out
        };
        assert_eq!(cut(0, 6), vec![3, 5, 8, 13, 21, 34]);
        assert_eq!(cut(0, 2), vec![3, 5]);
        assert_eq!(cut(2, 5), vec![8, 13, 21]);
        assert_eq!(cut(5, 6), vec![34]);
        let range = DocSet::Range(10, 20);
        assert_eq!(ranked(&range, 3, 7), DocSet::Range(13, 17));
        assert_eq!(ranked(&range, 0, 10), range);
    }
}

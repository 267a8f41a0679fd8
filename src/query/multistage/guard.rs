//! Guards on a DataFusion physical plan, added once DataFusion has
//! optimized it: every operator checks the query's [`Deadline`] before it
//! asks its input for a batch and again when one arrives, so a query that
//! times out, is cancelled (its caller went away) or fails a limit stops
//! within a batch of each operator, on whichever core runs it. Aborting the
//! query's task is not enough: DataFusion yields to Tokio only in its
//! leaves, and a join of small inputs computes for minutes without reading
//! them. Joins also count the rows they output against `maxRowsInJoin`.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties,
    RecordBatchStream, SendableRecordBatchStream,
};
use futures_util::Stream;

use crate::query::error::{ExecError, QueryError};
use crate::query::exec::Deadline;

/// Wraps every operator of `plan` in a guard that checks `deadline`; a
/// join's guard also stops it past `max_rows_in_join` output rows. The
/// plan's partitions are merged first, so that the guard on top sees the
/// merged stream rather than batches buffered by the merge.
pub fn guard(
    plan: Arc<dyn ExecutionPlan>,
    deadline: &Arc<Deadline>,
    max_rows_in_join: u64,
) -> Result<Arc<dyn ExecutionPlan>> {
    let plan: Arc<dyn ExecutionPlan> = if plan.output_partitioning().partition_count() > 1 {
        Arc::new(CoalescePartitionsExec::new(plan))
    } else {
        plan
    };
    let guarded = plan.transform_up(|node| {
        // HashJoinExec, NestedLoopJoinExec, CrossJoinExec, SortMergeJoinExec, ...
        let join = node.name().contains("Join").then(|| {
            Arc::new(JoinRows {
                limit: max_rows_in_join,
                rows: AtomicU64::new(0),
            })
        });
        let guarded: Arc<dyn ExecutionPlan> = Arc::new(GuardExec {
            input: node,
            deadline: deadline.clone(),
            join,
        });
        Ok(Transformed::yes(guarded))
    })?;
    Ok(guarded.data)
}

/// One operator and its guard.
struct GuardExec {
    input: Arc<dyn ExecutionPlan>,
    deadline: Arc<Deadline>,
    /// For a join: its output rows over all its partitions.
    join: Option<Arc<JoinRows>>,
}

struct JoinRows {
    limit: u64,
    rows: AtomicU64,
}

impl JoinRows {
    /// Counts a batch the join output: `Err` past the limit.
    fn count(&self, rows: usize, deadline: &Deadline) -> std::result::Result<(), ExecError> {
        let total = self.rows.fetch_add(rows as u64, Ordering::Relaxed) + rows as u64;
        if total > self.limit {
            return Err(deadline.fail(QueryError::limit(
                format!(
                    "a join produced more than {} rows, the most one join may produce",
                    self.limit
                ),
                "maxRowsInJoin",
            )));
        }
        Ok(())
    }
}

impl fmt::Debug for GuardExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuardExec({})", self.input.name())
    }
}

impl DisplayAs for GuardExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuardExec")
    }
}

impl ExecutionPlan for GuardExec {
    fn name(&self) -> &str {
        "GuardExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children).map_err(|children| {
            DataFusionError::Internal(format!("GuardExec has one input, not {}", children.len()))
        })?;
        Ok(Arc::new(GuardExec {
            input,
            deadline: self.deadline.clone(),
            join: self.join.clone(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.deadline.check().map_err(execution)?;
        let input = self.input.execute(partition, context)?;
        Ok(Box::pin(GuardStream {
            schema: input.schema(),
            input: Some(input),
            deadline: self.deadline.clone(),
            join: self.join.clone(),
        }))
    }
}

/// A guard's failure as DataFusion's execution error, with its message.
fn execution(err: ExecError) -> DataFusionError {
    DataFusionError::Execution(err.to_string())
}

struct GuardStream {
    schema: SchemaRef,
    /// `None` once the stream has failed: its input is dropped then, which
    /// stops the tasks DataFusion spawned for it.
    input: Option<SendableRecordBatchStream>,
    deadline: Arc<Deadline>,
    join: Option<Arc<JoinRows>>,
}

impl GuardStream {
    fn fail(&mut self, err: ExecError) -> Poll<Option<Result<RecordBatch>>> {
        self.input = None;
        Poll::Ready(Some(Err(execution(err))))
    }
}

impl Stream for GuardStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.input.is_none() {
            return Poll::Ready(None);
        }
        if let Err(err) = self.deadline.check() {
            return self.fail(err);
        }
        let Some(input) = self.input.as_mut() else {
            return Poll::Ready(None);
        };
        let item = std::task::ready!(input.as_mut().poll_next(cx));
        if let Err(err) = self.deadline.check() {
            return self.fail(err);
        }
        if let (Some(join), Some(Ok(batch))) = (&self.join, &item) {
            if let Err(err) = join.count(batch.num_rows(), &self.deadline) {
                return self.fail(err);
            }
        }
        Poll::Ready(item)
    }
}

impl RecordBatchStream for GuardStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::execute_stream;
    use datafusion::prelude::{SessionConfig, SessionContext};
    use futures_util::StreamExt;

    use super::*;
    use crate::query::error::RESOURCE_LIMIT_EXCEEDED;
    use crate::query::exec::TIMED_OUT;

    /// A cross join of 2,000 rows with themselves, in batches of 1,024.
    async fn cross_join() -> (SessionContext, Arc<dyn ExecutionPlan>) {
        let context = SessionContext::new_with_config(SessionConfig::new().with_batch_size(1024));
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from_iter_values(0..2000))],
        )
        .unwrap();
        let table = MemTable::try_new(schema, vec![vec![batch]]).unwrap();
        context.register_table("t", Arc::new(table)).unwrap();
        let frame = context
            .sql("SELECT a.x + b.x AS s FROM t a, t b")
            .await
            .unwrap();
        let plan = frame.create_physical_plan().await.unwrap();
        (context, plan)
    }

    #[tokio::test]
    async fn a_guarded_plan_stops_at_its_next_batch_once_cancelled() {
        let (context, plan) = cross_join().await;
        let deadline = Arc::new(Deadline::new(Instant::now() + Duration::from_secs(3600)));
        let plan = guard(plan, &deadline, u64::MAX).unwrap();
        let mut stream = execute_stream(plan, context.task_ctx()).unwrap();
        assert!(matches!(stream.next().await, Some(Ok(_))));
        deadline.cancel();
        match stream.next().await {
            Some(Err(err)) => assert!(err.to_string().contains(TIMED_OUT), "{err}"),
            other => panic!("the join went on: {other:?}"),
        }
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn a_join_past_max_rows_in_join_fails_the_query() {
        let (context, plan) = cross_join().await;
        let deadline = Arc::new(Deadline::new(Instant::now() + Duration::from_secs(3600)));
        let plan = guard(plan, &deadline, 10_000).unwrap();
        let mut stream = execute_stream(plan, context.task_ctx()).unwrap();
        let mut rows = 0;
        let err = loop {
            match stream.next().await {
                Some(Ok(batch)) => rows += batch.num_rows(),
                Some(Err(err)) => break err,
                None => panic!("4,000,000 rows passed a limit of 10,000"),
            }
        };
        assert!(rows <= 10_000, "{rows} rows");
        assert!(err.to_string().contains("maxRowsInJoin"), "{err}");
        let failure = deadline.failure().unwrap();
        assert_eq!(failure.code, RESOURCE_LIMIT_EXCEEDED);
        assert!(deadline.is_cancelled());
    }
}

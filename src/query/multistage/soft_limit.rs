//! A repair of DataFusion's optimized plans before they run: a `SELECT
//! DISTINCT ... LIMIT n` gets a soft limit in its aggregate (the
//! `LimitedDistinctAggregation` rule) for an unordered input, and later
//! rules can leave that aggregate grouping an ordered input (a window
//! function's output, such as `COUNT(*) OVER (... ROWS BETWEEN 1 PRECEDING
//! AND CURRENT ROW)`). The aggregate then runs the soft limit as a top-k
//! that needs an ordering direction it was never given, and fails the
//! valid query with an internal error. Those aggregates lose the soft
//! limit and run as plain hash aggregations; the LIMIT above them still
//! applies, so the answer is the same.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::ExecutionPlan;

/// `plan` without soft limits its aggregates could not run.
pub fn drop_unusable(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    let repaired = plan.transform_up(|node| {
        let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
            return Ok(Transformed::no(node));
        };
        // The aggregate runs its limit as a top-k unless its input is
        // unordered; a top-k needs a direction, given by the limit (ORDER
        // BY pushed down) or by a lone MIN/MAX.
        let unusable = aggregate.limit_options().is_some_and(|limit| {
            limit.descending.is_none()
                && aggregate.get_minmax_desc().is_none()
                && !aggregate.is_unordered_unfiltered_group_by_distinct()
        });
        if !unusable {
            return Ok(Transformed::no(node));
        }
        let plain: Arc<dyn ExecutionPlan> = Arc::new(aggregate.with_new_limit_options(None));
        Ok(Transformed::yes(plain))
    })?;
    Ok(repaired.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    use arrow_array::{Float64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::collect;
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// DISTINCT over a window function with a LIMIT: DataFusion gives the
    /// aggregate a soft limit it cannot run.
    const SQL: &str = "SELECT DISTINCT COUNT(*) OVER (PARTITION BY country ORDER BY side \
                       ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), price FROM t LIMIT 1";

    async fn plan() -> (SessionContext, Arc<dyn ExecutionPlan>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("country", DataType::Utf8, false),
            Field::new("side", DataType::Utf8, false),
            Field::new("price", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    (0..100).map(|i| format!("C{}", i % 5)),
                )),
                Arc::new(StringArray::from_iter_values((0..100).map(|i| {
                    if i % 2 == 0 {
                        "BUY"
                    } else {
                        "SELL"
                    }
                }))),
                Arc::new(Float64Array::from_iter_values((0..100).map(f64::from))),
            ],
        )
        .unwrap();
        let context =
            SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
        let table = MemTable::try_new(schema, vec![vec![batch.clone()], vec![batch]]).unwrap();
        context.register_table("t", Arc::new(table)).unwrap();
        let frame = context.sql(SQL).await.unwrap();
        let plan = frame.create_physical_plan().await.unwrap();
        (context, plan)
    }

    #[tokio::test]
    async fn distinct_over_a_window_with_a_limit_runs_once_repaired() {
        let (context, plan) = plan().await;
        // When this starts passing, DataFusion has fixed the plan and the
        // repair can go.
        let broken = collect(plan.clone(), context.task_ctx()).await;
        assert!(broken.is_err(), "DataFusion runs the plan as it is now");
        let repaired = drop_unusable(plan).unwrap();
        let batches = collect(repaired, context.task_ctx()).await.unwrap();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 1);
    }
}

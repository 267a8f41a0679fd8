//! EXPLAIN PLAN FOR: the operator tree as Pinot prints it, one row per
//! operator with `Operator`, `Operator_Id` and `Parent_Id`.

use super::filter::{Filter, Pred};
use super::plan::{Plan, PlanKind};
use super::response::ResultTable;
use crate::expr::value::{ColumnType, Value};

/// A configured star-tree: its dimensions and stored `FUNCTION__column`
/// metrics.
pub type TreeNames = (Vec<String>, Vec<String>);

/// The indexes the table config gives each column.
#[derive(Debug, Default, Clone)]
pub struct TableIndexes {
    pub sorted: Option<String>,
    pub inverted: Vec<String>,
    pub range: Vec<String>,
    pub bloom: Vec<String>,
    /// Configured star-trees: dimensions and stored `FUNCTION__column`
    /// metrics.
    pub star_trees: Vec<TreeNames>,
    pub time_column: Option<String>,
}

impl TableIndexes {
    /// Pinot's filter operator for a predicate on `column`.
    fn operator(&self, column: &str, pred: &Pred) -> &'static str {
        let has = |list: &[String]| list.iter().any(|c| c == column);
        let sorted = self.sorted.as_deref() == Some(column);
        match pred {
            Pred::IsNull => "FILTER_NULL_VECTOR",
            Pred::In(_) if sorted => "FILTER_SORTED_INDEX",
            Pred::In(_) if has(&self.inverted) => "FILTER_INVERTED_INDEX",
            Pred::Range(..) if sorted => "FILTER_SORTED_INDEX",
            Pred::Range(..) if has(&self.range) => "FILTER_RANGE_INDEX",
            _ => "FILTER_FULL_SCAN",
        }
    }
}

struct Tree<'a> {
    rows: Vec<Vec<Value>>,
    indexes: &'a TableIndexes,
}

impl Tree<'_> {
    fn add(&mut self, operator: String, parent: i64) -> i64 {
        let id = self.rows.len() as i64;
        self.rows.push(vec![
            Value::Str(operator),
            Value::Long(id),
            Value::Long(parent),
        ]);
        id
    }

    fn filter(&mut self, filter: &Filter, parent: i64) {
        match filter {
            Filter::Const(true) => {
                self.add("FILTER_MATCH_ENTIRE_SEGMENT".into(), parent);
            }
            Filter::Const(false) => {
                self.add("FILTER_EMPTY".into(), parent);
            }
            Filter::And(children) | Filter::Or(children) => {
                let name = if matches!(filter, Filter::And(_)) {
                    "FILTER_AND"
                } else {
                    "FILTER_OR"
                };
                let id = self.add(name.into(), parent);
                children.iter().for_each(|child| self.filter(child, id));
            }
            Filter::Not(child) => {
                let id = self.add("FILTER_NOT".into(), parent);
                self.filter(child, id);
            }
            Filter::Column { column, pred } => {
                let predicate = match pred {
                    Pred::In(values) if values.len() == 1 => {
                        format!("{} = '{}'", column.name, values[0].to_text())
                    }
                    Pred::In(values) => format!(
                        "{} IN ({})",
                        column.name,
                        values
                            .iter()
                            .map(|v| format!("'{}'", v.to_text()))
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                    Pred::Range(low, high) => range_text(&column.name, low, high),
                    Pred::Regex(regex) => {
                        format!("REGEXP_LIKE({},'{}')", column.name, regex.as_str())
                    }
                    Pred::IsNull => format!("{} IS NULL", column.name),
                };
                let operator = self.indexes.operator(&column.name, pred);
                let bloom =
                    if self.indexes.bloom.contains(&column.name) && matches!(pred, Pred::In(_)) {
                        ",bloomFilter:prunes segments"
                    } else {
                        ""
                    };
                self.add(
                    format!(
                        "{operator}(operator:{},predicate:{predicate}{bloom})",
                        pred_name(pred)
                    ),
                    parent,
                );
            }
            Filter::Expr(expr) => {
                self.add(
                    format!("FILTER_EXPRESSION(predicate:{})", expr.pinot_name()),
                    parent,
                );
            }
        }
    }
}

/// `price BETWEEN '100' AND '101'`, `shares > '10'`.
fn range_text(column: &str, low: &std::ops::Bound<Value>, high: &std::ops::Bound<Value>) -> String {
    use std::ops::Bound;
    let text = |v: &Value| format!("'{}'", v.to_text());
    match (low, high) {
        (Bound::Included(a), Bound::Included(b)) => {
            format!("{column} BETWEEN {} AND {}", text(a), text(b))
        }
        _ => {
            let mut parts = Vec::new();
            match low {
                Bound::Included(v) => parts.push(format!("{column} >= {}", text(v))),
                Bound::Excluded(v) => parts.push(format!("{column} > {}", text(v))),
                Bound::Unbounded => {}
            }
            match high {
                Bound::Included(v) => parts.push(format!("{column} <= {}", text(v))),
                Bound::Excluded(v) => parts.push(format!("{column} < {}", text(v))),
                Bound::Unbounded => {}
            }
            parts.join(" AND ")
        }
    }
}

fn pred_name(pred: &Pred) -> &'static str {
    match pred {
        Pred::In(values) if values.len() == 1 => "EQ",
        Pred::In(_) => "IN",
        Pred::Range(..) => "RANGE",
        Pred::Regex(_) => "REGEXP_LIKE",
        Pred::IsNull => "IS_NULL",
    }
}

/// The operator tree of `plan` for a table with `indexes`. Statistics may
/// still prune a segment or match it whole before any index is read.
pub fn explain(plan: &Plan, indexes: &TableIndexes) -> ResultTable {
    let mut tree = Tree {
        rows: Vec::new(),
        indexes,
    };
    let root = tree.add(format!("BROKER_REDUCE(limit:{})", plan.limit), -1);
    let (combine, operator) = match &plan.kind {
        PlanKind::Aggregate {
            group_by,
            aggregates,
            ..
        } => {
            let aggs: Vec<&str> = aggregates.iter().map(|a| a.name.as_str()).collect();
            if group_by.is_empty() {
                (
                    "COMBINE_AGGREGATE".to_string(),
                    format!("AGGREGATE(aggregations:{})", aggs.join(", ")),
                )
            } else {
                let keys: Vec<String> = group_by.iter().map(|k| k.pinot_name()).collect();
                (
                    "COMBINE_GROUP_BY".to_string(),
                    format!(
                        "GROUP_BY(groupKeys:{}, aggregations:{})",
                        keys.join(", "),
                        aggs.join(", ")
                    ),
                )
            }
        }
        PlanKind::Select { select, order_by } => {
            let columns: Vec<String> = select.iter().map(|e| e.pinot_name()).collect();
            if order_by.is_empty() {
                (
                    "COMBINE_SELECT".to_string(),
                    format!("SELECT(selectList:{})", columns.join(", ")),
                )
            } else {
                (
                    "COMBINE_SELECT_ORDERBY".to_string(),
                    format!("SELECT_ORDERBY(selectList:{})", columns.join(", ")),
                )
            }
        }
    };
    let combine = tree.add(combine, root);
    let start = tree.add("PLAN_START(numSegmentsForThisPlan:all)".into(), combine);
    let operator = tree.add(operator, start);
    let columns: Vec<&str> = plan.columns.iter().map(|c| c.name.as_str()).collect();
    let project = tree.add(format!("PROJECT({})", columns.join(", ")), operator);
    let doc_ids = tree.add("DOC_ID_SET".into(), project);
    let star_tree =
        super::exec::covering_tree(plan, &indexes.star_trees, indexes.time_column.as_deref());
    // A star-tree answers from its pre-aggregated records; its predicates
    // are tested on dimension values.
    let filter_parent = match star_tree {
        Some((dimensions, metrics)) => tree.add(
            format!(
                "FILTER_STARTREE_INDEX(dimensions:{}, metrics:{})",
                dimensions.join(", "),
                metrics.join(", ")
            ),
            doc_ids,
        ),
        None => doc_ids,
    };
    match &plan.filter {
        Some(filter) => tree.filter(filter, filter_parent),
        None if star_tree.is_some() => {}
        None => tree.filter(&Filter::Const(true), filter_parent),
    }
    ResultTable {
        columns: vec![
            ("Operator".into(), ColumnType::String),
            ("Operator_Id".into(), ColumnType::Int),
            ("Parent_Id".into(), ColumnType::Int),
        ],
        rows: tree.rows,
    }
}

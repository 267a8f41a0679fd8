//! The plan of a single-table query: which docs (the filter), and either
//! aggregation (group keys, aggregates, then post-aggregation SELECT,
//! HAVING and ORDER BY over keys and aggregates) or selection (expressions
//! per doc, ORDER BY per doc).

use super::agg::Aggregate;
use super::filter::Filter;
use super::options::QueryOptions;
use crate::expr::value::ColumnType;
use crate::expr::{ColumnRef, Expr};

/// One column of the result.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: String,
    pub ty: ColumnType,
}

#[derive(Debug, Clone)]
pub enum PlanKind {
    Aggregate {
        group_by: Vec<Expr>,
        aggregates: Vec<Aggregate>,
        /// Over `Expr::Key` and `Expr::Agg`.
        select: Vec<Expr>,
        having: Option<Expr>,
        order_by: Vec<(Expr, bool)>,
    },
    Select {
        select: Vec<Expr>,
        /// `(expression, descending)`.
        order_by: Vec<(Expr, bool)>,
    },
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The table as the query names it.
    pub table: String,
    pub filter: Option<Filter>,
    pub kind: PlanKind,
    pub limit: usize,
    pub offset: usize,
    pub output: Vec<Output>,
    pub options: QueryOptions,
    /// Every column the query reads.
    pub columns: Vec<ColumnRef>,
}

impl Plan {
    /// Fills `columns` from the filter and the expressions.
    pub fn collect_columns(&mut self) {
        self.columns = self.read_columns();
    }

    /// Every column the filter and the expressions read, each once, in
    /// the order first read.
    pub fn read_columns(&self) -> Vec<ColumnRef> {
        let mut columns: Vec<ColumnRef> = Vec::new();
        let mut add = |column: &ColumnRef| {
            if !columns.iter().any(|c| c.name == column.name) {
                columns.push(column.clone());
            }
        };
        if let Some(filter) = &self.filter {
            filter.columns(&mut add);
        }
        match &self.kind {
            PlanKind::Aggregate {
                group_by,
                aggregates,
                ..
            } => {
                group_by.iter().for_each(|e| e.columns(&mut add));
                for aggregate in aggregates {
                    if let Some(arg) = &aggregate.arg {
                        arg.columns(&mut add);
                    }
                    if let Some(filter) = &aggregate.filter {
                        filter.columns(&mut add);
                    }
                }
            }
            PlanKind::Select { select, order_by } => {
                select.iter().for_each(|e| e.columns(&mut add));
                order_by.iter().for_each(|(e, _)| e.columns(&mut add));
            }
        }
        columns
    }
}

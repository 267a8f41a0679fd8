//! From SQL text to a [`Plan`] of the single-table engine.
//!
//! `SET key = value;` prefixes become query options; the statement is
//! parsed with sqlparser (double quotes and backticks quote identifiers,
//! single quotes quote strings, as in Pinot). A SELECT over one table with
//! no join, subquery, window, CTE or set operation is planned here; any
//! other query is reported as [`Route::MultiStage`].

use std::collections::HashMap;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, GroupByExpr, LimitClause, OrderByKind, SelectItem, SetExpr, Statement, TableFactor,
    Visit, Visitor,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

mod conditions;
mod patterns;
mod select_list;
mod shape;
mod translate;

use super::agg::Aggregate;
use super::error::QueryError;
use super::options::QueryOptions;
use super::plan::{Output, Plan, PlanKind};
use crate::catalog::names::did_you_mean;
use crate::expr::value::{ColumnType, Value};
use crate::expr::{ColumnRef, Expr};
pub use patterns::{like_regex, regex_from_source};
pub use shape::{MAX_CONDITION_TERMS, MAX_EXPRESSION_DEPTH};
use translate::Planner;

/// Pinot's LIMIT when a query has none.
pub const DEFAULT_LIMIT: usize = 10;

/// What a query text asks for.
pub enum Route {
    /// A single-table query, or its EXPLAIN PLAN.
    Single {
        query: Box<ast::Query>,
        explain: bool,
    },
    /// Joins, subqueries, window functions, CTEs, set operations.
    MultiStage { sql: String },
}

/// Splits `SET key = value;` prefixes off `sql`, adding them to `options`,
/// and parses the remaining statement.
pub fn parse(sql: &str, options: &mut QueryOptions) -> Result<Route, QueryError> {
    let mut statement = sql.trim();
    while let Some((head, rest)) = split_set(statement) {
        options.set_from_sql(head)?;
        statement = rest.trim();
    }
    let mut statement = statement.trim_end_matches(';').trim();
    let mut explain_plan = false;
    if let Some(rest) = strip_explain_plan(statement) {
        statement = rest;
        explain_plan = true;
    }
    if statement.is_empty() {
        return Err(QueryError::parse(
            "the query is empty; expected a SELECT statement",
        ));
    }
    let tokens = shape::tokenize(statement)?;
    let mut statements = Parser::new(&GenericDialect {})
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|err| QueryError::parse(format!("{err}")))?;
    for statement in &mut statements {
        shape::normalize(statement, options.max_in_list_items)?;
        select_list::check(statement)?;
    }
    if statements.len() != 1 {
        return Err(QueryError::parse(format!(
            "expected one SELECT statement after any SET options, found {}",
            statements.len()
        )));
    }
    let (query, explain) = match statements.remove(0) {
        Statement::Query(query) => (query, explain_plan),
        Statement::Explain { statement, .. } => match *statement {
            Statement::Query(query) => (query, true),
            other => {
                return Err(QueryError::parse(format!(
                    "EXPLAIN PLAN FOR takes a SELECT statement, not `{other}`"
                )))
            }
        },
        other => {
            return Err(QueryError::parse(format!(
                "only SELECT statements are queries; got `{}`",
                other.to_string().chars().take(60).collect::<String>()
            )))
        }
    };
    if needs_multi_stage(&query) || options.use_multistage {
        if explain {
            return Err(QueryError::validation(
                "EXPLAIN PLAN FOR is supported for single-table queries only",
            ));
        }
        return Ok(Route::MultiStage {
            sql: query.to_string(),
        });
    }
    Ok(Route::Single { query, explain })
}

/// The statement after Pinot's `EXPLAIN PLAN FOR` prefix.
fn strip_explain_plan(sql: &str) -> Option<&str> {
    let mut rest = sql;
    for word in ["EXPLAIN", "PLAN", "FOR"] {
        let trimmed = rest.trim_start();
        let head = trimmed.get(..word.len())?;
        if !head.eq_ignore_ascii_case(word) {
            return None;
        }
        rest = &trimmed[word.len()..];
        if !rest.starts_with(char::is_whitespace) {
            return None;
        }
    }
    Some(rest.trim())
}

/// `("key = value", rest)` when `sql` starts with a SET statement.
fn split_set(sql: &str) -> Option<(&str, &str)> {
    let head = sql.get(..4)?;
    if !head.eq_ignore_ascii_case("set ") && !head.eq_ignore_ascii_case("set\t") {
        return None;
    }
    let mut quote = None;
    for (index, c) in sql.char_indices() {
        match (quote, c) {
            (None, '\'' | '"' | '`') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ';') => return Some((&sql[4..index], &sql[index + 1..])),
            _ => {}
        }
    }
    None
}

fn needs_multi_stage(query: &ast::Query) -> bool {
    if query.with.is_some() {
        return true;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return true;
    };
    if select.from.len() != 1 || !select.from[0].joins.is_empty() {
        return true;
    }
    if !matches!(select.from[0].relation, TableFactor::Table { .. }) {
        return true;
    }
    // Subqueries and window functions anywhere in the statement, found in
    // its syntax tree (a string literal holding `(SELECT ` or ` OVER ` is
    // only text).
    !select.named_window.is_empty() || select.visit(&mut SubqueryOrWindow).is_break()
}

/// Stops at the first subquery or window function it visits.
struct SubqueryOrWindow;

impl Visitor for SubqueryOrWindow {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &ast::Query) -> ControlFlow<()> {
        ControlFlow::Break(())
    }

    fn pre_visit_expr(&mut self, expr: &ast::Expr) -> ControlFlow<()> {
        match expr {
            ast::Expr::Function(function) if function.over.is_some() => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }
}

/// The table a single-table query reads.
pub fn table_name(query: &ast::Query) -> Result<String, QueryError> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Err(QueryError::parse("expected SELECT ... FROM table"));
    };
    match select.from.first().map(|from| &from.relation) {
        Some(TableFactor::Table { name, .. }) => Ok(name
            .0
            .last()
            .map(|part| part.to_string())
            .unwrap_or_default()
            .trim_matches(|c| c == '"' || c == '`')
            .to_string()),
        _ => Err(QueryError::parse(
            "a query needs FROM with a table name, e.g. SELECT COUNT(*) FROM myTable",
        )),
    }
}

/// The columns of the queried table: name → type.
pub struct TableColumns {
    pub table: String,
    /// Name → (type, default null value).
    pub columns: HashMap<String, (ColumnType, Value)>,
}

impl TableColumns {
    /// The columns of `schema`, queried as table `table`.
    pub fn of_schema(table: &str, schema: &crate::catalog::Schema) -> TableColumns {
        TableColumns {
            table: table.to_string(),
            columns: schema
                .columns()
                .map(|column| {
                    (
                        column.name.to_string(),
                        (
                            ColumnType::of(column.data_type, column.single_value),
                            Value::from_scalar(crate::segment::default_null_value(&column)),
                        ),
                    )
                })
                .collect(),
        }
    }

    fn resolve(&self, name: &str) -> Result<ColumnRef, QueryError> {
        let name = name.trim_matches(|c| c == '"' || c == '`');
        if let Some((ty, default)) = self.columns.get(name) {
            return Ok(ColumnRef {
                name: name.to_string(),
                ty: *ty,
                default: default.clone(),
            });
        }
        if let Some((real, (ty, default))) = self
            .columns
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
        {
            return Ok(ColumnRef {
                name: real.clone(),
                ty: *ty,
                default: default.clone(),
            });
        }
        let mut names: Vec<&str> = self.columns.keys().map(String::as_str).collect();
        names.sort_unstable();
        Err(QueryError::unknown_column(format!(
            "unknown column `{name}` in table {}{}",
            self.table,
            did_you_mean(name, names.iter().copied())
        )))
    }
}

/// Plans one scalar expression (no aggregates) over `table`'s columns, as
/// a query's SELECT list would: ingestion transforms and filters compile
/// through here.
pub fn plan_scalar(expr: &ast::Expr, table: &TableColumns) -> Result<Expr, QueryError> {
    let mut planner = Planner {
        table,
        aggregates: Vec::new(),
    };
    planner.expr(expr, false)
}

/// Plans a single-table query against `table`'s columns.
pub fn plan(
    query: &ast::Query,
    table: &TableColumns,
    options: QueryOptions,
) -> Result<Plan, QueryError> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Err(QueryError::parse("expected a SELECT statement"));
    };
    let mut planner = Planner {
        table,
        aggregates: Vec::new(),
    };
    // SELECT list, expanding `*`.
    let mut items: Vec<(Expr, String, Option<String>)> = Vec::new();
    for item in &select.projection {
        match item {
            SelectItem::UnnamedExpr(expr) => {
                let translated = planner.expr(expr, true)?;
                let name = output_name(&translated, &planner.aggregates);
                items.push((translated, name, None));
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let translated = planner.expr(expr, true)?;
                items.push((translated, alias.value.clone(), Some(alias.value.clone())));
            }
            SelectItem::Wildcard(_) => {
                let mut names: Vec<&String> = table.columns.keys().collect();
                names.sort();
                for name in names {
                    let column = table.resolve(name)?;
                    items.push((Expr::Column(column), name.clone(), None));
                }
            }
            other => {
                return Err(QueryError::parse(format!(
                    "unsupported select item `{other}`"
                )))
            }
        }
    }
    let alias_of = |name: &str| {
        items
            .iter()
            .position(|(_, _, alias)| alias.as_deref() == Some(name))
    };
    let filter = match &select.selection {
        Some(expr) => Some(planner.filter(expr)?),
        None => None,
    };
    // GROUP BY: expressions, select aliases or ordinals.
    let mut group_by = Vec::new();
    if let GroupByExpr::Expressions(exprs, _) = &select.group_by {
        for expr in exprs {
            group_by.push(match expr {
                ast::Expr::Identifier(ident) if table.resolve(&ident.value).is_err() => {
                    match alias_of(&ident.value) {
                        Some(index) => items[index].0.clone(),
                        None => planner.expr(expr, false)?,
                    }
                }
                ast::Expr::Value(value) => {
                    let ordinal = ordinal(&value.value, items.len(), "GROUP BY")?;
                    items[ordinal].0.clone()
                }
                _ => planner.expr(expr, false)?,
            });
        }
    } else {
        return Err(QueryError::parse(
            "GROUP BY ALL is not supported; list the columns",
        ));
    }
    let distinct = matches!(select.distinct, Some(ast::Distinct::Distinct));
    let mut order_items = Vec::new();
    if let Some(order_by) = &query.order_by {
        let OrderByKind::Expressions(exprs) = &order_by.kind else {
            return Err(QueryError::parse(
                "ORDER BY ALL is not supported; list the columns",
            ));
        };
        for item in exprs {
            let desc = item.options.asc == Some(false);
            let expr = match &item.expr {
                ast::Expr::Identifier(ident) if alias_of(&ident.value).is_some() => {
                    let index = alias_of(&ident.value).unwrap_or_default();
                    items[index].0.clone()
                }
                ast::Expr::Value(value) => {
                    let ordinal = ordinal(&value.value, items.len(), "ORDER BY")?;
                    items[ordinal].0.clone()
                }
                other => planner.expr(other, true)?,
            };
            order_items.push((expr, desc));
        }
    }
    let having = match &select.having {
        Some(expr) => Some(planner.expr(expr, true)?),
        None => None,
    };
    // After ORDER BY and HAVING, which may add aggregates of their own.
    let has_aggs = !planner.aggregates.is_empty() || select.having.is_some();
    let (limit, offset) = limit_offset(query)?;
    let output: Vec<Output> = items
        .iter()
        .map(|(expr, name, _)| Output {
            name: name.clone(),
            ty: expr.column_type(),
        })
        .collect();
    let aggregates = std::mem::take(&mut planner.aggregates);
    let kind = if has_aggs || !group_by.is_empty() || distinct {
        if distinct {
            if !aggregates.is_empty() {
                return Err(QueryError::validation(
                    "SELECT DISTINCT cannot be combined with aggregate functions",
                ));
            }
            if group_by.is_empty() {
                group_by = items.iter().map(|(expr, _, _)| expr.clone()).collect();
            }
        }
        let post = |expr: &Expr| post_aggregation(expr, &group_by);
        PlanKind::Aggregate {
            select: items
                .iter()
                .map(|(e, _, _)| post(e))
                .collect::<Result<_, _>>()?,
            having: having.as_ref().map(post).transpose()?,
            order_by: order_items
                .iter()
                .map(|(e, desc)| Ok((post(e)?, *desc)))
                .collect::<Result<_, QueryError>>()?,
            group_by: group_by.clone(),
            aggregates,
        }
    } else {
        PlanKind::Select {
            select: items.into_iter().map(|(e, _, _)| e).collect(),
            order_by: order_items,
        }
    };
    let mut plan = Plan {
        table: table.table.clone(),
        filter,
        kind,
        limit,
        offset,
        output,
        options,
        columns: Vec::new(),
    };
    plan.collect_columns();
    Ok(plan)
}

/// Rewrites a select/having/order expression to read group keys and
/// aggregates; a column outside the GROUP BY is an error.
#[recursive::recursive]
fn post_aggregation(expr: &Expr, group_by: &[Expr]) -> Result<Expr, QueryError> {
    if let Some(index) = group_by.iter().position(|key| key.same_as(expr)) {
        return Ok(Expr::Key(index, expr.column_type()));
    }
    let recurse = |e: &Expr| post_aggregation(e, group_by).map(Box::new);
    Ok(match expr {
        Expr::Column(column) => {
            return Err(QueryError::validation(format!(
                "column `{}` must appear in GROUP BY or be used in an aggregate function",
                column.name
            )))
        }
        Expr::Literal(_) | Expr::Agg(..) | Expr::Key(..) => expr.clone(),
        Expr::Neg(inner) => Expr::Neg(recurse(inner)?),
        Expr::Not(inner) => Expr::Not(recurse(inner)?),
        Expr::Binary { op, left, right } => Expr::Binary {
            op: *op,
            left: recurse(left)?,
            right: recurse(right)?,
        },
        Expr::Func { func, args } => Expr::Func {
            func: *func,
            args: args
                .iter()
                .map(|arg| post_aggregation(arg, group_by))
                .collect::<Result<_, _>>()?,
        },
        Expr::Case {
            branches,
            otherwise,
        } => Expr::Case {
            branches: branches
                .iter()
                .map(|(w, t)| {
                    Ok((
                        post_aggregation(w, group_by)?,
                        post_aggregation(t, group_by)?,
                    ))
                })
                .collect::<Result<_, QueryError>>()?,
            otherwise: otherwise.as_ref().map(|e| recurse(e)).transpose()?,
        },
        Expr::Cast { expr, to } => Expr::Cast {
            expr: recurse(expr)?,
            to: *to,
        },
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: recurse(expr)?,
            list: list.clone(),
            negated: *negated,
        },
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => Expr::Between {
            expr: recurse(expr)?,
            low: recurse(low)?,
            high: recurse(high)?,
            negated: *negated,
        },
        Expr::Like {
            expr,
            pattern,
            negated,
        } => Expr::Like {
            expr: recurse(expr)?,
            pattern: pattern.clone(),
            negated: *negated,
        },
        Expr::IsNull { column, .. } => {
            return Err(QueryError::validation(format!(
                "column `{}` must appear in GROUP BY to be tested for null after aggregation",
                column.name
            )))
        }
    })
}

/// Pinot's column name for a select item without an alias.
fn output_name(expr: &Expr, aggregates: &[Aggregate]) -> String {
    let mut name = expr.pinot_name();
    for (index, aggregate) in aggregates.iter().enumerate().rev() {
        name = name.replace(&format!("$agg{index}"), &aggregate.name);
    }
    name
}

fn ordinal(value: &ast::Value, count: usize, clause: &str) -> Result<usize, QueryError> {
    match value {
        ast::Value::Number(text, _) => match text.parse::<usize>() {
            Ok(n) if (1..=count).contains(&n) => Ok(n - 1),
            _ => Err(QueryError::validation(format!(
                "{clause} position {text} is not between 1 and the {count} selected columns"
            ))),
        },
        other => Err(QueryError::validation(format!(
            "{clause} {other}: expected a column, an expression or a select-list position"
        ))),
    }
}

fn limit_offset(query: &ast::Query) -> Result<(usize, usize), QueryError> {
    let number = |expr: &ast::Expr, what: &str| -> Result<usize, QueryError> {
        match expr {
            ast::Expr::Value(value) => match &value.value {
                ast::Value::Number(text, _) => text.parse().map_err(|_| {
                    QueryError::validation(format!("{what} {text} is not a non-negative integer"))
                }),
                other => Err(QueryError::validation(format!(
                    "{what} {other} is not a non-negative integer"
                ))),
            },
            other => Err(QueryError::validation(format!(
                "{what} {other} is not a non-negative integer"
            ))),
        }
    };
    Ok(match &query.limit_clause {
        None => (DEFAULT_LIMIT, 0),
        Some(LimitClause::LimitOffset { limit, offset, .. }) => (
            match limit {
                Some(limit) => number(limit, "LIMIT")?,
                None => DEFAULT_LIMIT,
            },
            match offset {
                Some(offset) => number(&offset.value, "OFFSET")?,
                None => 0,
            },
        ),
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
            (number(limit, "LIMIT")?, number(offset, "OFFSET")?)
        }
    })
}

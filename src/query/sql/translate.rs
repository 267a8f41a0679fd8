//! Translating sqlparser's AST into the engine's expressions and filters:
//! column resolution, literals, operators, Pinot's functions and
//! aggregates, and the column predicates the indexes answer.

use std::ops::Bound;

use datafusion::sql::sqlparser::ast::{
    self, BinaryOperator, CastKind, DuplicateTreatment, FunctionArg, FunctionArgExpr,
    FunctionArguments, UnaryOperator,
};

use super::conditions::{chain_operands, merge_equalities};
use super::patterns::{like_regex, regex};
use super::TableColumns;
use crate::catalog::names::did_you_mean;
use crate::expr::eval::eval_row;
use crate::expr::functions::{self, Func};
use crate::expr::value::{ColumnType, Kind, Value};
use crate::expr::{BinOp, ColumnRef, Expr};
use crate::query::agg::{AggFunc, Aggregate};
use crate::query::error::QueryError;
use crate::query::filter::{Filter, Pred};

pub(super) struct Planner<'a> {
    pub(super) table: &'a TableColumns,
    pub(super) aggregates: Vec<Aggregate>,
}

fn literal(value: &ast::Value) -> Result<Value, QueryError> {
    crate::expr::literal::literal(value).map_err(QueryError::parse)
}

/// The value of a constant expression.
fn fold(expr: &Expr) -> Option<Value> {
    let mut has_columns = false;
    expr.columns(&mut |_| has_columns = true);
    if has_columns || contains_agg(expr) {
        return None;
    }
    eval_row(expr, &[], &[]).ok()
}

#[recursive::recursive]
fn contains_agg(expr: &Expr) -> bool {
    matches!(expr, Expr::Agg(..) | Expr::Key(..))
        || match expr {
            Expr::Neg(e) | Expr::Not(e) => contains_agg(e),
            Expr::Binary { left, right, .. } => contains_agg(left) || contains_agg(right),
            Expr::Func { args, .. } => args.iter().any(contains_agg),
            Expr::Case {
                branches,
                otherwise,
            } => {
                branches
                    .iter()
                    .any(|(w, t)| contains_agg(w) || contains_agg(t))
                    || otherwise.as_deref().is_some_and(contains_agg)
            }
            Expr::Cast { expr, .. } | Expr::InList { expr, .. } | Expr::Like { expr, .. } => {
                contains_agg(expr)
            }
            Expr::Between {
                expr, low, high, ..
            } => contains_agg(expr) || contains_agg(low) || contains_agg(high),
            _ => false,
        }
}

/// Converts a literal to the kind of the column it is compared with.
fn coerce_to(column: &ColumnRef, value: Value) -> Result<Value, QueryError> {
    let kind = column.ty.kind();
    Ok(match (kind, &value) {
        (Kind::Long | Kind::Double | Kind::Bool, Value::Str(text)) => {
            let trimmed = text.trim();
            if kind == Kind::Bool || column.ty == ColumnType::Boolean {
                match trimmed.to_ascii_lowercase().as_str() {
                    "true" => return Ok(Value::Long(1)),
                    "false" => return Ok(Value::Long(0)),
                    _ => {}
                }
            }
            match trimmed.parse::<i64>() {
                Ok(v) => Value::Long(v),
                Err(_) => Value::Double(trimmed.parse().map_err(|_| {
                    QueryError::validation(format!(
                        "`{text}` is not a number, but column `{}` is {}",
                        column.name,
                        column.ty.name()
                    ))
                })?),
            }
        }
        (Kind::Str, Value::Long(_) | Value::Double(_)) => Value::Str(value.to_text()),
        _ => value,
    })
}

fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        other => other,
    }
}

impl Planner<'_> {
    /// Translates a WHERE (or FILTER) condition. AND/OR chains are
    /// flattened without recursion, and equalities on one column joined by
    /// OR become one IN, as Pinot's optimizer does.
    #[recursive::recursive]
    pub(super) fn filter(&mut self, expr: &ast::Expr) -> Result<Filter, QueryError> {
        Ok(match expr {
            ast::Expr::Nested(inner) => self.filter(inner)?,
            ast::Expr::BinaryOp { op, .. }
                if matches!(op, BinaryOperator::And | BinaryOperator::Or) =>
            {
                let and = *op == BinaryOperator::And;
                let mut children = Vec::new();
                for operand in chain_operands(expr, op) {
                    match self.filter(operand)? {
                        Filter::And(inner) if and => children.extend(inner),
                        Filter::Or(inner) if !and => children.extend(inner),
                        other => children.push(other),
                    }
                }
                if and {
                    Filter::And(children)
                } else {
                    let mut children = merge_equalities(children);
                    match children.pop() {
                        Some(only) if children.is_empty() => only,
                        Some(last) => {
                            children.push(last);
                            Filter::Or(children)
                        }
                        None => Filter::Const(false),
                    }
                }
            }
            ast::Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => Filter::Not(Box::new(self.filter(expr)?)),
            _ => {
                let translated = self.expr(expr, false)?;
                if !matches!(translated.kind(), Kind::Bool | Kind::Long) {
                    return Err(QueryError::validation(format!(
                        "WHERE needs a condition, but `{expr}` is a {}",
                        translated.column_type().name()
                    )));
                }
                self.predicate(translated)
            }
        })
    }

    /// A column predicate the indexes can answer, or a general expression.
    fn predicate(&self, expr: Expr) -> Filter {
        let column_pred = |column: &ColumnRef, pred: Pred| Filter::Column {
            column: column.clone(),
            pred,
        };
        match &expr {
            Expr::Binary { op, left, right } if !op.is_arithmetic() => {
                let (column, value, op) = match (left.as_ref(), right.as_ref()) {
                    (Expr::Column(c), other) => match fold(other) {
                        Some(v) => (c, v, *op),
                        None => return Filter::Expr(expr),
                    },
                    (other, Expr::Column(c)) => match fold(other) {
                        Some(v) => (c, v, flip(*op)),
                        None => return Filter::Expr(expr),
                    },
                    _ => return Filter::Expr(expr),
                };
                let Ok(value) = coerce_to(column, value) else {
                    return Filter::Expr(expr);
                };
                if value.is_null() {
                    return Filter::Const(false);
                }
                let pred = match op {
                    BinOp::Eq => Pred::In(vec![value].into()),
                    BinOp::NotEq => {
                        return Filter::Not(Box::new(column_pred(
                            column,
                            Pred::In(vec![value].into()),
                        )))
                    }
                    BinOp::Lt => Pred::Range(Bound::Unbounded, Bound::Excluded(value)),
                    BinOp::LtEq => Pred::Range(Bound::Unbounded, Bound::Included(value)),
                    BinOp::Gt => Pred::Range(Bound::Excluded(value), Bound::Unbounded),
                    BinOp::GtEq => Pred::Range(Bound::Included(value), Bound::Unbounded),
                    _ => return Filter::Expr(expr),
                };
                column_pred(column, pred)
            }
            Expr::InList {
                expr: inner,
                list,
                negated,
            } => match inner.as_ref() {
                Expr::Column(column) => {
                    let values: Result<Vec<Value>, _> =
                        list.iter().map(|v| coerce_to(column, v.clone())).collect();
                    let Ok(values) = values else {
                        return Filter::Expr(expr);
                    };
                    let filter = column_pred(column, Pred::In(values.into()));
                    if *negated {
                        Filter::Not(Box::new(filter))
                    } else {
                        filter
                    }
                }
                _ => Filter::Expr(expr),
            },
            Expr::Between {
                expr: inner,
                low,
                high,
                negated,
            } => match (inner.as_ref(), fold(low), fold(high)) {
                (Expr::Column(column), Some(low), Some(high)) => {
                    let (Ok(low), Ok(high)) = (coerce_to(column, low), coerce_to(column, high))
                    else {
                        return Filter::Expr(expr);
                    };
                    let filter = column_pred(
                        column,
                        Pred::Range(Bound::Included(low), Bound::Included(high)),
                    );
                    if *negated {
                        Filter::Not(Box::new(filter))
                    } else {
                        filter
                    }
                }
                _ => Filter::Expr(expr),
            },
            Expr::Like {
                expr: inner,
                pattern,
                negated,
            } => match inner.as_ref() {
                Expr::Column(column) => {
                    let filter = column_pred(column, Pred::Regex(pattern.clone()));
                    if *negated {
                        Filter::Not(Box::new(filter))
                    } else {
                        filter
                    }
                }
                _ => Filter::Expr(expr),
            },
            Expr::IsNull { column, negated } => {
                let filter = column_pred(column, Pred::IsNull);
                if *negated {
                    Filter::Not(Box::new(filter))
                } else {
                    filter
                }
            }
            Expr::Literal(value) => Filter::Const(crate::expr::eval::truthy(value)),
            _ => Filter::Expr(expr),
        }
    }

    /// Translates an expression; aggregates are allowed when `aggs` is set.
    #[recursive::recursive]
    pub(super) fn expr(&mut self, expr: &ast::Expr, aggs: bool) -> Result<Expr, QueryError> {
        let boxed = |planner: &mut Self, e: &ast::Expr| planner.expr(e, aggs).map(Box::new);
        Ok(match expr {
            ast::Expr::Identifier(ident) => Expr::Column(self.table.resolve(&ident.value)?),
            ast::Expr::CompoundIdentifier(parts) => {
                // `a.b.c`: a column of that name (a flattened nested
                // field), else `c` of table `a.b`.
                let full: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
                let last = full.last().copied().unwrap_or_default();
                match self.table.resolve(&full.join(".")) {
                    Ok(column) => Expr::Column(column),
                    Err(_) => Expr::Column(self.table.resolve(last)?),
                }
            }
            ast::Expr::Value(value) => Expr::Literal(literal(&value.value)?),
            ast::Expr::Nested(inner) => self.expr(inner, aggs)?,
            ast::Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Minus => {
                    let inner = self.expr(expr, aggs)?;
                    match inner {
                        Expr::Literal(Value::Long(v)) => Expr::Literal(Value::Long(-v)),
                        Expr::Literal(Value::Double(v)) => Expr::Literal(Value::Double(-v)),
                        other => Expr::Neg(Box::new(other)),
                    }
                }
                UnaryOperator::Plus => self.expr(expr, aggs)?,
                UnaryOperator::Not => Expr::Not(boxed(self, expr)?),
                other => return Err(QueryError::parse(format!("unsupported operator {other}"))),
            },
            ast::Expr::BinaryOp { left, op, right } => match BinOp::from_sql(op) {
                Some(op) => {
                    let left = boxed(self, left)?;
                    let right = boxed(self, right)?;
                    if op.is_arithmetic() {
                        for side in [&left, &right] {
                            if !side.kind().is_numeric()
                                && !matches!(**side, Expr::Literal(Value::Null))
                            {
                                return Err(QueryError::validation(format!(
                                    "`{}` is {}, but {} needs numbers",
                                    side.pinot_name(),
                                    side.column_type().name(),
                                    op.pinot_name()
                                )));
                            }
                        }
                    }
                    Expr::Binary { op, left, right }
                }
                None => {
                    return Err(QueryError::parse(format!(
                        "unsupported operator {op} in `{expr}`"
                    )))
                }
            },
            ast::Expr::IsNull(inner) | ast::Expr::IsNotNull(inner) => {
                let negated = matches!(expr, ast::Expr::IsNotNull(_));
                match self.expr(inner, aggs)? {
                    Expr::Column(column) => Expr::IsNull { column, negated },
                    other => {
                        return Err(QueryError::validation(format!(
                            "IS NULL applies to columns, not `{}`",
                            other.pinot_name()
                        )))
                    }
                }
            }
            ast::Expr::InList {
                expr: inner,
                list,
                negated,
            } => {
                let mut values = Vec::new();
                for item in list {
                    let translated = self.expr(item, false)?;
                    values.push(fold(&translated).ok_or_else(|| {
                        QueryError::validation(format!(
                            "IN lists take constants; `{item}` is not one"
                        ))
                    })?);
                }
                Expr::InList {
                    expr: boxed(self, inner)?,
                    list: values.into(),
                    negated: *negated,
                }
            }
            ast::Expr::Between {
                expr: inner,
                negated,
                low,
                high,
            } => Expr::Between {
                expr: boxed(self, inner)?,
                low: boxed(self, low)?,
                high: boxed(self, high)?,
                negated: *negated,
            },
            ast::Expr::Like {
                negated,
                expr: inner,
                pattern,
                ..
            } => {
                let pattern = self.constant_text(pattern, "LIKE")?;
                Expr::Like {
                    expr: boxed(self, inner)?,
                    pattern: like_regex(&pattern)?,
                    negated: *negated,
                }
            }
            ast::Expr::RLike {
                negated,
                expr: inner,
                pattern,
                ..
            } => {
                let pattern = self.constant_text(pattern, "REGEXP")?;
                Expr::Like {
                    expr: boxed(self, inner)?,
                    pattern: regex(&pattern)?,
                    negated: *negated,
                }
            }
            ast::Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(operand) => Some(self.expr(operand, aggs)?),
                    None => None,
                };
                let mut branches = Vec::new();
                for when in conditions {
                    let condition = self.expr(&when.condition, aggs)?;
                    let condition = match &operand {
                        Some(operand) => Expr::Binary {
                            op: BinOp::Eq,
                            left: Box::new(operand.clone()),
                            right: Box::new(condition),
                        },
                        None => condition,
                    };
                    branches.push((condition, self.expr(&when.result, aggs)?));
                }
                Expr::Case {
                    branches,
                    otherwise: match else_result {
                        Some(e) => Some(boxed(self, e)?),
                        None => None,
                    },
                }
            }
            ast::Expr::Cast {
                kind,
                expr: inner,
                data_type,
                ..
            } => {
                if *kind == CastKind::DoubleColon
                    || *kind == CastKind::Cast
                    || *kind == CastKind::TryCast
                {
                    Expr::Cast {
                        expr: boxed(self, inner)?,
                        to: cast_type(data_type)?,
                    }
                } else {
                    return Err(QueryError::parse(format!("unsupported cast `{expr}`")));
                }
            }
            ast::Expr::Function(function) => self.function(function, aggs)?,
            ast::Expr::Floor { expr: inner, field } | ast::Expr::Ceil { expr: inner, field } => {
                if !matches!(
                    field,
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime)
                ) {
                    return Err(QueryError::validation(format!(
                        "`{expr}`: FLOOR and CEIL take one number"
                    )));
                }
                let func = if matches!(expr, ast::Expr::Floor { .. }) {
                    Func::Floor
                } else {
                    Func::Ceil
                };
                Expr::Func {
                    func,
                    args: vec![self.expr(inner, aggs)?],
                }
            }
            ast::Expr::Substring {
                expr: inner,
                substring_from,
                substring_for,
                special,
                ..
            } => {
                let mut args = vec![self.expr(inner, aggs)?];
                let from = match substring_from {
                    Some(from) => self.expr(from, aggs)?,
                    None => Expr::Literal(Value::Long(if *special { 0 } else { 1 })),
                };
                if *special {
                    // Pinot's SUBSTR(text, begin[, end]): 0-based, end exclusive.
                    args.push(from);
                    if let Some(end) = substring_for {
                        args.push(self.expr(end, aggs)?);
                    }
                } else {
                    // SQL's SUBSTRING(text FROM start FOR length): 1-based.
                    let begin = Expr::Binary {
                        op: BinOp::Sub,
                        left: Box::new(from),
                        right: Box::new(Expr::Literal(Value::Long(1))),
                    };
                    args.push(begin.clone());
                    if let Some(length) = substring_for {
                        args.push(Expr::Binary {
                            op: BinOp::Add,
                            left: Box::new(begin),
                            right: Box::new(self.expr(length, aggs)?),
                        });
                    }
                }
                Expr::Func {
                    func: Func::Substr,
                    args,
                }
            }
            other => {
                return Err(QueryError::parse(format!(
                    "unsupported expression `{other}`"
                )))
            }
        })
    }

    fn constant_text(&mut self, expr: &ast::Expr, what: &str) -> Result<String, QueryError> {
        let translated = self.expr(expr, false)?;
        match fold(&translated) {
            Some(Value::Str(text)) => Ok(text),
            _ => Err(QueryError::validation(format!(
                "{what} needs a constant text pattern, not `{expr}`"
            ))),
        }
    }

    fn function(&mut self, function: &ast::Function, aggs: bool) -> Result<Expr, QueryError> {
        let name = function.name.to_string().trim_matches('"').to_string();
        let lower = name.to_ascii_lowercase();
        if function.over.is_some() {
            return Err(QueryError::validation(
                "window functions run on the multi-stage engine; send the query to POST /query",
            ));
        }
        let (args, distinct) = match &function.args {
            FunctionArguments::None => (Vec::new(), false),
            FunctionArguments::List(list) => (
                list.args.iter().collect::<Vec<&FunctionArg>>(),
                matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct)),
            ),
            FunctionArguments::Subquery(_) => {
                return Err(QueryError::validation(
                    "subqueries run on the multi-stage engine; send the query to POST /query",
                ))
            }
        };
        let arg_exprs: Vec<Option<&ast::Expr>> = args
            .iter()
            .map(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                FunctionArg::Named {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => Some(e),
                _ => None,
            })
            .collect();
        // Aggregates; Pinot ignores underscores in their names
        // (DISTINCT_COUNT_HLL is DISTINCTCOUNTHLL).
        let key: String = lower.chars().filter(|c| *c != '_').collect();
        let agg_func = match key.as_str() {
            "count" if distinct => Some(AggFunc::DistinctCount),
            other => match AggFunc::lookup(other) {
                Some(func) => Some(func),
                None => percentile_in_name(other, &name)?,
            },
        };
        if let Some(mut func) = agg_func {
            if !aggs {
                return Err(QueryError::validation(format!(
                    "aggregate function {name} is not allowed here (only in SELECT, HAVING and ORDER BY)"
                )));
            }
            if distinct && func != AggFunc::DistinctCount {
                return Err(QueryError::validation(format!(
                    "{name}(DISTINCT ...) is not supported; only COUNT(DISTINCT ...)"
                )));
            }
            let arg = match (func, arg_exprs.first()) {
                (AggFunc::Count, _) if !distinct => None,
                (_, Some(Some(e))) => Some(self.expr(e, false)?),
                _ => {
                    return Err(QueryError::validation(format!(
                        "{name} needs a column or expression argument"
                    )))
                }
            };
            if func.is_percentile() {
                // PERCENTILE95(x) names its rank; PERCENTILE(x, 95) passes it.
                let rank_in_name = key.len() > func.name().len();
                if rank_in_name && arg_exprs.len() > 1 {
                    return Err(QueryError::validation(format!(
                        "{name} takes one argument, got {}",
                        arg_exprs.len()
                    )));
                }
                if !rank_in_name {
                    let rank = arg_exprs
                        .get(1)
                        .and_then(|e| e.as_ref())
                        .map(|e| self.expr(e, false))
                        .transpose()?
                        .and_then(|e| fold(&e))
                        .and_then(|v| v.as_f64())
                        .filter(|p| (0.0..=100.0).contains(p))
                        .ok_or_else(|| {
                            QueryError::validation(format!(
                                "{name} needs a percentile between 0 and 100, e.g. {name}(price, 95)"
                            ))
                        })?;
                    func = func.with_percentile(rank);
                }
            } else if arg_exprs.len() > 1 {
                return Err(QueryError::validation(format!(
                    "{name} takes one argument, got {}",
                    arg_exprs.len()
                )));
            }
            if let Some(arg) = &arg {
                if func.numeric_input() && !arg.kind().is_numeric() {
                    return Err(QueryError::validation(format!(
                        "{name} needs a numeric argument, but `{}` is {}",
                        arg.pinot_name(),
                        arg.column_type().name()
                    )));
                }
            }
            let filter = match &function.filter {
                Some(condition) => Some(self.filter(condition)?),
                None => None,
            };
            let mut agg_name = match (&arg, func) {
                (None, _) => "count(*)".to_string(),
                (
                    Some(arg),
                    AggFunc::Percentile(p)
                    | AggFunc::PercentileEst(p)
                    | AggFunc::PercentileTDigest(p),
                ) => {
                    format!("{}{}({})", func.name(), format_rank(p), arg.pinot_name())
                }
                (Some(arg), _) => format!("{}({})", func.name(), arg.pinot_name()),
            };
            if let Some(condition) = &function.filter {
                agg_name = format!("filter({agg_name},{condition})");
            }
            let index = match self.aggregates.iter().position(|a| a.name == agg_name) {
                Some(index) => index,
                None => {
                    self.aggregates.push(Aggregate {
                        func,
                        arg,
                        filter,
                        name: agg_name,
                    });
                    self.aggregates.len() - 1
                }
            };
            return Ok(Expr::Agg(index, func.result_type()));
        }
        if lower == "regexp_like" || lower == "regexplike" {
            if arg_exprs.len() != 2 {
                return Err(QueryError::validation(
                    "REGEXP_LIKE takes 2 arguments: (column, 'pattern')",
                ));
            }
            let (Some(subject), Some(pattern)) = (arg_exprs[0], arg_exprs[1]) else {
                return Err(QueryError::validation(
                    "REGEXP_LIKE takes (column, 'pattern')",
                ));
            };
            let pattern = self.constant_text(pattern, "REGEXP_LIKE")?;
            return Ok(Expr::Like {
                expr: Box::new(self.expr(subject, aggs)?),
                pattern: regex(&pattern)?,
                negated: false,
            });
        }
        let Some(func) = Func::lookup(&lower) else {
            let known = functions::NAMES
                .iter()
                .chain(crate::query::agg::NAMES)
                .copied();
            return Err(QueryError::validation(format!(
                "unknown function {name}{}",
                did_you_mean(&lower, known)
            )));
        };
        let (expected, fits) = func.arity();
        if !fits(arg_exprs.len()) {
            return Err(QueryError::validation(format!(
                "{name} takes {expected} arguments, got {}",
                arg_exprs.len()
            )));
        }
        let mut translated = Vec::new();
        for arg in &arg_exprs {
            match arg {
                Some(e) => translated.push(self.expr(e, aggs)?),
                None => return Err(QueryError::validation(format!("{name} does not take `*`"))),
            }
        }
        Ok(Expr::Func {
            func,
            args: translated,
        })
    }
}

/// PERCENTILE90(col) and friends: the percentile named by its rank, which
/// must be between 0 and 100. `key` is the name in lowercase without
/// underscores.
fn percentile_in_name(key: &str, name: &str) -> Result<Option<AggFunc>, QueryError> {
    for prefix in ["percentiletdigest", "percentileest", "percentile"] {
        let Some(rank) = key
            .strip_prefix(prefix)
            .and_then(|rest| rest.parse::<f64>().ok())
        else {
            continue;
        };
        if !(0.0..=100.0).contains(&rank) {
            let prefix = prefix.to_ascii_uppercase();
            return Err(QueryError::validation(format!(
                "{name} asks for percentile {rank}; a percentile is between 0 and 100, \
                 e.g. {prefix}95(price) or {prefix}(price, 99.9)"
            )));
        }
        return Ok(AggFunc::lookup(prefix).map(|func| func.with_percentile(rank)));
    }
    Ok(None)
}

fn format_rank(rank: f64) -> String {
    if rank.fract() == 0.0 {
        format!("{}", rank as i64)
    } else {
        format!("{rank}")
    }
}

fn cast_type(data_type: &ast::DataType) -> Result<ColumnType, QueryError> {
    let text = data_type.to_string().to_ascii_uppercase();
    let base = text.split('(').next().unwrap_or_default().trim();
    Ok(match base {
        "INT" | "INTEGER" | "SMALLINT" | "TINYINT" => ColumnType::Int,
        "LONG" | "BIGINT" => ColumnType::Long,
        "FLOAT" | "REAL" => ColumnType::Float,
        "DOUBLE" | "DOUBLE PRECISION" | "DECIMAL" | "NUMERIC" => ColumnType::Double,
        "BOOLEAN" | "BOOL" => ColumnType::Boolean,
        "TIMESTAMP" => ColumnType::Timestamp,
        "STRING" | "VARCHAR" | "TEXT" | "CHAR" => ColumnType::String,
        "JSON" => ColumnType::Json,
        "BYTES" | "VARBINARY" | "BINARY" => ColumnType::Bytes,
        other => {
            return Err(QueryError::validation(format!(
                "cannot cast to {other}; expected INT, LONG, FLOAT, DOUBLE, BOOLEAN, TIMESTAMP, STRING, JSON or BYTES"
            )))
        }
    })
}

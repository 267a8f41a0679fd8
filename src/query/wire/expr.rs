//! Expressions: [`Expr`] trees, their operators and functions.
//!
//! ```text
//! expr = 0 column_ref                      column
//!      | 1 value                           literal
//!      | 2 expr | 3 expr                   -e, NOT e
//!      | 4 binop:u8 expr expr
//!      | 5 func count expr*
//!      | 6 count (expr expr)* option(expr) CASE WHEN .. THEN .. ELSE
//!      | 7 expr column_type                CAST
//!      | 8 expr count value* negated:bool  IN
//!      | 9 expr expr expr negated:bool     BETWEEN
//!      | 10 expr source:bytes negated:bool LIKE / REGEXP_LIKE
//!      | 11 column_ref negated:bool        IS NULL
//!      | 12 index column_type              group key (after aggregation)
//!      | 13 index column_type              aggregate (after aggregation)
//! func = 0..13 (14 variants), ToEpoch and FromEpoch followed by a unit:u8
//! ```
//!
//! What the planner compiles is sent as its source and compiled again
//! here by the planner's own code: a pattern is the regular expression the
//! planner built (`Regex::as_str`, LIKE already translated), compiled
//! within the same size limits; an IN list is its values, whose hash sets
//! [`InList::new`] builds again.

use super::buf::{Reader, Writer};
use super::error::WireError;
use super::value::{
    get_column, get_column_type, get_value, put_column, put_column_type, put_value,
};
use crate::catalog::datetime::TimeUnit;
use crate::expr::functions::Func;
use crate::expr::in_list::InList;
use crate::expr::json_path::PathResult;
use crate::expr::{BinOp, Expr};
use crate::query::sql::regex_from_source;

/// Every operator, in tag order.
pub(super) const BIN_OPS: [BinOp; 13] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::Mod,
    BinOp::Eq,
    BinOp::NotEq,
    BinOp::Lt,
    BinOp::LtEq,
    BinOp::Gt,
    BinOp::GtEq,
    BinOp::And,
    BinOp::Or,
];

pub(super) fn bin_op_tag(op: BinOp) -> u8 {
    match op {
        BinOp::Add => 0,
        BinOp::Sub => 1,
        BinOp::Mul => 2,
        BinOp::Div => 3,
        BinOp::Mod => 4,
        BinOp::Eq => 5,
        BinOp::NotEq => 6,
        BinOp::Lt => 7,
        BinOp::LtEq => 8,
        BinOp::Gt => 9,
        BinOp::GtEq => 10,
        BinOp::And => 11,
        BinOp::Or => 12,
    }
}

/// Every time unit, in tag order.
pub(super) const TIME_UNITS: [TimeUnit; 7] = [
    TimeUnit::Nanoseconds,
    TimeUnit::Microseconds,
    TimeUnit::Milliseconds,
    TimeUnit::Seconds,
    TimeUnit::Minutes,
    TimeUnit::Hours,
    TimeUnit::Days,
];

pub(super) fn time_unit_tag(unit: TimeUnit) -> u8 {
    match unit {
        TimeUnit::Nanoseconds => 0,
        TimeUnit::Microseconds => 1,
        TimeUnit::Milliseconds => 2,
        TimeUnit::Seconds => 3,
        TimeUnit::Minutes => 4,
        TimeUnit::Hours => 5,
        TimeUnit::Days => 6,
    }
}

/// Which group keys and aggregates an expression may name: those of its
/// plan after aggregation, any (they fail when evaluated) elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub keys: usize,
    pub aggs: usize,
}

impl Scope {
    pub const ANY: Scope = Scope {
        keys: usize::MAX,
        aggs: usize::MAX,
    };
}

fn put_func(w: &mut Writer, func: Func) {
    match func {
        Func::DateTrunc => w.u8(0),
        Func::DateTimeConvert => w.u8(1),
        Func::ToEpoch(unit) => {
            w.u8(2);
            w.u8(time_unit_tag(unit));
        }
        Func::FromEpoch(unit) => {
            w.u8(3);
            w.u8(time_unit_tag(unit));
        }
        Func::Upper => w.u8(4),
        Func::Lower => w.u8(5),
        Func::Substr => w.u8(6),
        Func::Concat => w.u8(7),
        Func::Length => w.u8(8),
        Func::Abs => w.u8(9),
        Func::Floor => w.u8(10),
        Func::Ceil => w.u8(11),
        Func::Round => w.u8(12),
        Func::Mod => w.u8(13),
        Func::ToDateTime => w.u8(14),
        Func::FromDateTime => w.u8(15),
        Func::JsonPath(PathResult::String) => w.u8(16),
        Func::JsonPath(PathResult::Long) => w.u8(17),
        Func::JsonPath(PathResult::Double) => w.u8(18),
        Func::JsonFormat => w.u8(19),
    }
}

fn get_time_unit(r: &mut Reader<'_>) -> Result<TimeUnit, WireError> {
    let tag = r.tag("time unit")?;
    match TIME_UNITS.get(usize::from(tag.0)) {
        Some(unit) => Ok(*unit),
        None => Err(r.unknown("time unit", tag)),
    }
}

fn get_func(r: &mut Reader<'_>) -> Result<Func, WireError> {
    let tag = r.tag("function")?;
    Ok(match tag.0 {
        0 => Func::DateTrunc,
        1 => Func::DateTimeConvert,
        2 => Func::ToEpoch(get_time_unit(r)?),
        3 => Func::FromEpoch(get_time_unit(r)?),
        4 => Func::Upper,
        5 => Func::Lower,
        6 => Func::Substr,
        7 => Func::Concat,
        8 => Func::Length,
        9 => Func::Abs,
        10 => Func::Floor,
        11 => Func::Ceil,
        12 => Func::Round,
        13 => Func::Mod,
        14 => Func::ToDateTime,
        15 => Func::FromDateTime,
        16 => Func::JsonPath(PathResult::String),
        17 => Func::JsonPath(PathResult::Long),
        18 => Func::JsonPath(PathResult::Double),
        19 => Func::JsonFormat,
        _ => return Err(r.unknown("function", tag)),
    })
}

#[recursive::recursive]
pub fn put_expr(w: &mut Writer, expr: &Expr) {
    match expr {
        Expr::Column(column) => {
            w.u8(0);
            put_column(w, column);
        }
        Expr::Literal(value) => {
            w.u8(1);
            put_value(w, value);
        }
        Expr::Neg(inner) => {
            w.u8(2);
            put_expr(w, inner);
        }
        Expr::Not(inner) => {
            w.u8(3);
            put_expr(w, inner);
        }
        Expr::Binary { op, left, right } => {
            w.u8(4);
            w.u8(bin_op_tag(*op));
            put_expr(w, left);
            put_expr(w, right);
        }
        Expr::Func { func, args } => {
            w.u8(5);
            put_func(w, *func);
            w.list(args, put_expr);
        }
        Expr::Case {
            branches,
            otherwise,
        } => {
            w.u8(6);
            w.list(branches, |w, (when, then)| {
                put_expr(w, when);
                put_expr(w, then);
            });
            w.option(otherwise.as_ref(), |w, otherwise| put_expr(w, otherwise));
        }
        Expr::Cast { expr, to } => {
            w.u8(7);
            put_expr(w, expr);
            put_column_type(w, *to);
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            w.u8(8);
            put_expr(w, expr);
            w.list(list, put_value);
            w.bool(*negated);
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            w.u8(9);
            put_expr(w, expr);
            put_expr(w, low);
            put_expr(w, high);
            w.bool(*negated);
        }
        Expr::Like {
            expr,
            pattern,
            negated,
        } => {
            w.u8(10);
            put_expr(w, expr);
            w.str(pattern.as_str());
            w.bool(*negated);
        }
        Expr::IsNull { column, negated } => {
            w.u8(11);
            put_column(w, column);
            w.bool(*negated);
        }
        Expr::Key(index, ty) => {
            w.u8(12);
            w.usize(*index);
            put_column_type(w, *ty);
        }
        Expr::Agg(index, ty) => {
            w.u8(13);
            w.usize(*index);
            put_column_type(w, *ty);
        }
    }
}

/// A regular expression from its source, compiled as the planner does.
pub fn get_pattern(r: &mut Reader<'_>) -> Result<crate::expr::Pattern, WireError> {
    let at = r.at();
    let source = r.string("pattern")?;
    regex_from_source(&source).map_err(|err| r.invalid("pattern", at, err.message))
}

/// An IN list from its values, with its hash sets built again.
pub fn get_in_list(r: &mut Reader<'_>) -> Result<InList, WireError> {
    Ok(InList::new(r.list("IN list", get_value)?))
}

pub fn get_expr(r: &mut Reader<'_>, scope: Scope) -> Result<Expr, WireError> {
    r.enter()?;
    let expr = get_expr_inner(r, scope)?;
    r.leave();
    Ok(expr)
}

fn get_boxed(r: &mut Reader<'_>, scope: Scope) -> Result<Box<Expr>, WireError> {
    get_expr(r, scope).map(Box::new)
}

#[recursive::recursive]
fn get_expr_inner(r: &mut Reader<'_>, scope: Scope) -> Result<Expr, WireError> {
    let tag = r.tag("expression")?;
    Ok(match tag.0 {
        0 => Expr::Column(get_column(r)?),
        1 => Expr::Literal(get_value(r)?),
        2 => Expr::Neg(get_boxed(r, scope)?),
        3 => Expr::Not(get_boxed(r, scope)?),
        4 => {
            let op_tag = r.tag("operator")?;
            let Some(op) = BIN_OPS.get(usize::from(op_tag.0)) else {
                return Err(r.unknown("operator", op_tag));
            };
            Expr::Binary {
                op: *op,
                left: get_boxed(r, scope)?,
                right: get_boxed(r, scope)?,
            }
        }
        5 => {
            let func = get_func(r)?;
            let at = r.at();
            let args = r.list("function arguments", |r| get_expr(r, scope))?;
            let (expected, fits) = func.arity();
            if !fits(args.len()) {
                return Err(r.invalid(
                    "function arguments",
                    at,
                    format!(
                        "{} takes {expected} arguments, got {}",
                        func.name(),
                        args.len()
                    ),
                ));
            }
            Expr::Func { func, args }
        }
        6 => Expr::Case {
            branches: r.list("CASE branches", |r| {
                Ok((get_expr(r, scope)?, get_expr(r, scope)?))
            })?,
            otherwise: r.option("CASE ELSE", |r| get_boxed(r, scope))?,
        },
        7 => Expr::Cast {
            expr: get_boxed(r, scope)?,
            to: get_column_type(r)?,
        },
        8 => Expr::InList {
            expr: get_boxed(r, scope)?,
            list: get_in_list(r)?,
            negated: r.bool("IN negation")?,
        },
        9 => Expr::Between {
            expr: get_boxed(r, scope)?,
            low: get_boxed(r, scope)?,
            high: get_boxed(r, scope)?,
            negated: r.bool("BETWEEN negation")?,
        },
        10 => Expr::Like {
            expr: get_boxed(r, scope)?,
            pattern: get_pattern(r)?,
            negated: r.bool("LIKE negation")?,
        },
        11 => Expr::IsNull {
            column: get_column(r)?,
            negated: r.bool("IS NULL negation")?,
        },
        12 | 13 => {
            let at = r.at();
            let index = r.usize("index")?;
            let ty = get_column_type(r)?;
            let (what, bound) = match tag.0 {
                12 => ("group key", scope.keys),
                _ => ("aggregate", scope.aggs),
            };
            if index >= bound {
                return Err(r.invalid(
                    what,
                    at,
                    format!("{what} {index} is out of range: the plan has {bound}"),
                ));
            }
            match tag.0 {
                12 => Expr::Key(index, ty),
                _ => Expr::Agg(index, ty),
            }
        }
        _ => return Err(r.unknown("expression", tag)),
    })
}

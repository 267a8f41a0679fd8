//! WHERE and FILTER clauses: [`Filter`] trees and their column predicates.
//!
//! ```text
//! filter = 0 bool                   constant
//!        | 1 count filter*          AND
//!        | 2 count filter*          OR
//!        | 3 filter                 NOT
//!        | 4 column_ref pred        a predicate an index may answer
//!        | 5 expr                   any other condition
//! pred   = 0 count value*           = or IN (hash sets built again)
//!        | 1 bound bound            range
//!        | 2 source:bytes           regular expression (compiled again)
//!        | 3                        IS NULL
//! ```

use super::buf::{Reader, Writer};
use super::error::WireError;
use super::expr::{get_expr, get_in_list, get_pattern, put_expr, Scope};
use super::value::{get_bound, get_column, put_bound, put_column, put_value};
use crate::query::filter::{Filter, Pred};

#[recursive::recursive]
pub fn put_filter(w: &mut Writer, filter: &Filter) {
    match filter {
        Filter::Const(value) => {
            w.u8(0);
            w.bool(*value);
        }
        Filter::And(children) => {
            w.u8(1);
            w.list(children, put_filter);
        }
        Filter::Or(children) => {
            w.u8(2);
            w.list(children, put_filter);
        }
        Filter::Not(child) => {
            w.u8(3);
            put_filter(w, child);
        }
        Filter::Column { column, pred } => {
            w.u8(4);
            put_column(w, column);
            put_pred(w, pred);
        }
        Filter::Expr(expr) => {
            w.u8(5);
            put_expr(w, expr);
        }
    }
}

fn put_pred(w: &mut Writer, pred: &Pred) {
    match pred {
        Pred::In(values) => {
            w.u8(0);
            w.list(values, put_value);
        }
        Pred::Range(low, high) => {
            w.u8(1);
            put_bound(w, low);
            put_bound(w, high);
        }
        Pred::Regex(regex) => {
            w.u8(2);
            w.str(regex.as_str());
        }
        Pred::IsNull => w.u8(3),
    }
}

pub fn get_filter(r: &mut Reader<'_>) -> Result<Filter, WireError> {
    r.enter()?;
    let filter = get_filter_inner(r)?;
    r.leave();
    Ok(filter)
}

#[recursive::recursive]
fn get_filter_inner(r: &mut Reader<'_>) -> Result<Filter, WireError> {
    let tag = r.tag("filter")?;
    Ok(match tag.0 {
        0 => Filter::Const(r.bool("constant filter")?),
        1 => Filter::And(r.list("AND", get_filter)?),
        2 => Filter::Or(r.list("OR", get_filter)?),
        3 => Filter::Not(Box::new(get_filter(r)?)),
        4 => Filter::Column {
            column: get_column(r)?,
            pred: get_pred(r)?,
        },
        // Conditions are evaluated per doc, before any aggregation.
        5 => Filter::Expr(get_expr(r, Scope::ANY)?),
        _ => return Err(r.unknown("filter", tag)),
    })
}

fn get_pred(r: &mut Reader<'_>) -> Result<Pred, WireError> {
    let tag = r.tag("predicate")?;
    Ok(match tag.0 {
        0 => Pred::In(get_in_list(r)?),
        1 => Pred::Range(get_bound(r)?, get_bound(r)?),
        2 => Pred::Regex(get_pattern(r)?),
        3 => Pred::IsNull,
        _ => return Err(r.unknown("predicate", tag)),
    })
}

//! Plans: [`Plan`], what it aggregates or selects, its options.
//!
//! ```text
//! plan      = table:bytes option(filter) kind limit offset count output*
//!             options columns
//! kind      = 0 count expr* count aggregate* count expr* option(expr)
//!               count (expr desc:bool)*     GROUP BY, aggregates, SELECT, HAVING, ORDER BY
//!           | 1 count expr* count (expr desc:bool)*   SELECT, ORDER BY
//! aggregate = agg_func option(expr) option(filter) name:bytes
//! agg_func  = 0..10, the percentiles (8, 9, 10) followed by rank:f64
//! output    = name:bytes column_type
//! options   = flags:u8 timeout_ms num_groups_limit max_query_memory_bytes
//!             max_result_rows max_rows_in_join max_rows_scanned max_in_list_items
//! columns   = 0                             as `Plan::collect_columns` finds them
//!           | 1 count column_ref*           any other list
//! ```
//!
//! The SELECT, HAVING and ORDER BY of an aggregation may name only the
//! plan's group keys and aggregates (the planner never builds others, and
//! the broker's reduce would index past them).

use super::buf::{Reader, Writer};
use super::error::WireError;
use super::expr::{get_expr, put_expr, Scope};
use super::filter::{get_filter, put_filter};
use super::value::{get_column, get_column_type, put_column, put_column_type};
use crate::expr::Expr;
use crate::query::agg::{AggFunc, Aggregate};
use crate::query::filter::Filter;
use crate::query::options::QueryOptions;
use crate::query::plan::{Output, Plan, PlanKind};

const USE_STAR_TREE: u8 = 1;
const USE_MULTISTAGE: u8 = 1 << 1;
const SKIP_UPSERT: u8 = 1 << 2;
const SECONDARY_WORKLOAD: u8 = 1 << 3;
const USE_RESULT_CACHE: u8 = 1 << 4;
const OPTION_FLAGS: u8 =
    USE_STAR_TREE | USE_MULTISTAGE | SKIP_UPSERT | SECONDARY_WORKLOAD | USE_RESULT_CACHE;

pub fn put_plan(w: &mut Writer, plan: &Plan) {
    put_plan_with(w, plan, plan.filter.as_ref(), plan.options.timeout_ms);
}

/// `plan` with `filter` and `timeout_ms` in place of its own.
pub fn put_plan_with(w: &mut Writer, plan: &Plan, filter: Option<&Filter>, timeout_ms: u64) {
    w.str(&plan.table);
    w.option(filter, put_filter);
    match &plan.kind {
        PlanKind::Aggregate {
            group_by,
            aggregates,
            select,
            having,
            order_by,
        } => {
            w.u8(0);
            w.list(group_by, put_expr);
            w.list(aggregates, put_aggregate);
            w.list(select, put_expr);
            w.option(having.as_ref(), put_expr);
            w.list(order_by, put_order);
        }
        PlanKind::Select { select, order_by } => {
            w.u8(1);
            w.list(select, put_expr);
            w.list(order_by, put_order);
        }
    }
    w.usize(plan.limit);
    w.usize(plan.offset);
    w.list(&plan.output, |w, output| {
        w.str(&output.name);
        put_column_type(w, output.ty);
    });
    put_options(w, &plan.options, timeout_ms);
    if plan.columns == plan.read_columns() {
        w.u8(0);
    } else {
        w.u8(1);
        w.list(&plan.columns, put_column);
    }
}

pub fn get_plan(r: &mut Reader<'_>) -> Result<Plan, WireError> {
    let table = r.string("table name")?;
    let filter = r.option("filter", get_filter)?;
    let tag = r.tag("plan kind")?;
    let kind = match tag.0 {
        0 => {
            let group_by = r.list("GROUP BY", |r| get_expr(r, Scope::ANY))?;
            let aggregates = r.list("aggregates", get_aggregate)?;
            let after = Scope {
                keys: group_by.len(),
                aggs: aggregates.len(),
            };
            PlanKind::Aggregate {
                select: r.list("SELECT", |r| get_expr(r, after))?,
                having: r.option("HAVING", |r| get_expr(r, after))?,
                order_by: r.list("ORDER BY", |r| get_order(r, after))?,
                group_by,
                aggregates,
            }
        }
        1 => PlanKind::Select {
            select: r.list("SELECT", |r| get_expr(r, Scope::ANY))?,
            order_by: r.list("ORDER BY", |r| get_order(r, Scope::ANY))?,
        },
        _ => return Err(r.unknown("plan kind", tag)),
    };
    let limit = r.usize("LIMIT")?;
    let offset = r.usize("OFFSET")?;
    let output = r.list("output columns", |r| {
        Ok(Output {
            name: r.string("output name")?,
            ty: get_column_type(r)?,
        })
    })?;
    let options = get_options(r)?;
    let mut plan = Plan {
        table,
        filter,
        kind,
        limit,
        offset,
        output,
        options,
        columns: Vec::new(),
    };
    let tag = r.tag("plan columns")?;
    match tag.0 {
        0 => plan.collect_columns(),
        1 => plan.columns = r.list("plan columns", get_column)?,
        _ => return Err(r.unknown("plan columns", tag)),
    }
    Ok(plan)
}

fn put_order(w: &mut Writer, (expr, descending): &(Expr, bool)) {
    put_expr(w, expr);
    w.bool(*descending);
}

fn get_order(r: &mut Reader<'_>, scope: Scope) -> Result<(Expr, bool), WireError> {
    Ok((get_expr(r, scope)?, r.bool("ORDER BY direction")?))
}

fn put_aggregate(w: &mut Writer, aggregate: &Aggregate) {
    put_agg_func(w, aggregate.func);
    w.option(aggregate.arg.as_ref(), put_expr);
    w.option(aggregate.filter.as_ref(), put_filter);
    w.str(&aggregate.name);
}

fn get_aggregate(r: &mut Reader<'_>) -> Result<Aggregate, WireError> {
    let at = r.at();
    let func = get_agg_func(r)?;
    let arg = r.option("aggregate argument", |r| get_expr(r, Scope::ANY))?;
    if arg.is_none() && func != AggFunc::Count {
        return Err(r.invalid(
            "aggregate",
            at,
            format!("{} needs an argument; only COUNT(*) has none", func.name()),
        ));
    }
    Ok(Aggregate {
        func,
        arg,
        filter: r.option("aggregate filter", get_filter)?,
        name: r.string("aggregate name")?,
    })
}

pub(super) fn put_agg_func(w: &mut Writer, func: AggFunc) {
    let (tag, rank) = match func {
        AggFunc::Count => (0, None),
        AggFunc::Sum => (1, None),
        AggFunc::Min => (2, None),
        AggFunc::Max => (3, None),
        AggFunc::Avg => (4, None),
        AggFunc::MinMaxRange => (5, None),
        AggFunc::DistinctCount => (6, None),
        AggFunc::DistinctCountHll => (7, None),
        AggFunc::Percentile(rank) => (8, Some(rank)),
        AggFunc::PercentileEst(rank) => (9, Some(rank)),
        AggFunc::PercentileTDigest(rank) => (10, Some(rank)),
    };
    w.u8(tag);
    if let Some(rank) = rank {
        w.f64(rank);
    }
}

pub(super) fn get_agg_func(r: &mut Reader<'_>) -> Result<AggFunc, WireError> {
    let tag = r.tag("aggregate function")?;
    let func = match tag.0 {
        0 => return Ok(AggFunc::Count),
        1 => return Ok(AggFunc::Sum),
        2 => return Ok(AggFunc::Min),
        3 => return Ok(AggFunc::Max),
        4 => return Ok(AggFunc::Avg),
        5 => return Ok(AggFunc::MinMaxRange),
        6 => return Ok(AggFunc::DistinctCount),
        7 => return Ok(AggFunc::DistinctCountHll),
        8 => AggFunc::Percentile(0.0),
        9 => AggFunc::PercentileEst(0.0),
        10 => AggFunc::PercentileTDigest(0.0),
        _ => return Err(r.unknown("aggregate function", tag)),
    };
    let at = r.at();
    let rank = r.f64("percentile rank")?;
    // NaN fails the range test too.
    if !(0.0..=100.0).contains(&rank) {
        return Err(r.invalid(
            "percentile rank",
            at,
            format!("{rank} is not between 0 and 100"),
        ));
    }
    Ok(func.with_percentile(rank))
}

fn put_options(w: &mut Writer, options: &QueryOptions, timeout_ms: u64) {
    let mut flags = 0;
    for (set, flag) in [
        (options.use_star_tree, USE_STAR_TREE),
        (options.use_multistage, USE_MULTISTAGE),
        (options.skip_upsert, SKIP_UPSERT),
        (options.secondary_workload, SECONDARY_WORKLOAD),
        (options.use_result_cache, USE_RESULT_CACHE),
    ] {
        if set {
            flags |= flag;
        }
    }
    w.u8(flags);
    w.varint(timeout_ms);
    w.usize(options.num_groups_limit);
    w.varint(options.max_query_memory_bytes);
    w.varint(options.max_result_rows);
    w.varint(options.max_rows_in_join);
    w.varint(options.max_rows_scanned);
    w.usize(options.max_in_list_items);
}

fn get_options(r: &mut Reader<'_>) -> Result<QueryOptions, WireError> {
    let at = r.at();
    let flags = r.u8("option flags")?;
    if flags & !OPTION_FLAGS != 0 {
        return Err(r.invalid(
            "option flags",
            at,
            format!("unknown flags {:#04x}", flags & !OPTION_FLAGS),
        ));
    }
    Ok(QueryOptions {
        use_star_tree: flags & USE_STAR_TREE != 0,
        use_multistage: flags & USE_MULTISTAGE != 0,
        skip_upsert: flags & SKIP_UPSERT != 0,
        secondary_workload: flags & SECONDARY_WORKLOAD != 0,
        use_result_cache: flags & USE_RESULT_CACHE != 0,
        timeout_ms: r.varint("timeoutMs")?,
        num_groups_limit: r.usize("numGroupsLimit")?,
        max_query_memory_bytes: r.varint("maxQueryMemoryBytes")?,
        max_result_rows: r.varint("maxResultRows")?,
        max_rows_in_join: r.varint("maxRowsInJoin")?,
        max_rows_scanned: r.varint("maxRowsScanned")?,
        max_in_list_items: r.usize("maxInListItems")?,
    })
}

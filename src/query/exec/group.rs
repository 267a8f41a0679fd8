//! Grouped aggregation inside one segment: how group ids are computed
//! (dense over dictionary ids, or hashed per-row codes) and how states are
//! updated batch by batch and compacted to the groups that got docs.

use std::collections::HashMap;

use super::runs::{monotone_column, Runs};
use super::{Deadline, Groups, Held, SegmentStats, DENSE_LIMIT};
use crate::expr::eval::into_doubles;
use crate::expr::value::{Kind, Value, Vector};
use crate::expr::Expr;
use crate::query::agg::{
    value_bytes, value_hashes, Acc, AggFunc, Aggregate, DistinctSet, IdBits, IdPairs,
};
use crate::query::docs::{DocSet, Docs};
use crate::query::error::ExecError;
use crate::query::eval::{eval_batch, eval_batch_sharing, BatchColumns, Columns};
use crate::query::plan::{Plan, PlanKind};
use crate::query::scatter;
use crate::query::source::ColumnSource;
use crate::sketch::Hll;

/// How group ids are computed in one segment.
enum Grouping {
    /// No GROUP BY: one group.
    Single,
    /// Dictionary columns: id = mixed-radix combination of their ids.
    Dense {
        names: Vec<String>,
        cards: Vec<usize>,
    },
    /// A non-decreasing function of the sorted column: one group per run.
    Runs { runs: Runs, limit: usize },
    /// Anything else: per-row codes, hashed.
    Hashed {
        parts: Vec<KeyPart>,
        one: HashMap<u64, u32, foldhash::fast::RandomState>,
        many: HashMap<Box<[u64]>, u32, foldhash::fast::RandomState>,
        codes: Vec<u64>,
        limit: usize,
    },
}

enum KeyPart {
    Dict(String),
    /// Numbers that are never null, keyed by their bits.
    Bits(Expr),
    /// Anything else, keyed by an interned value.
    Interned {
        expr: Expr,
        codes: HashMap<Value, u64>,
        values: Vec<Value>,
    },
}

/// Whether an expression over columns (which are never null with null
/// handling off) can still produce a null.
fn may_be_null(expr: &Expr) -> bool {
    match expr {
        Expr::Literal(Value::Null) => true,
        Expr::Case {
            branches,
            otherwise,
        } => {
            otherwise.is_none()
                || branches.iter().any(|(_, then)| may_be_null(then))
                || otherwise.as_deref().is_some_and(may_be_null)
        }
        Expr::Neg(e) | Expr::Cast { expr: e, .. } => may_be_null(e),
        Expr::Binary { left, right, .. } => may_be_null(left) || may_be_null(right),
        Expr::Func { args, .. } => args.iter().any(may_be_null),
        _ => false,
    }
}

pub(super) struct Aggregation<'p> {
    plan: &'p Plan,
    grouping: Grouping,
    accs: Vec<Acc>,
    /// Docs per group (dense and hashed), to know which groups exist.
    hits: Vec<u32>,
    /// Per aggregate: the power of ten its inputs were multiplied by
    /// (decimal columns summed as integers), undone by `finish`.
    scales: Vec<u8>,
    /// Every group exists (one dictionary key over all the segment's docs),
    /// and no COUNT(*) needs the hits: they are not counted.
    all_present: bool,
    len: usize,
    /// Bytes of one group's key and states as created, estimated.
    per_group: u64,
    /// Bytes the states and interned keys grew by since.
    grown: u64,
    /// Bytes charged to the query's memory limit.
    held: Held,
}

impl<'p> Aggregation<'p> {
    /// `whole_segment`: the docs aggregated on the main pass are all of the
    /// segment's.
    pub(super) fn new(
        plan: &'p Plan,
        group_by: &[Expr],
        columns: &Columns<'_>,
        whole_segment: bool,
    ) -> Result<Aggregation<'p>, ExecError> {
        let PlanKind::Aggregate { aggregates, .. } = &plan.kind else {
            return Err(ExecError::Internal("not an aggregation".into()));
        };
        let dictionary_card = |expr: &Expr| match expr {
            Expr::Column(column) => columns
                .get(&column.name)
                .filter(|source| source.single_value())
                .and_then(|source| source.cardinality()),
            _ => None,
        };
        let grouping = if group_by.is_empty() {
            Grouping::Single
        } else {
            let cards: Option<Vec<usize>> = group_by.iter().map(dictionary_card).collect();
            let product = cards.as_ref().map(|cards| {
                cards
                    .iter()
                    .try_fold(1usize, |acc, card| acc.checked_mul((*card).max(1)))
                    .unwrap_or(usize::MAX)
            });
            let sorted_runs = match group_by {
                [expr]
                    if matches!(expr.kind(), Kind::Long | Kind::Double) && !may_be_null(expr) =>
                {
                    monotone_column(expr).is_some_and(|name| {
                        columns
                            .get(name)
                            .is_some_and(|source| source.single_value() && source.indexes().sorted)
                    })
                }
                _ => false,
            };
            match (cards, product) {
                (Some(cards), Some(product)) if product <= DENSE_LIMIT => Grouping::Dense {
                    names: group_by
                        .iter()
                        .map(|e| match e {
                            Expr::Column(c) => c.name.clone(),
                            _ => String::new(),
                        })
                        .collect(),
                    cards,
                },
                _ if sorted_runs => Grouping::Runs {
                    runs: Runs::new(group_by[0].clone()),
                    limit: plan.options.num_groups_limit,
                },
                _ => Grouping::Hashed {
                    parts: group_by
                        .iter()
                        .map(|expr| match (expr, dictionary_card(expr)) {
                            (Expr::Column(column), Some(_)) => KeyPart::Dict(column.name.clone()),
                            _ if matches!(expr.kind(), Kind::Long | Kind::Double | Kind::Bool)
                                && !may_be_null(expr) =>
                            {
                                KeyPart::Bits(expr.clone())
                            }
                            _ => KeyPart::Interned {
                                expr: expr.clone(),
                                codes: HashMap::new(),
                                values: Vec::new(),
                            },
                        })
                        .collect(),
                    one: HashMap::default(),
                    many: HashMap::default(),
                    codes: Vec::new(),
                    limit: plan.options.num_groups_limit,
                },
            }
        };
        let len = match &grouping {
            Grouping::Single => 1,
            Grouping::Dense { cards, .. } => cards.iter().product::<usize>().max(1),
            Grouping::Hashed { .. } | Grouping::Runs { .. } => 0,
        };
        let mut accs: Vec<Acc> = aggregates
            .iter()
            .map(|aggregate| {
                let dictionary_distinct = matches!(
                    aggregate.func,
                    AggFunc::DistinctCount | AggFunc::DistinctCountHll
                ) && aggregate
                    .arg
                    .as_ref()
                    .is_some_and(|arg| dictionary_card(arg).is_some());
                let card = aggregate
                    .arg
                    .as_ref()
                    .and_then(dictionary_card)
                    .unwrap_or(0);
                if dictionary_distinct
                    && matches!(grouping, Grouping::Dense { .. } | Grouping::Single)
                    && IdBits::bits_for(card, len) <= IdBits::LIMIT_BITS
                {
                    Acc::DistinctBits(IdBits::new(card))
                } else if dictionary_distinct {
                    Acc::DistinctPairs(IdPairs::new(card))
                } else {
                    Acc::new(aggregate.func)
                }
            })
            .collect();
        accs.iter_mut().for_each(|acc| acc.resize(len));
        let counts_docs = aggregates
            .iter()
            .any(|a| a.func == AggFunc::Count && a.arg.is_none() && a.filter.is_none());
        let all_present = whole_segment
            && !counts_docs
            && match (&grouping, group_by) {
                (Grouping::Dense { .. }, [Expr::Column(column)]) => columns
                    .get(&column.name)
                    .is_some_and(|source| source.every_id_present()),
                _ => false,
            };
        let key_bytes = match &grouping {
            Grouping::Single | Grouping::Dense { .. } => 0,
            // A run's code.
            Grouping::Runs { .. } => 8,
            // The codes, the group id and the hash table's slot.
            Grouping::Hashed { parts, .. } => parts.len() as u64 * 8 + 24,
        };
        // Docs per group (`hits`).
        let per_group = key_bytes + 4 + accs.iter().map(Acc::bytes_per_group).sum::<u64>();
        Ok(Aggregation {
            plan,
            grouping,
            accs,
            hits: if all_present {
                Vec::new()
            } else {
                vec![0; len]
            },
            scales: vec![0; aggregates.len()],
            all_present,
            len,
            per_group,
            grown: 0,
            held: Held::default(),
        })
    }

    /// Charges the query's memory limit with the bytes the state holds
    /// now (estimated), or gives back what it no longer holds.
    fn hold(&mut self, deadline: &Deadline) -> Result<(), ExecError> {
        let buffers: u64 = self.accs.iter().map(Acc::buffer_bytes).sum();
        let now = (self.len as u64)
            .saturating_mul(self.per_group)
            .saturating_add(self.grown)
            .saturating_add(buffers);
        self.held.set(now, deadline)
    }

    /// Group ids of a batch; `None` entries (hashed groups past the limit)
    /// are marked `u32::MAX`.
    fn group_ids(
        &mut self,
        docs: Docs<'_>,
        columns: &Columns<'_>,
        out: &mut Vec<u32>,
        stats: &mut SegmentStats,
    ) -> Result<(), ExecError> {
        out.clear();
        match &mut self.grouping {
            Grouping::Single => out.resize(docs.len(), 0),
            Grouping::Dense { names, .. } if names.len() == 1 => {
                columns
                    .get(&names[0])
                    .ok_or_else(|| ExecError::Internal("group column is not open".into()))?
                    .ids(docs, out);
            }
            Grouping::Dense { names, cards } => {
                let mut ids = Vec::with_capacity(docs.len());
                for (index, name) in names.iter().enumerate() {
                    let source = columns
                        .get(name)
                        .ok_or_else(|| ExecError::Internal("group column is not open".into()))?;
                    source.ids(docs, &mut ids);
                    if index == 0 {
                        out.extend_from_slice(&ids);
                    } else {
                        let card = cards[index] as u32;
                        for (group, id) in out.iter_mut().zip(&ids) {
                            *group = *group * card + id;
                        }
                    }
                }
            }
            Grouping::Runs { runs, limit } => {
                runs.group_ids(docs, columns, out)?;
                if runs.codes.len() > *limit {
                    stats.groups_limit_reached = true;
                    out.iter_mut()
                        .filter(|group| **group as usize >= *limit)
                        .for_each(|group| *group = u32::MAX);
                }
                let groups = runs.codes.len().min(*limit);
                if groups != self.len {
                    self.len = groups;
                    self.hits.resize(groups, 0);
                    self.accs.iter_mut().for_each(|acc| acc.resize(groups));
                }
            }
            Grouping::Hashed {
                parts,
                one,
                many,
                codes,
                limit,
            } => {
                let arity = parts.len();
                let rows = docs.len();
                codes.clear();
                codes.resize(rows * arity, 0);
                for (part_index, part) in parts.iter_mut().enumerate() {
                    let mut set = |row: usize, code: u64| codes[row * arity + part_index] = code;
                    match part {
                        KeyPart::Dict(name) => {
                            let mut ids = Vec::with_capacity(rows);
                            columns
                                .get(name)
                                .ok_or_else(|| {
                                    ExecError::Internal("group column is not open".into())
                                })?
                                .ids(docs, &mut ids);
                            ids.iter()
                                .enumerate()
                                .for_each(|(row, id)| set(row, *id as u64));
                        }
                        KeyPart::Bits(expr) => match eval_batch(expr, columns, docs)? {
                            Vector::Long(values) => values
                                .iter()
                                .enumerate()
                                .for_each(|(row, v)| set(row, *v as u64)),
                            Vector::Double(values) => values
                                .iter()
                                .enumerate()
                                .for_each(|(row, v)| set(row, (*v + 0.0).to_bits())),
                            Vector::Bool(values) => values
                                .iter()
                                .enumerate()
                                .for_each(|(row, v)| set(row, *v as u64)),
                            _ => {
                                return Err(ExecError::Execution(format!(
                                    "GROUP BY `{}` produced values of an unexpected type",
                                    expr.pinot_name()
                                )))
                            }
                        },
                        KeyPart::Interned {
                            expr,
                            codes: interned,
                            values,
                        } => {
                            let vector = eval_batch(expr, columns, docs)?;
                            if let Vector::Bytes(_) | Vector::Array(_) = vector {
                                return Err(ExecError::Execution(format!(
                                    "GROUP BY `{}`: grouping by multi-value or BYTES values is not supported",
                                    expr.pinot_name()
                                )));
                            }
                            for row in 0..rows {
                                let value = vector.value(row);
                                let next = values.len() as u64;
                                let code = *interned.entry(value.clone()).or_insert_with(|| {
                                    // Kept twice: in the map and the list.
                                    self.grown += 2 * value_bytes(&value);
                                    values.push(value);
                                    next
                                });
                                set(row, code);
                            }
                        }
                    }
                }
                let mut next = self.len as u32;
                // Runs of equal keys (time buckets of sorted docs) skip the hash.
                let mut last: Option<(u64, u32)> = None;
                for row in 0..rows {
                    let key = &codes[row * arity..(row + 1) * arity];
                    let found = if arity == 1 {
                        match last {
                            Some((code, group)) if code == key[0] => Some(group),
                            _ => one.get(&key[0]).copied(),
                        }
                    } else {
                        many.get(key).copied()
                    };
                    let group = match found {
                        Some(group) => group,
                        None if (next as usize) < *limit => {
                            if arity == 1 {
                                one.insert(key[0], next);
                            } else {
                                many.insert(key.into(), next);
                            }
                            next += 1;
                            next - 1
                        }
                        None => {
                            stats.groups_limit_reached = true;
                            u32::MAX
                        }
                    };
                    if arity == 1 && group != u32::MAX {
                        last = Some((key[0], group));
                    }
                    out.push(group);
                }
                if next as usize != self.len {
                    self.len = next as usize;
                    self.hits.resize(self.len, 0);
                    self.accs
                        .iter_mut()
                        .for_each(|acc| acc.resize(next as usize));
                }
            }
        }
        Ok(())
    }

    /// Aggregates `docs`. `only(i)` picks the aggregates to update: the
    /// unfiltered ones on the main pass (`None`), one filtered aggregate on
    /// its own pass (`Some(true)` for it).
    pub(super) fn run(
        &mut self,
        docs: &DocSet,
        columns: &Columns<'_>,
        deadline: &Deadline,
        stats: &mut SegmentStats,
        only: impl Fn(usize) -> Option<bool>,
    ) -> Result<(), ExecError> {
        let plan: &'p Plan = self.plan;
        let PlanKind::Aggregate { aggregates, .. } = &plan.kind else {
            return Ok(());
        };
        let main_pass = only(usize::MAX).is_none();
        let wanted: Vec<usize> = (0..aggregates.len())
            .filter(|i| match only(*i) {
                None => aggregates[*i].filter.is_none(),
                Some(yes) => yes,
            })
            .collect();
        // COUNT(*) alone with no GROUP BY: the doc set's size answers it.
        self.hold(deadline)?;
        if matches!(self.grouping, Grouping::Single)
            && wanted
                .iter()
                .all(|i| aggregates[*i].func == AggFunc::Count && aggregates[*i].arg.is_none())
        {
            for i in &wanted {
                if let Acc::Count(counts) = &mut self.accs[*i] {
                    counts[0] += docs.len();
                }
            }
            if main_pass {
                self.hits[0] += docs.len() as u32;
            }
            return Ok(());
        }
        let same_as = same_inputs(aggregates, &self.accs, &wanted);
        let reused: Vec<bool> = (0..aggregates.len())
            .map(|index| same_as.contains(&Some(index)))
            .collect();
        let mut kept: Vec<Option<(Vec<f64>, Option<u8>)>> = vec![None; aggregates.len()];
        let mut read = BatchColumns::new();
        let mut groups = Vec::new();
        let mut numbers = Vec::new();
        let mut ids = Vec::new();
        let mut failure = None;
        docs.for_each_batch(|batch| {
            let mut step = || -> Result<(), ExecError> {
                deadline.check()?;
                read.clear();
                kept.iter_mut().for_each(|input| *input = None);
                self.group_ids(batch, columns, &mut groups, stats)?;
                let limited = groups.contains(&u32::MAX);
                if limited {
                    // Docs of groups past numGroupsLimit are left out.
                    groups.retain(|g| *g != u32::MAX);
                }
                if main_pass && !self.all_present {
                    scatter::add(&groups, &mut self.hits, |_| 1);
                }
                for index in &wanted {
                    let aggregate = &aggregates[*index];
                    let acc = &mut self.accs[*index];
                    let Some(arg) = &aggregate.arg else {
                        // An unfiltered COUNT(*) is the hit count, filled in
                        // by `finish`.
                        if !main_pass {
                            acc.count(&groups);
                        }
                        continue;
                    };
                    if limited {
                        return Err(ExecError::Internal(
                            "numGroupsLimit reached while aggregating an expression".into(),
                        ));
                    }
                    stats.entries_post_filter += batch.len() as u64;
                    if let Some((values, scale)) = same_as[*index].and_then(|j| kept[j].as_ref()) {
                        if let Some(scale) = scale {
                            self.scales[*index] = *scale;
                        }
                        self.grown += acc.update_f64(&groups, values);
                        continue;
                    }
                    match (acc, arg) {
                        (Acc::DistinctBits(bits), Expr::Column(column)) => {
                            let source = columns
                                .get(&column.name)
                                .ok_or_else(|| ExecError::Internal("column is not open".into()))?;
                            source.ids(batch, &mut ids);
                            bits.insert(&groups, &ids);
                        }
                        (Acc::DistinctPairs(pairs), Expr::Column(column)) => {
                            let source = columns
                                .get(&column.name)
                                .ok_or_else(|| ExecError::Internal("column is not open".into()))?;
                            source.ids(batch, &mut ids);
                            pairs.insert(&groups, &ids);
                        }
                        (acc @ (Acc::Distinct(_) | Acc::Hll(_)), _) => {
                            let values = eval_batch(arg, columns, batch)?;
                            for (row, group) in groups.iter().enumerate() {
                                self.grown += acc.update_value(*group, values.value(row));
                            }
                        }
                        (acc, Expr::Column(column)) => {
                            let source = columns
                                .get(&column.name)
                                .ok_or_else(|| ExecError::Internal("column is not open".into()))?;
                            let scale = if acc.scalable() {
                                source.scaled_f64_values(batch, &mut numbers)
                            } else {
                                None
                            };
                            match scale {
                                // Every batch of a column has the same scale.
                                Some(scale) => self.scales[*index] = scale,
                                None => source.f64_values(batch, &mut numbers),
                            }
                            self.grown += acc.update_f64(&groups, &numbers);
                            if reused[*index] {
                                kept[*index] = Some((numbers.clone(), scale));
                            }
                        }
                        (acc, _) => {
                            let values =
                                into_doubles(eval_batch_sharing(arg, columns, batch, &mut read)?);
                            self.grown += acc.update_f64(&groups, &values);
                            if reused[*index] {
                                kept[*index] = Some((values, None));
                            }
                        }
                    }
                }
                self.hold(deadline)
            };
            match step() {
                Ok(()) => true,
                Err(err) => {
                    failure = Some(err);
                    false
                }
            }
        });
        if let Some(err) = failure {
            return Err(err);
        }
        Ok(())
    }

    /// The groups that received docs, with their keys as values; the
    /// charge on the query's memory limit becomes theirs.
    pub(super) fn finish(
        mut self,
        columns: &Columns<'_>,
        deadline: &Deadline,
    ) -> Result<Groups, ExecError> {
        let PlanKind::Aggregate {
            group_by,
            aggregates,
            ..
        } = &self.plan.kind
        else {
            return Err(ExecError::Internal("not an aggregation".into()));
        };
        let arity = group_by.len();
        let present: Vec<usize> = match &self.grouping {
            // With no GROUP BY there is always one row, even for no docs.
            Grouping::Single => vec![0],
            _ if self.all_present => (0..self.len).collect(),
            _ => (0..self.len).filter(|g| self.hits[*g] > 0).collect(),
        };
        let mut keys = Vec::with_capacity(present.len() * arity);
        match &self.grouping {
            Grouping::Single => {}
            Grouping::Dense { names, cards } => {
                let sources: Vec<&dyn ColumnSource> = names
                    .iter()
                    .map(|name| {
                        columns
                            .get(name)
                            .map(|s| s.as_ref())
                            .ok_or_else(|| ExecError::Internal("column is not open".into()))
                    })
                    .collect::<Result<_, _>>()?;
                let mut parts = vec![0u32; arity];
                let longs = match (arity, sources[0].dict_longs()) {
                    (1, Some(longs)) if longs.len() >= self.len => Some(longs),
                    _ => None,
                };
                if let Some(longs) = longs {
                    // One integer column: its dictionary holds the keys.
                    keys.extend(present.iter().map(|group| Value::Long(longs[*group])));
                }
                for group in if longs.is_some() {
                    &[][..]
                } else {
                    &present[..]
                } {
                    let mut rest = *group;
                    for index in (0..arity).rev() {
                        parts[index] = (rest % cards[index]) as u32;
                        rest /= cards[index];
                    }
                    for (index, source) in sources.iter().enumerate() {
                        keys.push(source.dict_value(parts[index]));
                    }
                }
            }
            Grouping::Runs { runs, .. } => {
                for group in &present {
                    keys.push(runs.key(*group));
                }
            }
            Grouping::Hashed {
                parts, one, many, ..
            } => {
                let mut codes = vec![0u64; self.len * arity];
                if arity == 1 {
                    for (code, group) in one {
                        codes[*group as usize] = *code;
                    }
                } else {
                    for (key, group) in many {
                        codes[*group as usize * arity..(*group as usize + 1) * arity]
                            .copy_from_slice(key);
                    }
                }
                for group in &present {
                    for (index, part) in parts.iter().enumerate() {
                        let code = codes[group * arity + index];
                        keys.push(match part {
                            KeyPart::Dict(name) => columns
                                .get(name)
                                .map(|s| s.dict_value(code as u32))
                                .unwrap_or(Value::Null),
                            KeyPart::Bits(expr) => match expr.kind() {
                                Kind::Double => Value::Double(f64::from_bits(code)),
                                _ => Value::Long(code as i64),
                            },
                            KeyPart::Interned { values, .. } => {
                                values.get(code as usize).cloned().unwrap_or(Value::Null)
                            }
                        });
                    }
                }
            }
        }
        for (acc, aggregate) in self.accs.iter_mut().zip(aggregates) {
            if let (Acc::Count(counts), None, None) = (acc, &aggregate.arg, &aggregate.filter) {
                for (count, hits) in counts.iter_mut().zip(&self.hits) {
                    *count = u64::from(*hits);
                }
            }
        }
        for (acc, scale) in self.accs.iter_mut().zip(&self.scales) {
            if *scale > 0 {
                acc.unscale(*scale);
            }
        }
        let distinct_source = |index: usize| match &aggregates[index].arg {
            Some(Expr::Column(column)) => columns
                .get(&column.name)
                .ok_or_else(|| ExecError::Internal("distinct column is not open".into())),
            _ => Err(ExecError::Internal("distinct column is not open".into())),
        };
        let buffers: u64 = self.accs.iter().map(Acc::buffer_bytes).sum();
        // Compact the states to the present groups.
        let mut accs = Vec::with_capacity(self.accs.len());
        for (index, acc) in self.accs.into_iter().enumerate() {
            let func = aggregates[index].func;
            let compact = match acc {
                Acc::DistinctPairs(pairs) => {
                    let source = distinct_source(index)?;
                    let (groups, ids) = pairs.into_groups();
                    let mut by_group = groups.into_iter().peekable();
                    let id_sets = present.iter().map(|group| {
                        while by_group.next_if(|(g, _)| g < group).is_some() {}
                        match by_group.next_if(|(g, _)| g == group) {
                            Some((_, range)) => &ids[range],
                            None => &[][..],
                        }
                    });
                    distinct_acc(func, id_sets, source.as_ref())
                }
                Acc::DistinctBits(bits) => {
                    let source = distinct_source(index)?;
                    let id_sets = present.iter().map(|group| bits.sorted(*group));
                    distinct_acc(func, id_sets, source.as_ref())
                }
                acc if present.len() == self.len => acc,
                acc => acc.select(func, &present),
            };
            accs.push(compact);
        }
        let sorted = match &self.grouping {
            Grouping::Single | Grouping::Runs { .. } => true,
            Grouping::Dense { names, .. } => names
                .iter()
                .all(|name| columns.get(name).is_some_and(|source| source.dict_sorted())),
            Grouping::Hashed { .. } => false,
        };
        // Distinct ids collected in buffers became sets of about their size.
        let kept = keys.iter().map(value_bytes).sum::<u64>()
            + present.len() as u64 * accs.iter().map(Acc::bytes_per_group).sum::<u64>()
            + self.grown
            + buffers;
        self.held.set(kept, deadline)?;
        Ok(Groups {
            arity,
            keys,
            accs,
            len: present.len(),
            sorted,
        })
    }
}

/// For each aggregate, an earlier wanted one that reads the same numbers
/// (`SUM(x)` and `AVG(x)`), whose input of a batch it reuses.
fn same_inputs(aggregates: &[Aggregate], accs: &[Acc], wanted: &[usize]) -> Vec<Option<usize>> {
    let numbers = |index: usize| {
        !matches!(
            accs[index],
            Acc::Distinct(_) | Acc::Hll(_) | Acc::DistinctBits(_) | Acc::DistinctPairs(_)
        )
    };
    let texts: Vec<Option<String>> = aggregates
        .iter()
        .map(|aggregate| aggregate.arg.as_ref().map(|arg| format!("{arg:?}")))
        .collect();
    (0..aggregates.len())
        .map(|index| {
            let text = texts[index].as_ref()?;
            if !numbers(index) {
                return None;
            }
            wanted
                .iter()
                .take_while(|earlier| **earlier < index)
                .find(|earlier| {
                    numbers(**earlier)
                        && texts[**earlier].as_ref() == Some(text)
                        && accs[**earlier].scalable() == accs[index].scalable()
                })
                .copied()
        })
        .collect()
}

/// The distinct-count states of each group's set of dictionary ids: the
/// values themselves, or for `DISTINCTCOUNTHLL` their HyperLogLog.
fn distinct_acc<S: AsRef<[u32]>>(
    func: AggFunc,
    id_sets: impl Iterator<Item = S>,
    source: &dyn ColumnSource,
) -> Acc {
    if func == AggFunc::DistinctCountHll {
        return Acc::Hll(
            id_sets
                .map(|ids| {
                    let mut hll = Hll::default();
                    for id in ids.as_ref() {
                        value_hashes(&source.dict_value(*id), &mut |hash| hll.insert_hash(hash));
                    }
                    hll
                })
                .collect(),
        );
    }
    Acc::Distinct(
        id_sets
            .map(|ids| distinct_values(ids.as_ref(), source))
            .collect(),
    )
}

/// The values of a set of dictionary ids.
fn distinct_values(sorted: &[u32], source: &dyn ColumnSource) -> DistinctSet {
    let mut set = DistinctSet::default();
    if let (Some(longs), true) = (source.dict_longs(), source.dict_sorted()) {
        set.extend_sorted_longs(
            sorted
                .iter()
                .map(|id| longs.get(*id as usize).copied().unwrap_or(0)),
        );
    } else if source.kind() == Kind::Long && source.dict_sorted() {
        set.extend_sorted_longs(
            sorted
                .iter()
                .map(|id| source.dict_value(*id).as_i64().unwrap_or(0)),
        );
    } else {
        for id in sorted {
            set.insert(source.dict_value(*id));
        }
    }
    set
}

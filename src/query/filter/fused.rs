//! Conjuncts that only a scan answers, tested together: the predicates of
//! an AND that no index or statistic serves are compiled once per segment
//! into [`Test`]s, and one pass over the candidate docs reads each batch
//! once per test and keeps the docs that pass them all (the later tests
//! skip batches that nothing passed), instead of making a doc set per
//! predicate for the next one to walk.

use std::cmp::Ordering;
use std::ops::Bound;

use super::{dictionary_ids, scan, settled, Filter, FilterStats, Pred};
use crate::expr::eval::truthy;
use crate::expr::value::{Kind, Value, Vector};
use crate::expr::Expr;
use crate::query::docs::{DocSet, Docs};
use crate::query::error::ExecError;
use crate::query::eval::{eval_batch, Columns};
use crate::query::source::ColumnSource;

/// One conjunct, compiled for a segment.
pub(super) enum Test<'c> {
    /// A single-value dictionary column: whether each id passes.
    Ids {
        column: &'c str,
        source: &'c dyn ColumnSource,
        passes: Vec<bool>,
    },
    /// A numeric column without a dictionary against a range.
    Numbers {
        source: &'c dyn ColumnSource,
        bounds: NumericRange,
    },
    /// Any other boolean expression.
    Expr(&'c Expr),
}

/// What compiling a conjunct found.
pub(super) enum Compiled<'c> {
    /// Every doc passes: the conjunct drops out.
    All,
    /// No doc passes: the AND matches nothing.
    Nothing,
    Test(Test<'c>),
}

/// `filter` as a [`Test`], when only a scan answers it: a predicate on a
/// single-value column with no inverted, sorted or range index that
/// statistics do not decide, or an expression. `None` for anything else.
pub(super) fn compile<'c>(
    filter: &'c Filter,
    columns: &'c Columns<'_>,
    stats: &FilterStats<'_>,
) -> Result<Option<Compiled<'c>>, ExecError> {
    let (column, pred) = match filter {
        Filter::Expr(expr) => return Ok(Some(Compiled::Test(Test::Expr(expr)))),
        Filter::Column { column, pred } => (column, pred),
        _ => return Ok(None),
    };
    let Some(source) = columns.get(&column.name) else {
        return Ok(None);
    };
    let source: &dyn ColumnSource = source.as_ref();
    let indexes = source.indexes();
    if matches!(pred, Pred::IsNull)
        || !source.single_value()
        || indexes.inverted
        || indexes.sorted
        || indexes.range
    {
        return Ok(None);
    }
    match settled(source, pred) {
        Some(true) => return Ok(Some(Compiled::All)),
        Some(false) => return Ok(Some(Compiled::Nothing)),
        None => {}
    }
    if let Some(cardinality) = source.cardinality() {
        let (ids, _) = dictionary_ids(source, cardinality, pred, stats)?;
        if ids.is_empty() {
            return Ok(Some(Compiled::Nothing));
        }
        if ids.len() == cardinality {
            return Ok(Some(Compiled::All));
        }
        let mut passes = vec![false; cardinality];
        ids.iter().for_each(|id| passes[*id as usize] = true);
        return Ok(Some(Compiled::Test(Test::Ids {
            column: &column.name,
            source,
            passes,
        })));
    }
    let Pred::Range(low, high) = pred else {
        return Ok(None);
    };
    Ok(NumericRange::of(source, low, high)
        .map(|bounds| Compiled::Test(Test::Numbers { source, bounds })))
}

/// A number a range bound holds.
#[derive(Debug, Clone, Copy)]
enum Number {
    Long(i64),
    Double(f64),
}

/// A range over a numeric column, compared as the dictionary path compares
/// ([`Value::total_cmp`]): LONG values with LONG bounds exactly, anything
/// with a DOUBLE in IEEE total order (-0.0 below 0.0, NaN above all).
#[derive(Debug, Clone, Copy)]
pub(super) struct NumericRange {
    long: bool,
    low: Option<(Number, bool)>,
    high: Option<(Number, bool)>,
}

impl NumericRange {
    /// The range of `low..high` over `source`, when both are numbers and
    /// the column is a single-value numeric one.
    pub(super) fn of(
        source: &dyn ColumnSource,
        low: &Bound<Value>,
        high: &Bound<Value>,
    ) -> Option<NumericRange> {
        if !source.kind().is_numeric() || !source.single_value() {
            return None;
        }
        let bound = |b: &Bound<Value>| match b {
            Bound::Included(v) | Bound::Excluded(v) => {
                let number = match v {
                    Value::Long(x) => Number::Long(*x),
                    Value::Double(x) => Number::Double(*x),
                    _ => return None,
                };
                Some(Some((number, matches!(b, Bound::Included(_)))))
            }
            Bound::Unbounded => Some(None),
        };
        Some(NumericRange {
            long: source.kind() == Kind::Long,
            low: bound(low)?,
            high: bound(high)?,
        })
    }

    fn holds(&self, order: impl Fn(Number) -> Ordering) -> bool {
        let above = match self.low {
            None => true,
            Some((bound, inclusive)) => match order(bound) {
                Ordering::Greater => true,
                Ordering::Equal => inclusive,
                Ordering::Less => false,
            },
        };
        above
            && match self.high {
                None => true,
                Some((bound, inclusive)) => match order(bound) {
                    Ordering::Less => true,
                    Ordering::Equal => inclusive,
                    Ordering::Greater => false,
                },
            }
    }

    /// Pushes whether each of the docs' values lies in the range.
    pub(super) fn test(
        &self,
        source: &dyn ColumnSource,
        docs: Docs<'_>,
        numbers: &mut Vec<f64>,
        out: &mut Vec<bool>,
    ) {
        if self.long {
            match source.values(docs) {
                Vector::Long(values) => out.extend(values.iter().map(|x| {
                    self.holds(|bound| match bound {
                        Number::Long(b) => x.cmp(&b),
                        Number::Double(b) => (*x as f64).total_cmp(&b),
                    })
                })),
                other => out.extend((0..other.len()).map(|row| {
                    let value = other.value(row);
                    self.holds(|bound| match bound {
                        Number::Long(b) => value.total_cmp(&Value::Long(b)),
                        Number::Double(b) => value.total_cmp(&Value::Double(b)),
                    })
                })),
            }
            return;
        }
        source.f64_values(docs, numbers);
        out.extend(numbers.iter().map(|x| {
            self.holds(|bound| match bound {
                Number::Long(b) => x.total_cmp(&(b as f64)),
                Number::Double(b) => x.total_cmp(&b),
            })
        }));
    }
}

/// Adds `test` to `tests`, folded into the test of the same dictionary
/// column when there is one (`d >= a AND d < b` reads `d` once).
pub(super) fn push<'c>(tests: &mut Vec<Test<'c>>, test: Test<'c>) {
    if let Test::Ids {
        column,
        passes: add,
        ..
    } = &test
    {
        for existing in tests.iter_mut() {
            if let Test::Ids {
                column: other,
                passes,
                ..
            } = existing
            {
                if other == column && passes.len() == add.len() {
                    passes.iter_mut().zip(add).for_each(|(p, a)| *p &= *a);
                    return;
                }
            }
        }
    }
    tests.push(test);
}

/// Buffers reused from batch to batch.
#[derive(Default)]
struct Scratch {
    ids: Vec<u32>,
    numbers: Vec<f64>,
    /// One test's flags, before they are ANDed into the batch's.
    flags: Vec<bool>,
    /// Rows of the batch still passing, and their docs.
    rows: Vec<usize>,
    docs: Vec<u32>,
}

impl Test<'_> {
    /// Writes whether each doc passes into `out` (`first`), or clears the
    /// flags of those that do not. An expression after the first test is
    /// evaluated only on the docs still passing, since on the others it
    /// may fail (a division by zero the conjuncts before it rule out).
    fn apply(
        &self,
        docs: Docs<'_>,
        columns: &Columns<'_>,
        scratch: &mut Scratch,
        out: &mut Vec<bool>,
        first: bool,
    ) -> Result<(), ExecError> {
        // Monomorphic for each kind of test: one loop, no call per doc.
        fn set(out: &mut Vec<bool>, first: bool, flags: impl Iterator<Item = bool>) {
            if first {
                out.extend(flags);
            } else {
                out.iter_mut().zip(flags).for_each(|(o, f)| *o &= f);
            }
        }
        if let (Test::Expr(expr), false) = (self, first) {
            scratch.rows.clear();
            scratch.docs.clear();
            for (row, passing) in out.iter().enumerate() {
                if *passing {
                    scratch.rows.push(row);
                    scratch.docs.push(docs.get(row));
                }
            }
            let values = eval_batch(expr, columns, Docs::List(&scratch.docs))?;
            for (index, row) in scratch.rows.iter().enumerate() {
                out[*row] = match &values {
                    Vector::Bool(flags) => flags.get(index).copied().unwrap_or(false),
                    other => truthy(&other.value(index)),
                };
            }
            return Ok(());
        }
        match self {
            Test::Ids { source, passes, .. } => {
                source.ids(docs, &mut scratch.ids);
                set(
                    out,
                    first,
                    scratch
                        .ids
                        .iter()
                        .map(|id| passes.get(*id as usize).copied().unwrap_or(false)),
                );
            }
            Test::Numbers { source, bounds } if first => {
                bounds.test(*source, docs, &mut scratch.numbers, out);
            }
            Test::Numbers { source, bounds } => {
                scratch.flags.clear();
                bounds.test(*source, docs, &mut scratch.numbers, &mut scratch.flags);
                set(out, first, scratch.flags.iter().copied());
            }
            Test::Expr(expr) => match eval_batch(expr, columns, docs)? {
                Vector::Bool(flags) => set(out, first, flags.into_iter()),
                other => set(
                    out,
                    first,
                    (0..other.len()).map(|row| truthy(&other.value(row))),
                ),
            },
        }
        Ok(())
    }
}

/// The docs of `candidates` that pass every test, in one pass.
pub(super) fn run(
    tests: &[Test<'_>],
    columns: &Columns<'_>,
    candidates: &DocSet,
    stats: &mut FilterStats<'_>,
) -> Result<DocSet, ExecError> {
    let Some((first, rest)) = tests.split_first() else {
        return Ok(candidates.clone());
    };
    let mut scratch = Scratch::default();
    // Entries the later tests read: the docs still passing when each
    // starts (the scan counts the first test's).
    let mut more = 0u64;
    let docs = scan(candidates, stats, |batch, out| {
        first.apply(batch, columns, &mut scratch, out, true)?;
        for test in rest {
            if !out.contains(&true) {
                break;
            }
            more += out.iter().filter(|passing| **passing).count() as u64;
            test.apply(batch, columns, &mut scratch, out, false)?;
        }
        Ok(())
    })?;
    stats.entries_scanned += more;
    Ok(docs)
}

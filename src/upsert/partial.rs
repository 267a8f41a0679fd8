//! Partial upserts: a new version of a key carries only some columns, and
//! each column is merged with the previous version's value by its
//! strategy. A null (absent) new value keeps the old one whatever the
//! strategy; with no old value the new one is taken as it is.

use super::spec::Strategy;
use crate::segment::{Cell, Scalar};

/// Merges `new` (a row, cells in column order) with the previous version
/// `old` (`None` for a null), column by column; `keep` columns (the
/// primary key) are left alone.
pub fn merge(strategies: &[Strategy], keep: &[usize], old: &[Option<Cell>], new: &mut [Cell]) {
    for (column, (strategy, cell)) in strategies.iter().zip(new.iter_mut()).enumerate() {
        if keep.contains(&column) {
            continue;
        }
        let Some(Some(previous)) = old.get(column) else {
            continue;
        };
        if matches!(cell, Cell::Null) {
            *cell = previous.clone();
            continue;
        }
        let merged = match strategy {
            Strategy::Overwrite => continue,
            Strategy::Ignore => previous.clone(),
            Strategy::Increment => match (previous, &*cell) {
                (Cell::One(a), Cell::One(b)) => Cell::One(add(a, b)),
                _ => continue,
            },
            Strategy::Max | Strategy::Min => match (previous, &*cell) {
                (Cell::One(a), Cell::One(b)) => {
                    let a_wins = super::partition::compare(a, b).is_gt();
                    if a_wins == (*strategy == Strategy::Max) {
                        previous.clone()
                    } else {
                        continue;
                    }
                }
                _ => continue,
            },
            Strategy::Append => Cell::Many(values(previous).chain(values(cell)).collect()),
            Strategy::Union => {
                let mut out: Vec<Scalar> = Vec::new();
                for value in values(previous).chain(values(cell)) {
                    if !out.contains(&value) {
                        out.push(value);
                    }
                }
                Cell::Many(out)
            }
        };
        *cell = merged;
    }
}

fn values(cell: &Cell) -> impl Iterator<Item = Scalar> + '_ {
    let slice: &[Scalar] = match cell {
        Cell::Null => &[],
        Cell::One(value) => std::slice::from_ref(value),
        Cell::Many(values) => values,
    };
    slice.iter().cloned()
}

/// `a + b`, in `a`'s type (integers wrap like Java's).
fn add(a: &Scalar, b: &Scalar) -> Scalar {
    let int = |value: &Scalar| match value {
        Scalar::I32(v) => Some(*v as i64),
        Scalar::I64(v) => Some(*v),
        _ => None,
    };
    match (a, int(a), int(b)) {
        (Scalar::I32(_), Some(x), Some(y)) => Scalar::I32((x as i32).wrapping_add(y as i32)),
        (Scalar::I64(_), Some(x), Some(y)) => Scalar::I64(x.wrapping_add(y)),
        (Scalar::F32(x), _, _) => Scalar::F32(x + b.as_f64().unwrap_or(0.0) as f32),
        (Scalar::F64(x), _, _) => Scalar::F64(x + b.as_f64().unwrap_or(0.0)),
        (_, Some(x), _) => Scalar::I64(x.wrapping_add(b.as_f64().unwrap_or(0.0) as i64)),
        _ => b.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: i64) -> Cell {
        Cell::One(Scalar::I64(v))
    }

    fn many(v: &[&str]) -> Cell {
        Cell::Many(v.iter().map(|s| Scalar::Str(s.to_string())).collect())
    }

    #[test]
    fn each_strategy_merges_as_pinot_does() {
        use Strategy::*;
        let strategies = [
            Overwrite, Overwrite, Increment, Append, Union, Ignore, Max, Min, Increment,
        ];
        let old = vec![
            Some(one(1)),
            Some(one(10)),
            Some(one(5)),
            Some(many(&["a", "b"])),
            Some(many(&["a", "b"])),
            Some(one(7)),
            Some(one(3)),
            Some(one(3)),
            None,
        ];
        let mut new = vec![
            one(1),
            one(20),
            one(2),
            many(&["b", "c"]),
            many(&["b", "c"]),
            one(8),
            one(9),
            one(9),
            Cell::Null,
        ];
        merge(&strategies, &[0], &old, &mut new);
        assert_eq!(
            new,
            vec![
                one(1),
                one(20),
                one(7),
                many(&["a", "b", "b", "c"]),
                many(&["a", "b", "c"]),
                one(7),
                one(9),
                one(3),
                Cell::Null,
            ]
        );
    }

    #[test]
    fn a_null_new_value_keeps_the_old_and_no_old_value_takes_the_new() {
        let strategies = [Strategy::Increment, Strategy::Max, Strategy::Append];
        let old = vec![Some(one(4)), None, Some(many(&["x"]))];
        let mut new = vec![Cell::Null, one(2), Cell::Null];
        merge(&strategies, &[], &old, &mut new);
        assert_eq!(new, vec![one(4), one(2), many(&["x"])]);
        let mut doubles = vec![Cell::One(Scalar::F64(0.5))];
        merge(
            &[Strategy::Increment],
            &[],
            &[Some(Cell::One(Scalar::F64(1.25)))],
            &mut doubles,
        );
        assert_eq!(doubles, vec![Cell::One(Scalar::F64(1.75))]);
    }
}

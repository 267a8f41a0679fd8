//! Group keys that are runs of the segment's sorted column: a GROUP BY on
//! a non-decreasing function of the column the segment is sorted by
//! (`ts - ts % 3600000`, `DATETRUNC('HOUR', ts)`, `ts / 1000`, the column
//! itself) takes one value per run of consecutive docs.
//!
//! Instead of computing the key of every doc, the key is computed at every
//! 64th doc of a batch's span; only where two samples differ are the docs
//! between them computed, to find where the run changes. Docs then take the
//! group of the run they fall in.

use crate::expr::functions::Func;
use crate::expr::value::{Kind, Value, Vector};
use crate::expr::{BinOp, Expr};
use crate::query::docs::Docs;
use crate::query::error::ExecError;
use crate::query::eval::{eval_batch, Columns};

/// Docs between two samples.
const STRIDE: u32 = 64;

/// The column `expr` is a non-decreasing function of, when it is one this
/// module knows to be non-decreasing.
pub(super) fn monotone_column(expr: &Expr) -> Option<&str> {
    let positive = |e: &Expr| matches!(e, Expr::Literal(v) if v.as_f64().is_some_and(|x| x > 0.0));
    let number = |e: &Expr| matches!(e, Expr::Literal(v) if v.as_f64().is_some());
    match expr {
        Expr::Column(column) if !column.ty.is_array() => Some(&column.name),
        Expr::Binary { op, left, right } => match (op, left.as_ref(), right.as_ref()) {
            // The bucket start: `c - c % n`.
            (
                BinOp::Sub,
                Expr::Column(column),
                Expr::Binary {
                    op: BinOp::Mod,
                    left: inner,
                    right: divisor,
                },
            ) if matches!(inner.as_ref(), Expr::Column(c) if c.name == column.name)
                && positive(divisor)
                && !column.ty.is_array() =>
            {
                Some(&column.name)
            }
            (BinOp::Add | BinOp::Sub, inner, offset) if number(offset) => monotone_column(inner),
            (BinOp::Add, offset, inner) if number(offset) => monotone_column(inner),
            (BinOp::Div, inner, divisor) if positive(divisor) => monotone_column(inner),
            _ => None,
        },
        Expr::Func {
            func: Func::DateTrunc,
            args,
        } if args.len() <= 3 => monotone_column(args.get(1)?),
        Expr::Func {
            func: Func::ToEpoch(_),
            args,
        } if args.len() == 1 => monotone_column(&args[0]),
        _ => None,
    }
}

/// Runs found so far, in doc order: each run is one group.
pub(super) struct Runs {
    pub expr: Expr,
    pub kind: Kind,
    /// Key codes of the groups (bits of the value), in group order.
    pub codes: Vec<u64>,
    starts: Vec<u32>,
    samples: Vec<u32>,
}

fn codes_of(vector: Vector) -> Result<Vec<u64>, ExecError> {
    Ok(match vector {
        Vector::Long(values) => values.into_iter().map(|v| v as u64).collect(),
        Vector::Double(values) => values.into_iter().map(|v| (v + 0.0).to_bits()).collect(),
        _ => {
            return Err(ExecError::Internal(
                "a sorted-run group key produced values that are not numbers".into(),
            ))
        }
    })
}

impl Runs {
    pub fn new(expr: Expr) -> Runs {
        Runs {
            kind: expr.kind(),
            expr,
            codes: Vec::new(),
            starts: Vec::new(),
            samples: Vec::new(),
        }
    }

    /// The key of group `group`.
    pub fn key(&self, group: usize) -> Value {
        let code = self.codes.get(group).copied().unwrap_or(0);
        match self.kind {
            Kind::Double => Value::Double(f64::from_bits(code)),
            _ => Value::Long(code as i64),
        }
    }

    /// Group ids of an ascending batch of docs (later batches follow it).
    pub fn group_ids(
        &mut self,
        docs: Docs<'_>,
        columns: &Columns<'_>,
        out: &mut Vec<u32>,
    ) -> Result<(), ExecError> {
        if docs.is_empty() {
            return Ok(());
        }
        let (first, last) = (docs.get(0), docs.get(docs.len() - 1));
        // Samples: the first doc, every STRIDE-th doc after it, the last.
        self.samples.clear();
        self.samples.push(first);
        let mut next = (first / STRIDE + 1) * STRIDE;
        while next < last {
            self.samples.push(next);
            next += STRIDE;
        }
        if last != first {
            self.samples.push(last);
        }
        let sampled = codes_of(eval_batch(&self.expr, columns, Docs::List(&self.samples))?)?;
        // Runs of this span: (first doc, key code).
        self.starts.clear();
        let mut run_codes = vec![sampled[0]];
        self.starts.push(first);
        for (pair, codes) in self.samples.windows(2).zip(sampled.windows(2)) {
            if codes[0] == codes[1] {
                continue;
            }
            let between = codes_of(eval_batch(
                &self.expr,
                columns,
                Docs::Range(pair[0] + 1, pair[1] + 1),
            )?)?;
            let mut previous = codes[0];
            for (offset, code) in between.into_iter().enumerate() {
                if code != previous {
                    self.starts.push(pair[0] + 1 + offset as u32);
                    run_codes.push(code);
                    previous = code;
                }
            }
        }
        // Runs continue across batches: the first run may be the last group.
        let base = match self.codes.last() {
            Some(code) if *code == run_codes[0] => self.codes.len() - 1,
            _ => self.codes.len(),
        };
        for code in &run_codes[usize::from(base < self.codes.len())..] {
            self.codes.push(*code);
        }
        let mut run = 0;
        docs.for_each(|doc| {
            while run + 1 < self.starts.len() && doc >= self.starts[run + 1] {
                run += 1;
            }
            out.push((base + run) as u32);
        });
        Ok(())
    }
}

//! Functions whose result can be far larger than their arguments
//! (`lpad('x', 2000000000)`, `repeat`, `replace`, `concat` of those,
//! `array_repeat`, `range`). DataFusion allocates their results without
//! asking its memory pool, so one call could take gigabytes past the
//! query's `maxQueryMemoryBytes`. For each query's session they are
//! replaced by a wrapper that bounds the result's size from the arguments
//! before computing it, and reserves that much (then the result's real
//! size) in the query's memory pool: a result that does not fit fails the
//! query with DataFusion's `ResourcesExhausted`, as any operator past the
//! pool's limit does. The reservation is released once the result is
//! handed on: it guards the allocation, not the result's later life, in
//! which it is copied unaccounted (a constant folded into the plan is
//! cloned, and printed into column names, by every optimizer pass). So one
//! result (a batch) may take at most a [`RESULT_SHARE`]th of the pool's
//! limit, and one value a [`VALUE_SHARE`]th.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use datafusion::common::DFSchema;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::udf_eq::UdfEq;
use datafusion::logical_expr::{lit, when, ExprSchemable};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::BinaryOperator;

/// How a function's result grows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `lpad`/`rpad(s, n[, fill])`: `n` characters of up to 4 bytes, and `s`.
    Pad,
    /// `repeat(s, n)`: `n` times `s`.
    Repeat,
    /// `replace(s, from, to)`: `to` at most once per `from` in `s`, or
    /// between every two characters when `from` is empty.
    Replace,
    /// `concat(a, b, ...)`: the arguments side by side.
    Concat,
    /// `concat_ws(sep, a, b, ...)`: the arguments and a separator between each.
    ConcatWs,
    /// `array_repeat(x, n)`: `n` times `x`.
    ArrayRepeat,
    /// `range`/`generate_series([start,] stop[, step])`: 8 bytes a number.
    Range,
}

/// One function result takes at most the pool's limit divided by this:
/// 64 MiB of the default 1 GiB.
pub const RESULT_SHARE: usize = 16;
/// One value of a result takes at most the pool's limit divided by this:
/// 1 MiB of the default 1 GiB.
pub const VALUE_SHARE: usize = 1024;

const BOUNDED: [(&str, Growth); 12] = [
    ("lpad", Growth::Pad),
    ("rpad", Growth::Pad),
    ("repeat", Growth::Repeat),
    ("replace", Growth::Replace),
    ("concat", Growth::Concat),
    ("concat_ws", Growth::ConcatWs),
    ("array_repeat", Growth::ArrayRepeat),
    ("range", Growth::Range),
    ("generate_series", Growth::Range),
    // What `||` of arrays plans to.
    ("array_concat", Growth::Concat),
    ("array_append", Growth::Concat),
    ("array_prepend", Growth::Concat),
];

/// Replaces the session's growing functions by bounded ones reserving
/// in `pool`.
pub fn register(context: &SessionContext, pool: &Arc<dyn MemoryPool>) -> Result<()> {
    let limit = match pool.memory_limit() {
        MemoryLimit::Finite(limit) => limit,
        MemoryLimit::Infinite | MemoryLimit::Unknown => usize::MAX,
    };
    let (max_result, max_value) = (limit / RESULT_SHARE, limit / VALUE_SHARE);
    for (name, growth) in BOUNDED {
        // A function the build does not have needs no bound.
        let Ok(inner) = context.udf(name) else {
            continue;
        };
        context.register_udf(ScalarUDF::new_from_impl(Bounded {
            inner: inner.inner().clone().into(),
            pool: pool.clone(),
            growth,
            max_result,
            max_value,
        }));
    }
    // `a || b` of strings is planned as DataFusion's own operator, which
    // no function bound reaches: plan it on the bounded `concat` instead.
    if let Ok(concat) = context.udf("concat") {
        context
            .state_ref()
            .write()
            .register_expr_planner(Arc::new(ConcatOperator { concat }))?;
    }
    Ok(())
}

/// Plans `a || b` of two non-array values as `concat(a, b)` (the bounded
/// one), null when either side is, as the operator is.
#[derive(Debug)]
struct ConcatOperator {
    concat: Arc<ScalarUDF>,
}

impl ExprPlanner for ConcatOperator {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        if expr.op != BinaryOperator::StringConcat {
            return Ok(PlannerResult::Original(expr));
        }
        let is_list = |e: &Expr| {
            e.get_type(schema).map(|t| {
                matches!(
                    t,
                    DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)
                ) || t.is_null()
            })
        };
        // Arrays go on to DataFusion's planner (array_concat and its kin,
        // bounded above); so do untyped NULLs, which it types.
        if is_list(&expr.left)? || is_list(&expr.right)? {
            return Ok(PlannerResult::Original(expr));
        }
        let RawBinaryExpr { left, right, .. } = expr;
        let either_null = left.clone().is_null().or(right.clone().is_null());
        let joined = self.concat.call(vec![left, right]);
        Ok(PlannerResult::Planned(
            when(either_null, lit(ScalarValue::Utf8(None))).otherwise(joined)?,
        ))
    }
}

#[derive(Debug)]
struct Bounded {
    inner: UdfEq<Arc<dyn ScalarUDFImpl>>,
    pool: Arc<dyn MemoryPool>,
    growth: Growth,
    /// Most bytes one result, and one of its values, may take.
    max_result: usize,
    max_value: usize,
}

impl PartialEq for Bounded {
    fn eq(&self, other: &Bounded) -> bool {
        self.inner == other.inner
            && Arc::ptr_eq(&self.pool, &other.pool)
            && self.growth == other.growth
            && (self.max_result, self.max_value) == (other.max_result, other.max_value)
    }
}

impl Eq for Bounded {}

impl Hash for Bounded {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
        (Arc::as_ptr(&self.pool) as *const () as usize).hash(state);
        self.growth.hash(state);
        (self.max_result, self.max_value).hash(state);
    }
}

impl Bounded {
    /// Reserves `size` for a result, within the bounds of one result and
    /// one value.
    fn reserve(&self, reservation: &MemoryReservation, size: Size) -> Result<()> {
        let name = self.inner.name();
        let Size { total, largest } = size;
        if largest > self.max_value as u64 {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{name} would produce a value of about {largest} bytes, and one value may take at most {} bytes, a {VALUE_SHARE}th of the limit",
                self.max_value
            )));
        }
        let exhausted = || {
            DataFusionError::ResourcesExhausted(format!(
                "{name} would produce about {total} bytes, and one function result may take at most {} bytes, a {RESULT_SHARE}th of the limit",
                self.max_result
            ))
        };
        let bytes = usize::try_from(total).unwrap_or(usize::MAX);
        if bytes > self.max_result {
            return Err(exhausted());
        }
        reservation.try_resize(bytes).map_err(|_| exhausted())
    }
}

// Delegates everything but evaluation. `simplify` is left out on purpose:
// a rewrite would name DataFusion's own function and escape the bound.
impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        self.inner.schema_name(args)
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<arrow_schema::FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn is_strict(&self) -> bool {
        self.inner.is_strict()
    }

    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }

    fn output_ordering(&self, inputs: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.output_ordering(inputs)
    }

    fn preserves_lex_ordering(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.inner.preserves_lex_ordering(inputs)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let reservation = MemoryConsumer::new(self.inner.name()).register(&self.pool);
        if let Some(size) = estimate(self.growth, &args.args, args.number_rows) {
            self.reserve(&reservation, size)?;
        }
        let args = match self.growth {
            Growth::Pad => without_negative_widths(args),
            _ => args,
        };
        let result = self.inner.invoke_with_args(args)?;
        self.reserve(&reservation, Size::of(&result))?;
        Ok(result)
    }
}

/// `lpad`/`rpad` arguments with negative widths as 0, which pad to an
/// empty string as in PostgreSQL: DataFusion sizes its buffer from the
/// widths without checking their sign, and a negative one overflows it.
fn without_negative_widths(mut args: ScalarFunctionArgs) -> ScalarFunctionArgs {
    match args.args.get_mut(1) {
        Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(width)))) if *width < 0 => *width = 0,
        Some(ColumnarValue::Array(widths)) => {
            if let Some(ints) = widths.as_primitive_opt::<Int64Type>() {
                if ints.iter().flatten().any(|width| width < 0) {
                    let clamped: arrow_array::Int64Array = ints.unary(|width| width.max(0));
                    *widths = Arc::new(clamped);
                }
            }
        }
        _ => {}
    }
    args
}

/// Bytes of a result: all of it, and its largest value.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    total: u64,
    largest: u64,
}

impl Size {
    fn add(&mut self, bytes: u64) {
        self.total = self.total.saturating_add(bytes);
        self.largest = self.largest.max(bytes);
    }

    fn of(result: &ColumnarValue) -> Size {
        let largest = match Sizes::of(result) {
            Sizes::Each(bytes) => bytes,
            Sizes::Rows(rows) => rows.into_iter().max().unwrap_or(0),
        };
        let total = match result {
            ColumnarValue::Array(array) => array.get_array_memory_size() as u64,
            ColumnarValue::Scalar(scalar) => scalar.size() as u64,
        };
        Size { total, largest }
    }
}

/// An upper bound of the bytes `growth`'s result takes for `rows` rows of
/// `args`, when the arguments tell.
fn estimate(growth: Growth, args: &[ColumnarValue], rows: usize) -> Option<Size> {
    let arg = |index: usize| args.get(index);
    let mut size = Size::default();
    let mut add = |bytes: u64| size.add(bytes);
    match growth {
        Growth::Pad => {
            let text = Sizes::of(arg(0)?);
            let width = Counts::of(arg(1)?)?;
            // Padding with ASCII (a space by default) takes a byte a character.
            let char_bytes = match arg(2) {
                None => 1,
                Some(ColumnarValue::Scalar(fill))
                    if scalar_text(fill).is_some_and(str::is_ascii) =>
                {
                    1
                }
                Some(_) => 4,
            };
            for row in 0..rows {
                add(width
                    .at(row)
                    .saturating_mul(char_bytes)
                    .saturating_add(text.at(row)));
            }
        }
        Growth::Repeat => {
            let (text, times) = (Sizes::of(arg(0)?), Counts::of(arg(1)?)?);
            for row in 0..rows {
                add(text.at(row).saturating_mul(times.at(row)));
            }
        }
        Growth::Replace => {
            let (text, from, to) = (Sizes::of(arg(0)?), Sizes::of(arg(1)?), Sizes::of(arg(2)?));
            for row in 0..rows {
                let len = text.at(row);
                let matches = match from.at(row) {
                    0 => len.saturating_add(1),
                    from => len / from,
                };
                add(len.saturating_add(matches.saturating_mul(to.at(row))));
            }
        }
        Growth::Concat | Growth::ConcatWs => {
            let sizes: Vec<Sizes> = args.iter().map(Sizes::of).collect();
            let separators = args.len().saturating_sub(2) as u64;
            for row in 0..rows {
                let mut bytes = sizes
                    .iter()
                    .fold(0u64, |sum, s| sum.saturating_add(s.at(row)));
                if growth == Growth::ConcatWs {
                    bytes = bytes.saturating_add(sizes[0].at(row).saturating_mul(separators));
                }
                add(bytes);
            }
        }
        Growth::ArrayRepeat => {
            let (item, times) = (Sizes::of(arg(0)?), Counts::of(arg(1)?)?);
            for row in 0..rows {
                add(item.at(row).max(8).saturating_mul(times.at(row)));
            }
        }
        Growth::Range => {
            let (start, stop, step) = match args.len() {
                1 => (Counts::Each(0), Counts::signed(arg(0)?)?, Counts::Each(1)),
                2 => (
                    Counts::signed(arg(0)?)?,
                    Counts::signed(arg(1)?)?,
                    Counts::Each(1),
                ),
                _ => (
                    Counts::signed(arg(0)?)?,
                    Counts::signed(arg(1)?)?,
                    Counts::signed(arg(2)?)?,
                ),
            };
            for row in 0..rows {
                let span = start.value(row).abs_diff(stop.value(row));
                let step = step.value(row).unsigned_abs().max(1);
                add((span / step).saturating_add(1).saturating_mul(8));
            }
        }
    }
    Some(size)
}

fn scalar_text(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(text) | ScalarValue::LargeUtf8(text) | ScalarValue::Utf8View(text) => {
            text.as_deref()
        }
        _ => None,
    }
}

/// Bytes of an argument, row by row.
enum Sizes {
    Each(u64),
    Rows(Vec<u64>),
}

impl Sizes {
    fn of(value: &ColumnarValue) -> Sizes {
        match value {
            ColumnarValue::Scalar(scalar) => Sizes::Each(match scalar {
                ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
                    v.as_ref().map_or(0, |v| v.len() as u64)
                }
                ScalarValue::Binary(v)
                | ScalarValue::LargeBinary(v)
                | ScalarValue::BinaryView(v) => v.as_ref().map_or(0, |v| v.len() as u64),
                other => other.size() as u64,
            }),
            ColumnarValue::Array(array) => Sizes::Rows(array_sizes(array)),
        }
    }

    fn at(&self, row: usize) -> u64 {
        match self {
            Sizes::Each(bytes) => *bytes,
            Sizes::Rows(bytes) => bytes.get(row).copied().unwrap_or(0),
        }
    }
}

fn array_sizes(array: &ArrayRef) -> Vec<u64> {
    let len = |text: Option<&str>| text.map_or(0, |t| t.len() as u64);
    if let Some(strings) = array.as_string_opt::<i32>() {
        return strings.iter().map(len).collect();
    }
    if let Some(strings) = array.as_string_opt::<i64>() {
        return strings.iter().map(len).collect();
    }
    if let Some(strings) = array.as_string_view_opt() {
        return strings.iter().map(len).collect();
    }
    let per_row = array.get_array_memory_size() / array.len().max(1);
    vec![per_row as u64; array.len()]
}

/// An integer argument, row by row (nulls as 0).
enum Counts {
    Each(i64),
    Rows(Vec<i64>),
}

impl Counts {
    /// `None` when the argument is not an integer.
    fn signed(value: &ColumnarValue) -> Option<Counts> {
        match value {
            ColumnarValue::Scalar(scalar) => match scalar.cast_to(&DataType::Int64).ok()? {
                ScalarValue::Int64(v) => Some(Counts::Each(v.unwrap_or(0))),
                _ => None,
            },
            ColumnarValue::Array(array) => {
                if !array.data_type().is_integer() {
                    return None;
                }
                let cast = datafusion::arrow::compute::cast(array, &DataType::Int64).ok()?;
                let ints = cast.as_primitive_opt::<Int64Type>()?;
                Some(Counts::Rows(
                    (0..ints.len())
                        .map(|i| if ints.is_null(i) { 0 } else { ints.value(i) })
                        .collect(),
                ))
            }
        }
    }

    /// A count: negative values count as 0.
    fn of(value: &ColumnarValue) -> Option<Counts> {
        Counts::signed(value)
    }

    fn value(&self, row: usize) -> i64 {
        match self {
            Counts::Each(v) => *v,
            Counts::Rows(values) => values.get(row).copied().unwrap_or(0),
        }
    }

    fn at(&self, row: usize) -> u64 {
        self.value(row).max(0) as u64
    }
}

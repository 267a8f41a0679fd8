//! Function calls whose arguments are all edge values: the extremes of
//! each integer width, zero and minus one, NaN and infinities, huge
//! decimals, empty, long and odd strings, NULL, intervals and timestamps.
//! The grammar reaches these values only now and then, one argument at a
//! time; overflow, index and allocation bugs live where several meet.

use super::functions;
use super::{Case, Dice, Endpoint};

/// Arguments at the edges of their types.
const EDGE_ARGS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2147483647",
    "-2147483648",
    "9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775807",
    "18446744073709551615",
    "1e308",
    "-1e308",
    "4.9e-324",
    "CAST('NaN' AS DOUBLE)",
    "CAST('Infinity' AS DOUBLE)",
    "CAST('-Infinity' AS DOUBLE)",
    "123456789012345678901234567890.5",
    "0.5",
    "-0.0",
    "''",
    "' '",
    "'a'",
    "'😀'",
    "'ß'",
    "'%'",
    "'2026-01-01 00:00:00'",
    "'9999-12-31'",
    "'0000-01-01'",
    "'1:DAYS:EPOCH'",
    "'{\"a\": [1, 2]}'",
    "NULL",
    "TRUE",
    "X'00FF'",
    "INTERVAL '1' DAY",
    "INTERVAL '0' SECOND",
    "INTERVAL '-9223372036854775807' MILLISECOND",
    "TIMESTAMP '2026-06-01 00:00:00'",
    "DATE '2026-06-01'",
    "ARRAY[1, 2, 3]",
    "ARRAY[]",
    "price",
    "shares",
    "id",
    "symbol",
    "update_at",
];

/// A few calls of one function with edge-value arguments.
pub fn edge_call(dice: &mut Dice) -> Case {
    let multistage = dice.chance(0.6);
    // Gamay's functions get a count they accept, DataFusion's one to three.
    let (name, low, high) = if multistage {
        (dice.pick(functions::DATAFUSION_FUNCTIONS), 1, 3)
    } else {
        dice.pick(functions::GAMAY_FUNCTIONS)
    };
    let mut calls = Vec::new();
    for _ in 0..1 + dice.below(3) {
        let count = low + dice.below(high - low + 1);
        let args: Vec<&str> = (0..count).map(|_| dice.pick(EDGE_ARGS)).collect();
        calls.push(format!("{name}({})", args.join(", ")));
    }
    let sql = format!(
        "SELECT {} FROM stock_transactions WHERE id < 3 LIMIT 3",
        calls.join(", ")
    );
    let endpoint = if multistage {
        Endpoint::PostQuery
    } else {
        Endpoint::PostSql
    };
    Case::sql("edges", endpoint, sql)
}

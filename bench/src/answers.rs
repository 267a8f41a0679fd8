//! Gamay's answers checked against DuckDB's: both normalised (numbers as
//! numbers whatever their JSON type, floats equal within a relative
//! [`TOLERANCE`], DuckDB's NULL equal to the value Pinot answers in its
//! place, rows sorted when the query has no `ORDER BY`), then compared row
//! by row, naming the first row that differs.

use std::cmp::Ordering;

use serde::Serialize;
use serde_json::Value;

/// Two numbers are equal when they differ by at most this much of the
/// larger (or this much, near zero): sums and averages of doubles taken in
/// another order differ in their last bits, a missing or extra row far more.
pub const TOLERANCE: f64 = 1e-9;

/// One query's answer against DuckDB's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// `q1` .. `q10`.
    pub query: String,
    /// The comment above it, without the name.
    pub title: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What the comparison found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The same rows (in the same order, if the query orders them).
    Matches { rows: usize },
    /// The first row that differs (from 1): `None` on the side that has
    /// fewer rows.
    Differs {
        row: usize,
        gamay_rows: usize,
        duckdb_rows: usize,
        gamay: Option<Value>,
        duckdb: Option<Value>,
    },
    /// DuckDB could not answer the query (e.g. Pinot-only SQL).
    Unchecked { reason: String },
}

impl Check {
    pub fn differs(&self) -> bool {
        matches!(self.outcome, Outcome::Differs { .. })
    }

    /// The report's line for this query.
    pub fn line(&self) -> String {
        let name = format!("{} {}", self.query, self.title);
        let name = name.trim_end();
        match &self.outcome {
            Outcome::Matches { rows } => format!("{name}: matches DuckDB ({})", counted(*rows)),
            Outcome::Differs {
                row,
                gamay_rows,
                duckdb_rows,
                gamay,
                duckdb,
            } => {
                let shown = |cells: &Option<Value>| {
                    cells
                        .as_ref()
                        .map_or_else(|| "no row".to_string(), |cells| format!("`{cells}`"))
                };
                format!(
                    "{name}: DIFFERS from DuckDB at row {row} (Gamay {}, DuckDB {duckdb_rows}): Gamay {}, DuckDB {}",
                    counted(*gamay_rows),
                    shown(gamay),
                    shown(duckdb)
                )
            }
            Outcome::Unchecked { reason } => format!("{name}: not checked: DuckDB: {reason}"),
        }
    }
}

/// `1 row`, `2 rows`.
fn counted(rows: usize) -> String {
    format!("{rows} row{}", if rows == 1 { "" } else { "s" })
}

/// Compares the rows Gamay answered `sql` with DuckDB's.
pub fn compare(sql: &str, gamay: &[Value], duckdb: &[Value]) -> Outcome {
    let mut ours: Vec<Cell> = gamay.iter().map(Cell::of).collect();
    let mut theirs: Vec<Cell> = duckdb.iter().map(Cell::of).collect();
    if !ordered(sql) {
        ours.sort_by(Cell::order);
        theirs.sort_by(Cell::order);
    }
    let first = (0..ours.len().max(theirs.len())).find(|&i| match (ours.get(i), theirs.get(i)) {
        (Some(a), Some(b)) => !a.equals(b),
        _ => true,
    });
    match first {
        None => Outcome::Matches { rows: ours.len() },
        Some(i) => Outcome::Differs {
            row: i + 1,
            gamay_rows: ours.len(),
            duckdb_rows: theirs.len(),
            gamay: ours.get(i).map(Cell::json),
            duckdb: theirs.get(i).map(Cell::json),
        },
    }
}

/// Whether `sql` orders its rows: an `ORDER BY` outside string literals.
pub fn ordered(sql: &str) -> bool {
    let mut words = String::with_capacity(sql.len());
    let mut quoted = false;
    for c in sql.chars() {
        if c == '\'' {
            // `''` inside a literal closes and reopens it: same outcome.
            quoted = !quoted;
            words.push(' ');
        } else if !quoted {
            words.push(c.to_ascii_uppercase());
        }
    }
    let words: Vec<&str> = words
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).any(|pair| pair == ["ORDER", "BY"])
}

/// A value normalised for comparison.
#[derive(Clone, Debug)]
enum Cell {
    Null,
    Bool(bool),
    /// Any number, and any string that reads as one (Pinot sends
    /// `BIG_DECIMAL` and non-finite doubles as strings); the exact integer
    /// too when there is one, so large longs compare exactly.
    Number(f64, Option<i64>),
    Text(String),
    List(Vec<Cell>),
}

impl Cell {
    fn of(value: &Value) -> Cell {
        match value {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(*b),
            Value::Number(n) => Cell::Number(n.as_f64().unwrap_or(f64::NAN), n.as_i64()),
            Value::String(s) => number(s).unwrap_or_else(|| Cell::Text(s.clone())),
            Value::Array(cells) => Cell::List(cells.iter().map(Cell::of).collect()),
            Value::Object(_) => Cell::Text(value.to_string()),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Number(_, Some(i)) => Value::from(*i),
            Cell::Number(f, None) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Value::String(f.to_string()), Value::Number),
            Cell::Text(s) => Value::String(s.clone()),
            Cell::List(cells) => Value::Array(cells.iter().map(Cell::json).collect()),
        }
    }

    fn equals(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Null, Cell::Null) => true,
            (Cell::Null, other) | (other, Cell::Null) => other.stands_for_null(),
            (Cell::Bool(a), Cell::Bool(b)) => a == b,
            (Cell::Bool(a), Cell::Number(..)) => {
                Cell::Number(f64::from(u8::from(*a)), None).equals(other)
            }
            (Cell::Number(..), Cell::Bool(_)) => other.equals(self),
            (Cell::Number(_, Some(a)), Cell::Number(_, Some(b))) => a == b,
            (Cell::Number(a, _), Cell::Number(b, _)) => close(*a, *b),
            (Cell::Text(a), Cell::Text(b)) => a == b,
            (Cell::List(a), Cell::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.equals(b))
            }
            _ => false,
        }
    }

    /// Whether Pinot answers this where SQL answers NULL (null handling
    /// off, its default): 0 for an aggregate over no rows, ±Infinity for
    /// MIN, MAX and AVG over none, and the default null values of columns
    /// (the smallest INT or LONG, `"null"`).
    fn stands_for_null(&self) -> bool {
        match self {
            Cell::Number(value, _) => {
                *value == 0.0
                    || value.is_infinite()
                    || *value == f64::from(i32::MIN)
                    || *value == i64::MIN as f64
            }
            Cell::Text(text) => text == "null",
            _ => false,
        }
    }

    /// A total order for sorting the rows of an unordered answer: nulls,
    /// booleans, numbers, strings, lists.
    fn order(&self, other: &Cell) -> Ordering {
        let rank = |cell: &Cell| match cell {
            Cell::Null => 0,
            Cell::Bool(_) => 1,
            Cell::Number(..) => 2,
            Cell::Text(_) => 3,
            Cell::List(_) => 4,
        };
        match (self, other) {
            (Cell::Bool(a), Cell::Bool(b)) => a.cmp(b),
            (Cell::Number(a, x), Cell::Number(b, y)) => a.total_cmp(b).then(x.cmp(y)),
            (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
            (Cell::List(a), Cell::List(b)) => a
                .iter()
                .zip(b)
                .map(|(a, b)| a.order(b))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len())),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

/// A string that reads as a number: decimal digits, or Java's names for
/// the non-finite doubles.
fn number(text: &str) -> Option<Cell> {
    let value = match text {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ if text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            && text.bytes().any(|b| b.is_ascii_digit()) =>
        {
            text.parse().ok()?
        }
        _ => return None,
    };
    Some(Cell::Number(value, text.parse().ok()))
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if !a.is_finite() || !b.is_finite() {
        return a == b;
    }
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(value: Value) -> Vec<Value> {
        value.as_array().unwrap().clone()
    }

    #[test]
    fn the_same_answer_in_other_types_matches() {
        // Pinot answers SUM as a double and COUNT as a long; DuckDB as
        // integers; a sum of doubles differs in its last bits.
        let gamay = rows(json!([[
            120.0,
            3,
            0.30000000000000004,
            "9007199254740993",
            true
        ]]));
        let duckdb = rows(json!([[120, 3.0, 0.3, 9007199254740993_i64, 1]]));
        let sql = "SELECT SUM(shares), COUNT(*), SUM(price), MAX(id), b FROM t";
        assert_eq!(compare(sql, &gamay, &duckdb), Outcome::Matches { rows: 1 });
    }

    #[test]
    fn rows_are_sorted_only_when_the_query_does_not_order_them() {
        let gamay = rows(json!([["NYSE", 2], ["LSE", 1]]));
        let duckdb = rows(json!([["LSE", 1], ["NYSE", 2]]));
        let unordered = "SELECT exchange, COUNT(*) FROM t GROUP BY exchange";
        assert_eq!(
            compare(unordered, &gamay, &duckdb),
            Outcome::Matches { rows: 2 }
        );
        let ordered = "SELECT exchange, COUNT(*) FROM t GROUP BY exchange ORDER BY exchange DESC";
        assert!(matches!(
            compare(ordered, &gamay, &duckdb),
            Outcome::Differs { row: 1, .. }
        ));
    }

    #[test]
    fn the_first_differing_row_is_named() {
        let gamay = rows(json!([["a", 1], ["b", 2], ["c", 3]]));
        let duckdb = rows(json!([["a", 1], ["b", 2.001], ["c", 3]]));
        let outcome = compare("SELECT s, n FROM t ORDER BY s", &gamay, &duckdb);
        assert_eq!(
            outcome,
            Outcome::Differs {
                row: 2,
                gamay_rows: 3,
                duckdb_rows: 3,
                gamay: Some(json!(["b", 2])),
                duckdb: Some(json!(["b", 2.001])),
            }
        );
        let check = Check {
            query: "q4".into(),
            title: "low-cardinality group by".into(),
            outcome,
        };
        assert!(check.differs());
        let line = check.line();
        assert!(line.starts_with("q4 low-cardinality group by: DIFFERS from DuckDB at row 2"));
        assert!(
            line.contains(r#"Gamay `["b",2]`, DuckDB `["b",2.001]`"#),
            "{line}"
        );
    }

    #[test]
    fn a_missing_row_or_column_differs() {
        let sql = "SELECT a FROM t ORDER BY a";
        let outcome = compare(sql, &rows(json!([[1], [2]])), &rows(json!([[1], [2], [3]])));
        assert_eq!(
            outcome,
            Outcome::Differs {
                row: 3,
                gamay_rows: 2,
                duckdb_rows: 3,
                gamay: None,
                duckdb: Some(json!([3])),
            }
        );
        let outcome = compare(sql, &rows(json!([[1, 2]])), &rows(json!([[1]])));
        assert!(matches!(outcome, Outcome::Differs { row: 1, .. }));
        // A count off by one is never within the tolerance, nor a string
        // that only looks alike.
        assert!(matches!(
            compare(
                "SELECT COUNT(*) FROM t",
                &rows(json!([[10000000]])),
                &rows(json!([[9999999]]))
            ),
            Outcome::Differs { .. }
        ));
        assert!(matches!(
            compare(
                "SELECT s FROM t",
                &rows(json!([["S0001"]])),
                &rows(json!([["S001"]]))
            ),
            Outcome::Differs { .. }
        ));
        assert!(matches!(
            compare(
                "SELECT s FROM t",
                &rows(json!([[null]])),
                &rows(json!([[1]]))
            ),
            Outcome::Differs { .. }
        ));
    }

    #[test]
    fn pinots_stand_ins_for_null_match_duckdbs_null() {
        // SUM, MIN, MAX and AVG over no rows; a null STRING and LONG.
        let gamay = rows(json!([[0, 0.0, "Infinity", "-Infinity", "null", i64::MIN]]));
        let duckdb = rows(json!([[0, null, null, null, null, null]]));
        let sql = "SELECT COUNT(*), SUM(p), MIN(p), MAX(p), s, l FROM t WHERE u = 1";
        assert_eq!(compare(sql, &gamay, &duckdb), Outcome::Matches { rows: 1 });
        assert!(matches!(
            compare(
                sql,
                &rows(json!([[0, 0.5, null, null, null, null]])),
                &duckdb
            ),
            Outcome::Differs { row: 1, .. }
        ));
    }

    #[test]
    fn floats_are_equal_within_the_tolerance_only() {
        assert!(close(1e12, 1e12 + 1e-3));
        assert!(!close(1e12, 1e12 + 1e4));
        assert!(close(0.0, 1e-12));
        assert!(!close(0.5, 0.5001));
        assert!(close(f64::NAN, f64::NAN));
        assert!(!close(f64::INFINITY, 1e308));
        let gamay = rows(json!([["Infinity", "NaN"]]));
        let duckdb = rows(json!([["Infinity", "NaN"]]));
        assert_eq!(
            compare("SELECT a, b FROM t", &gamay, &duckdb),
            Outcome::Matches { rows: 1 }
        );
    }

    #[test]
    fn order_by_is_found_outside_literals_only() {
        assert!(ordered("SELECT a FROM t ORDER BY a LIMIT 3"));
        assert!(ordered("select a from t order\n  by a"));
        assert!(!ordered("SELECT COUNT(*) FROM t WHERE s = 'ORDER BY'"));
        assert!(!ordered("SELECT recorder, by_day FROM t"));
        assert!(!ordered("SELECT a FROM t GROUP BY a"));
    }

    #[test]
    fn the_kits_queries_that_order_are_compared_in_order() {
        let queries = crate::load::parse_queries(crate::QUERIES_SQL);
        let unordered: Vec<&str> = queries
            .iter()
            .filter(|q| !ordered(&q.sql))
            .map(|q| q.name.as_str())
            .collect();
        assert_eq!(unordered, ["q1", "q3", "q8"]);
    }
}

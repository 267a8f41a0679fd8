//! Random statements over the fuzz tables, from Pinot's SQL: projections,
//! GROUP BY/HAVING/ORDER BY/LIMIT/OFFSET, DISTINCT, and on the multi-stage
//! engine joins, subqueries, CTEs, set operations and window functions;
//! with SET prefixes, `queryOptions`, EXPLAIN PLAN FOR and Pinot's
//! OPTION(...) suffix. Expressions, conditions and aggregates are
//! [`super::exprs`]'.
//!
//! Most statements are valid or one mistake away from it, which is where
//! the planner's error paths are. They are kept cheap to run over the fuzz
//! tables (joins on `id` or on aggregated subqueries, small LIMITs), so a
//! timeout is the rare exception the oracle allows.

use serde_json::{json, Value};

use super::exprs::Want;
use super::functions;
use super::vocab::{self, Ty};
use super::{Case, Dice, Endpoint, Payload};

pub struct Grammar<'a> {
    pub(super) dice: &'a mut Dice,
    /// Table aliases in scope; columns are qualified with one of them.
    pub(super) qualifiers: Vec<&'static str>,
    /// The columns of the table in scope (of the left one of a join).
    pub(super) columns: &'static [(&'static str, Ty)],
    pub(super) multistage: bool,
}

impl<'a> Grammar<'a> {
    pub fn new(dice: &'a mut Dice) -> Grammar<'a> {
        Grammar {
            dice,
            qualifiers: Vec::new(),
            columns: vocab::COLUMNS,
            multistage: false,
        }
    }

    /// A statement with its prefixes, options and endpoint.
    pub fn case(mut self) -> Case {
        self.multistage = self.dice.chance(0.2);
        let body = self.query(2);
        let mut sql = String::new();
        if self.dice.chance(0.05) {
            let comment = self
                .dice
                .pick(&["-- a comment\n", "/* a comment */ ", "\n\t "]);
            sql.push_str(comment);
        }
        if self.dice.chance(0.2) {
            for _ in 0..1 + self.dice.below(2) {
                sql.push_str(&self.set_statement());
            }
        }
        let mut endpoint = Endpoint::PostSql;
        let mut options = None;
        if self.multistage {
            match self.dice.below(4) {
                0 | 1 => sql.push_str("SET useMultistageEngine=true; "),
                2 => options = Some(json!({ "useMultistageEngine": "true" })),
                _ => endpoint = Endpoint::PostQuery,
            }
        }
        if options.is_none() && self.dice.chance(0.12) {
            options = Some(self.query_options());
        }
        if self.dice.chance(0.04) {
            let explain = self
                .dice
                .pick(&["EXPLAIN PLAN FOR ", "explain plan for ", "EXPLAIN "]);
            sql.push_str(explain);
        }
        sql.push_str(&body);
        if self.dice.chance(0.03) {
            let (key, value) = self.option();
            sql.push_str(&format!(" OPTION({key}={value})"));
        }
        if self.dice.chance(0.1) {
            let end = if self.dice.chance(0.9) {
                self.dice.pick(&[";", " ;", ";\n"])
            } else {
                self.dice.pick(&[";;", "; SELECT 1", "; DROP TABLE trades"])
            };
            sql.push_str(end);
        }
        Case {
            kind: "grammar",
            endpoint,
            payload: Payload::Sql { sql, options },
        }
    }

    fn set_statement(&mut self) -> String {
        let (key, value) = self.option();
        match self.dice.below(12) {
            0 => format!("SET {key}={value};"),
            1 => format!("SET \"{key}\" = '{value}'; "),
            2 => format!("set {key} = {value}\n;"),
            3 => format!("SET {key};"),
            _ => format!("SET {key} = {value}; "),
        }
    }

    /// A query option and a value: mostly one that fits it.
    fn option(&mut self) -> (&'static str, &'static str) {
        if self.dice.chance(0.2) {
            let key = self.dice.pick(vocab::OPTION_KEYS);
            return (key, self.dice.pick(vocab::OPTION_VALUES));
        }
        let (key, values) = self.dice.pick(FITTING_OPTIONS);
        (key, self.dice.pick(values))
    }

    /// The request's `queryOptions` field: Pinot's string, or an object.
    fn query_options(&mut self) -> Value {
        let count = 1 + self.dice.below(3);
        if self.dice.chance(0.5) {
            let mut pairs = Vec::new();
            for _ in 0..count {
                let (key, value) = self.option();
                pairs.push(match self.dice.below(16) {
                    0 => key.to_string(),
                    _ => format!("{key}={value}"),
                });
            }
            return Value::String(pairs.join(";"));
        }
        let mut map = serde_json::Map::new();
        for _ in 0..count {
            let (key, value) = self.option();
            let value = match self.dice.below(12) {
                0 => json!(self.dice.below(5000)),
                1 => json!(self.dice.chance(0.5)),
                2 => json!(null),
                3 => json!([1, 2]),
                _ => json!(value),
            };
            map.insert(key.to_string(), value);
        }
        Value::Object(map)
    }

    /// A query: a SELECT, or on the multi-stage engine a set operation or
    /// a CTE over SELECTs.
    pub(super) fn query(&mut self, depth: usize) -> String {
        if self.multistage && depth > 0 {
            match self.dice.below(10) {
                0 => {
                    let left = self.simple_select(depth - 1);
                    let right = self.simple_select(depth - 1);
                    let op = self.dice.pick(&[
                        "UNION",
                        "UNION ALL",
                        "INTERSECT",
                        "EXCEPT",
                        "UNION DISTINCT",
                        "MINUS",
                    ]);
                    return format!("{left} {op} {right}");
                }
                1 => {
                    let inner = self.simple_select(depth - 1);
                    let saved = std::mem::replace(&mut self.qualifiers, vec!["x"]);
                    let outer = self.select_from("x".to_string(), depth - 1);
                    self.qualifiers = saved;
                    return format!("WITH x AS {inner} {outer}");
                }
                _ => {}
            }
        }
        let from = self.from(depth);
        self.select_from(from, depth)
    }

    /// A parenthesized projection of one or two columns with a small
    /// LIMIT, as set operations and subqueries take.
    pub(super) fn simple_select(&mut self, depth: usize) -> String {
        let saved = (std::mem::take(&mut self.qualifiers), self.columns);
        let table = self.table();
        let mut items = vec![self.column(None)];
        if self.dice.chance(0.3) {
            items.push(self.column(None));
        }
        let mut sql = format!("SELECT {} FROM {table}", items.join(", "));
        if self.dice.chance(0.5) {
            sql.push_str(&format!(" WHERE {}", self.condition(depth)));
        }
        sql.push_str(&format!(" LIMIT {}", self.dice.pick(&[1, 3, 10, 50])));
        (self.qualifiers, self.columns) = saved;
        format!("({sql})")
    }

    /// A table, whose columns come into scope.
    fn table(&mut self) -> String {
        if self.dice.chance(0.04) {
            self.columns = vocab::COLUMNS;
            return self.dice.pick(vocab::BAD_TABLES).to_string();
        }
        let table = self.dice.pick(vocab::TABLES);
        self.columns = vocab::columns_of(table);
        table.to_string()
    }

    /// `FROM ...` (without the keyword), setting the qualifiers it brings
    /// into scope.
    fn from(&mut self, depth: usize) -> String {
        let table = self.table();
        if !self.multistage || depth == 0 {
            self.qualifiers = Vec::new();
            return match self.dice.below(10) {
                0 => {
                    self.qualifiers = vec!["t"];
                    format!("{table} t")
                }
                1 => {
                    self.qualifiers = vec!["t"];
                    format!("{table} AS t")
                }
                _ => table,
            };
        }
        match self.dice.below(5) {
            0 | 1 => {
                self.qualifiers = vec!["a", "b"];
                self.join(table, depth)
            }
            2 => {
                let inner = self.simple_select(depth - 1);
                self.qualifiers = vec!["s"];
                format!("{inner} AS s")
            }
            _ => {
                self.qualifiers = Vec::new();
                table
            }
        }
    }

    /// Two tables joined cheaply: on `id`, on an aggregated subquery, or
    /// crossed with one row.
    fn join(&mut self, left: String, depth: usize) -> String {
        let kind = self.dice.pick(&[
            "JOIN",
            "INNER JOIN",
            "LEFT JOIN",
            "RIGHT JOIN",
            "FULL OUTER JOIN",
            "LEFT SEMI JOIN",
            "NATURAL JOIN",
        ]);
        let right = self.dice.pick(vocab::TABLES);
        match self.dice.below(6) {
            0 | 1 => format!("{left} a {kind} {right} b ON a.id = b.id"),
            2 => {
                let dim = self.dimension();
                format!(
                    "{left} a {kind} (SELECT {dim}, SUM(shares) AS total FROM {right} GROUP BY {dim}) b ON a.{dim} = b.{dim}"
                )
            }
            3 => {
                let on = self.condition(depth.saturating_sub(1));
                format!("{left} a {kind} {right} b ON a.id = b.id AND {on}")
            }
            4 => format!(
                "{left} a CROSS JOIN (SELECT 1 AS one, 'x' AS symbol, 2.5 AS price, 3 AS id) b"
            ),
            _ => format!("{left} a, {right} b WHERE a.id = b.id"),
        }
    }

    /// A SELECT of one of four shapes: rows, groups, one aggregate row, or
    /// DISTINCT rows.
    fn select_from(&mut self, from: String, depth: usize) -> String {
        let inner = depth.saturating_sub(1);
        let mut sql = match self.dice.below(10) {
            0..=3 => self.selection(&from, inner),
            4..=7 => self.grouped(&from, inner, true),
            8 => self.grouped(&from, inner, false),
            _ => {
                let count = 1 + self.dice.below(3);
                let items = self.items(inner, count);
                format!("SELECT DISTINCT {items} FROM {from}")
            }
        };
        if self.dice.chance(0.7) {
            sql.push_str(&self.limit());
        }
        if !from.contains(" WHERE ") {
            return sql;
        }
        // A comma join's WHERE came with the FROM: the statement's own
        // conditions join it.
        match sql.find(&from) {
            Some(at) => {
                let (head, tail) = sql.split_at(at + from.len());
                let tail = tail.replacen(" WHERE ", " AND ", 1);
                format!("{head}{tail}")
            }
            None => sql,
        }
    }

    fn selection(&mut self, from: &str, depth: usize) -> String {
        let items = if self.dice.chance(0.2) {
            self.dice
                .pick(&["*", "*", "*", "*", "a.*", "t.*", "*, price"])
                .to_string()
        } else {
            let count = 1 + self.dice.below(5);
            self.items(depth, count)
        };
        let mut sql = format!("SELECT {items} FROM {from}");
        if self.dice.chance(0.7) {
            sql.push_str(&format!(" WHERE {}", self.condition(depth)));
        }
        if self.dice.chance(0.4) {
            sql.push_str(&format!(" ORDER BY {}", self.order_keys(depth, &[])));
        }
        sql
    }

    /// An aggregation, grouped or not.
    fn grouped(&mut self, from: &str, depth: usize, group: bool) -> String {
        let mut keys = Vec::new();
        if group {
            for _ in 0..1 + self.dice.below(3) {
                keys.push(if self.dice.chance(0.7) {
                    let dimension = self.dimension();
                    self.qualify(dimension)
                } else {
                    self.expr(Want::Any, 1)
                });
            }
        }
        let mut items = Vec::new();
        for key in &keys {
            if self.dice.chance(0.85) {
                items.push(key.clone());
            }
        }
        if self.dice.chance(0.05) {
            items.push(self.column(None));
        }
        for index in 0..1 + self.dice.below(3) {
            let aggregate = self.aggregate(depth);
            items.push(if self.dice.chance(0.4) {
                format!("{aggregate} AS m{index}")
            } else {
                aggregate
            });
        }
        let mut sql = format!("SELECT {} FROM {from}", items.join(", "));
        if self.dice.chance(0.6) {
            sql.push_str(&format!(" WHERE {}", self.condition(depth)));
        }
        if group {
            sql.push_str(&format!(" GROUP BY {}", keys.join(", ")));
        }
        if self.dice.chance(0.3) {
            let aggregate = self.aggregate(0);
            let op = self.dice.pick(&[">", "<", "=", ">=", "<>"]);
            let number = self.number();
            sql.push_str(&format!(" HAVING {aggregate} {op} {number}"));
        }
        if self.dice.chance(0.5) {
            let mut choices = keys.clone();
            choices.extend((0..3).map(|i| format!("m{i}")));
            choices.push(self.aggregate(0));
            sql.push_str(&format!(" ORDER BY {}", self.order_keys(depth, &choices)));
        }
        sql
    }

    fn items(&mut self, depth: usize, count: usize) -> String {
        let mut items = Vec::new();
        for index in 0..count {
            let item = match self.dice.below(10) {
                0..=3 => self.column(None),
                4 if self.multistage => self.window(),
                _ => self.expr(Want::Any, depth),
            };
            items.push(match self.dice.below(8) {
                0 => format!("{item} AS c{index}"),
                1 => {
                    let alias = self.dice.pick(&["x", "a b", "", "😀", "x\"y", "count(*)"]);
                    format!("{item} AS \"{}\"", alias.replace('"', "\"\""))
                }
                _ => item,
            });
        }
        items.join(", ")
    }

    fn window(&mut self) -> String {
        let func = self.dice.pick(functions::WINDOW_FUNCTIONS);
        let dimension = self.dimension();
        let partition = self.qualify(dimension);
        let order = self.column(None);
        let frame = self.dice.pick(&[
            "",
            " ROWS BETWEEN 1 PRECEDING AND CURRENT ROW",
            " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
            " RANGE BETWEEN 10 PRECEDING AND 10 FOLLOWING",
            " ROWS BETWEEN 9223372036854775807 PRECEDING AND CURRENT ROW",
        ]);
        format!("{func} OVER (PARTITION BY {partition} ORDER BY {order}{frame})")
    }

    fn order_keys(&mut self, depth: usize, choices: &[String]) -> String {
        let mut keys = Vec::new();
        for _ in 0..1 + self.dice.below(2) {
            let key = if !choices.is_empty() && self.dice.chance(0.7) {
                choices[self.dice.below(choices.len())].clone()
            } else if self.dice.chance(0.7) {
                self.column(None)
            } else {
                self.expr(Want::Any, depth)
            };
            let direction =
                self.dice
                    .pick(&["", " ASC", " DESC", " DESC NULLS LAST", " NULLS FIRST"]);
            keys.push(format!("{key}{direction}"));
        }
        if self.dice.chance(0.05) {
            keys.push(self.dice.pick(&["1", "2", "0", "99"]).to_string());
        }
        keys.join(", ")
    }

    fn limit(&mut self) -> String {
        let count = if self.dice.chance(0.9) {
            self.dice
                .pick(&["0", "1", "5", "10", "10", "10", "100", "1000"])
        } else {
            self.dice.pick(&[
                "2147483648",
                "9223372036854775807",
                "-1",
                "'5'",
                "1.5",
                "NULL",
            ])
        };
        match self.dice.below(8) {
            0 => {
                let offset = self.dice.pick(&["0", "3", "100000", "7"]);
                format!(" LIMIT {count} OFFSET {offset}")
            }
            1 => {
                let offset = self.dice.pick(&["0", "2", "9223372036854775807"]);
                format!(" LIMIT {offset}, {count}")
            }
            _ => format!(" LIMIT {count}"),
        }
    }
}

/// Query options with values that fit them.
const FITTING_OPTIONS: &[(&str, &[&str])] = &[
    ("timeoutMs", &["50", "1000", "5000"]),
    ("useStarTree", &["true", "false"]),
    ("numGroupsLimit", &["1", "10", "1000", "100000"]),
    ("useMultistageEngine", &["true", "false"]),
    ("skipUpsert", &["true", "false"]),
    (
        "maxQueryMemoryBytes",
        &["1", "65536", "1048576", "67108864"],
    ),
    ("maxResultRows", &["0", "1", "5", "1000"]),
    ("maxRowsInJoin", &["1", "100", "100000"]),
    ("maxRowsScanned", &["0", "10", "5000", "1000000"]),
    ("maxInListItems", &["1", "3", "100000"]),
    ("enableNullHandling", &["true", "false"]),
];

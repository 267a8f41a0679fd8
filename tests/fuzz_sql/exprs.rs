//! Expressions, conditions and aggregates for [`super::grammar`]:
//! arithmetic, every function Gamay names (with right and wrong arities and
//! argument kinds), Pinot's and DataFusion's other functions, CASE, CAST,
//! scalar subqueries; comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, REGEXP,
//! IS NULL, TEXT_MATCH, JSON_MATCH, EXISTS; Gamay's aggregates,
//! percentiles with ranks in and out of range, Pinot's others, FILTER.

use super::functions;
use super::grammar::Grammar;
use super::vocab::{self, Ty};

/// What an expression should be.
#[derive(Clone, Copy, PartialEq)]
pub enum Want {
    Num,
    Str,
    Bool,
    Any,
}

impl Grammar<'_> {
    /// A column reference, of a type when one is asked for (`Double`
    /// takes any number).
    pub(super) fn column(&mut self, ty: Option<Ty>) -> String {
        if self.dice.chance(0.01) {
            return self.dice.pick(vocab::BAD_COLUMNS).to_string();
        }
        let numeric = |t: Ty| matches!(t, Ty::Int | Ty::Long | Ty::Double);
        let fitting: Vec<&str> = self
            .columns
            .iter()
            .filter(|(_, t)| ty.is_none_or(|ty| ty == *t || (ty == Ty::Double && numeric(*t))))
            .map(|(name, _)| *name)
            .collect();
        let name = if fitting.is_empty() {
            self.dice.pick(self.columns).0
        } else {
            self.dice.pick(&fitting)
        };
        self.qualify(name)
    }

    /// A column to group or partition by: a string, a BOOLEAN or `user_id`.
    pub(super) fn dimension(&mut self) -> &'static str {
        let dimensions: Vec<&'static str> = self
            .columns
            .iter()
            .filter(|(name, t)| matches!(t, Ty::Str | Ty::Bool) || *name == "user_id")
            .map(|(name, _)| *name)
            .collect();
        self.dice.pick(&dimensions)
    }

    pub(super) fn qualify(&mut self, name: &str) -> String {
        if self.qualifiers.is_empty() || self.dice.chance(0.1) {
            return name.to_string();
        }
        let qualifier = self.dice.pick(&self.qualifiers);
        format!("{qualifier}.{name}")
    }

    pub(super) fn number(&mut self) -> String {
        match self.dice.below(100) {
            0..=2 => self.dice.pick(vocab::ODD_LITERALS).to_string(),
            3..=14 => self.dice.pick(vocab::EDGE_NUMBERS).to_string(),
            _ => self.dice.pick(vocab::NUMBERS).to_string(),
        }
    }

    fn string(&mut self) -> String {
        match self.dice.below(100) {
            0..=2 => self.dice.pick(vocab::ODD_LITERALS).to_string(),
            3..=14 => quote(self.dice.pick(vocab::EDGE_STRINGS)),
            _ => quote(self.dice.pick(vocab::STRINGS)),
        }
    }

    fn args(&mut self, count: usize, depth: usize) -> String {
        let mut args = Vec::new();
        for _ in 0..count {
            args.push(self.expr(Want::Any, depth));
        }
        args.join(", ")
    }

    /// An expression of roughly the wanted kind (sometimes not, on purpose).
    pub(super) fn expr(&mut self, want: Want, depth: usize) -> String {
        let want = match want {
            Want::Any => self
                .dice
                .pick(&[Want::Num, Want::Num, Want::Str, Want::Bool]),
            other => other,
        };
        if depth == 0 || self.dice.chance(0.35) {
            return match want {
                Want::Str if self.dice.chance(0.6) => self.column(Some(Ty::Str)),
                Want::Str => self.string(),
                Want::Bool => self
                    .dice
                    .pick(&["TRUE", "FALSE", "price > 100"])
                    .to_string(),
                _ if self.dice.chance(0.6) => self.column(Some(Ty::Double)),
                _ => self.number(),
            };
        }
        let inner = depth - 1;
        match want {
            Want::Bool => self.condition(inner),
            Want::Str => self.string_expr(inner),
            _ => self.numeric_expr(inner),
        }
    }

    fn numeric_expr(&mut self, depth: usize) -> String {
        match self.dice.below(14) {
            0..=3 => {
                let left = self.expr(Want::Num, depth);
                let right = self.expr(Want::Num, depth);
                let op = self.dice.pick(&["+", "-", "*", "/", "%", "+", "*"]);
                if self.dice.chance(0.5) {
                    format!("({left} {op} {right})")
                } else {
                    format!("{left} {op} {right}")
                }
            }
            4 => format!("-{}", self.expr(Want::Num, depth)),
            5..=7 => self.gamay_function(depth),
            8 => self.case_expr(Want::Num, depth),
            9 => {
                let inner = self.expr(Want::Any, depth);
                let ty = if self.dice.chance(0.85) {
                    self.dice.pick(&[
                        "INT",
                        "LONG",
                        "BIGINT",
                        "DOUBLE",
                        "FLOAT",
                        "BOOLEAN",
                        "TIMESTAMP",
                        "STRING",
                        "VARCHAR",
                    ])
                } else {
                    self.dice.pick(&[
                        "DECIMAL(10, 2)",
                        "BYTES",
                        "JSON",
                        "DATE",
                        "INT[]",
                        "GEOMETRY",
                    ])
                };
                let cast = self.dice.pick(&["CAST", "CAST", "TRY_CAST"]);
                format!("{cast}({inner} AS {ty})")
            }
            10 => self.foreign_function(depth),
            11 if self.multistage => {
                let table = self.dice.pick(vocab::TABLES);
                format!("(SELECT MAX(price) FROM {table})")
            }
            _ => self.expr(Want::Num, depth),
        }
    }

    fn string_expr(&mut self, depth: usize) -> String {
        match self.dice.below(9) {
            0 => format!("UPPER({})", self.expr(Want::Str, depth)),
            1 => format!("lower({})", self.expr(Want::Str, depth)),
            2 => {
                let text = self.expr(Want::Str, depth);
                let begin = self.number();
                let end = self.number();
                if self.dice.chance(0.5) {
                    format!("SUBSTR({text}, {begin}, {end})")
                } else {
                    format!("SUBSTRING({text} FROM {begin} FOR {end})")
                }
            }
            3 => {
                let a = self.expr(Want::Str, depth);
                let b = self.expr(Want::Any, depth);
                if self.dice.chance(0.5) {
                    format!("CONCAT({a}, {b}, {})", self.string())
                } else {
                    format!("{a} || {b}")
                }
            }
            4 => {
                let format = quote(self.dice.pick(vocab::TIME_FORMATS));
                let granularity = quote(self.dice.pick(vocab::GRANULARITIES));
                format!(
                    "DATETIMECONVERT(update_at, '1:MILLISECONDS:EPOCH', {format}, {granularity})"
                )
            }
            5 => self.case_expr(Want::Str, depth),
            6 => format!("CAST({} AS VARCHAR)", self.expr(Want::Num, depth)),
            7 => self.foreign_function(depth),
            _ => self.gamay_function(depth),
        }
    }

    /// A call of a function Gamay knows: fitting arguments mostly, and now
    /// and then one too many or too few, or of the wrong kind.
    fn gamay_function(&mut self, depth: usize) -> String {
        let (name, low, high) = self.dice.pick(functions::GAMAY_FUNCTIONS);
        let count = match self.dice.below(10) {
            0 => low.saturating_sub(1),
            1 => high + 1,
            _ => low + self.dice.below(high - low + 1),
        };
        let lower = name.to_ascii_lowercase();
        let mut args = Vec::new();
        for index in 0..count {
            let arg = if self.dice.chance(0.08) {
                self.expr(Want::Any, depth)
            } else if lower.contains("datetrunc") || lower == "date_trunc" {
                match index {
                    1 => self.column(Some(Ty::Long)),
                    3 => quote(self.dice.pick(vocab::TIME_ZONES)),
                    _ => quote(self.dice.pick(vocab::TIME_UNITS)),
                }
            } else if lower == "datetimeconvert" {
                match index {
                    0 => self.column(Some(Ty::Long)),
                    1 | 2 => quote(self.dice.pick(vocab::TIME_FORMATS)),
                    _ => quote(self.dice.pick(vocab::GRANULARITIES)),
                }
            } else if lower.contains("epoch") {
                if self.dice.chance(0.5) {
                    self.column(Some(Ty::Long))
                } else {
                    self.number()
                }
            } else if ["upper", "lower", "length", "len"].contains(&lower.as_str())
                || (index == 0 && (lower.starts_with("sub") || lower == "concat"))
            {
                self.expr(Want::Str, depth)
            } else if lower == "regexp_like" && index == 1 {
                quote(self.dice.pick(REGEXES))
            } else if lower == "concat" {
                self.expr(Want::Any, depth)
            } else {
                self.expr(Want::Num, depth)
            };
            args.push(arg);
        }
        format!("{name}({})", args.join(", "))
    }

    /// A Pinot or DataFusion function with any arguments.
    fn foreign_function(&mut self, depth: usize) -> String {
        let name = if self.multistage || self.dice.chance(0.3) {
            self.dice.pick(functions::DATAFUSION_FUNCTIONS)
        } else {
            self.dice.pick(functions::PINOT_FUNCTIONS)
        };
        let count = self.dice.below(4);
        let args = self.args(count, depth.min(1));
        format!("{name}({args})")
    }

    fn case_expr(&mut self, want: Want, depth: usize) -> String {
        let mut sql = String::from("CASE");
        let simple = self.dice.chance(0.25);
        if simple {
            sql.push_str(&format!(" {}", self.column(None)));
        }
        for _ in 0..1 + self.dice.below(3) {
            let when = if simple {
                self.expr(Want::Any, 0)
            } else {
                self.condition(depth)
            };
            let then = self.expr(want, depth);
            sql.push_str(&format!(" WHEN {when} THEN {then}"));
        }
        if self.dice.chance(0.7) {
            sql.push_str(&format!(" ELSE {}", self.expr(want, depth)));
        }
        sql.push_str(" END");
        sql
    }

    /// A condition for WHERE, HAVING, FILTER, ON or CASE WHEN.
    pub(super) fn condition(&mut self, depth: usize) -> String {
        if depth > 0 && self.dice.chance(0.3) {
            let inner = depth - 1;
            return match self.dice.below(4) {
                0 => format!("NOT {}", self.condition(inner)),
                1 => format!("({})", self.condition(inner)),
                _ => {
                    let mut parts = vec![self.condition(inner)];
                    for _ in 0..1 + self.dice.below(3) {
                        parts.push(self.condition(inner));
                    }
                    let op = self.dice.pick(&[" AND ", " OR ", " and ", " OR NOT "]);
                    parts.join(op)
                }
            };
        }
        self.predicate(depth)
    }

    /// A literal for `ty`'s column, or now and then of another kind.
    fn value_for(&mut self, ty: Ty) -> String {
        if ty == Ty::Bool && self.dice.chance(0.9) {
            return self
                .dice
                .pick(&["true", "FALSE", "'true'", "1", "0"])
                .to_string();
        }
        if (ty == Ty::Str) != self.dice.chance(0.1) {
            self.string()
        } else {
            self.number()
        }
    }

    fn predicate(&mut self, depth: usize) -> String {
        let (name, ty) = self.dice.pick(self.columns);
        let column = self.qualify(name);
        let not = if self.dice.chance(0.3) { "NOT " } else { "" };
        match self.dice.below(24) {
            0..=7 => {
                let op = self
                    .dice
                    .pick(&["=", "<>", "!=", "<", "<=", ">", ">=", "=="]);
                let right = if self.dice.chance(0.2) {
                    self.expr(Want::Any, depth)
                } else {
                    self.value_for(ty)
                };
                format!("{column} {op} {right}")
            }
            8 | 9 => {
                let left = self.expr(Want::Num, depth);
                let right = self.expr(Want::Num, depth);
                format!("{left} > {right}")
            }
            10..=12 => {
                let mut items = Vec::new();
                for _ in 0..self.dice.below(12) {
                    items.push(self.value_for(ty));
                }
                format!("{column} {not}IN ({})", items.join(", "))
            }
            13 | 14 => {
                let low = self.value_for(ty);
                let high = self.value_for(ty);
                format!("{column} {not}BETWEEN {low} AND {high}")
            }
            15 | 16 => {
                let pattern = self.like_pattern();
                let escape = if self.dice.chance(0.1) {
                    " ESCAPE '\\'"
                } else {
                    ""
                };
                format!("{column} {not}LIKE {pattern}{escape}")
            }
            17 => {
                let regex = quote(self.dice.pick(REGEXES));
                match self.dice.below(3) {
                    0 => format!("{column} REGEXP {regex}"),
                    _ => format!("REGEXP_LIKE({column}, {regex})"),
                }
            }
            18 => {
                if self.dice.chance(0.8) {
                    format!("{column} IS {not}NULL")
                } else {
                    format!("{} IS {not}NULL", self.expr(Want::Any, depth))
                }
            }
            19 if self.dice.chance(0.3) => {
                let query = self
                    .dice
                    .pick(&["S00*", "\"NYSE\"", "a AND b", "/re.*/", "", "(", "field:x"]);
                format!("TEXT_MATCH({column}, {})", quote(query))
            }
            20 if self.dice.chance(0.3) => {
                let filter =
                    self.dice
                        .pick(&["\"$.a\" = 1", "\"$.b[0]\" IS NOT NULL", "x", "", "'"]);
                format!("JSON_MATCH({column}, {})", quote(filter))
            }
            21 if self.multistage => {
                let table = self.dice.pick(vocab::TABLES);
                if self.dice.chance(0.5) {
                    format!("{column} IN (SELECT {name} FROM {table} WHERE shares > 990)")
                } else {
                    format!("EXISTS (SELECT 1 FROM {table} WHERE price < 11)")
                }
            }
            22 => {
                let other = self.column(None);
                format!("{column} = {other}")
            }
            _ => self.expr(Want::Any, depth),
        }
    }

    fn like_pattern(&mut self) -> String {
        let mut pattern = String::new();
        for _ in 0..self.dice.below(6) {
            let part = self.dice.pick(&[
                "%", "_", "S", "S00", "NY", "\\%", "\\_", "\\", "[a-z]", "*", ".", "(", "''", "😀",
            ]);
            pattern.push_str(part);
        }
        format!("'{pattern}'")
    }

    /// An aggregate call: Gamay's with fitting and unfitting arguments,
    /// percentiles with ranks in and out of range, Pinot's others, FILTER.
    pub(super) fn aggregate(&mut self, depth: usize) -> String {
        let call = match self.dice.below(24) {
            0 => "COUNT(*)".to_string(),
            1 => format!("COUNT({})", self.column(None)),
            2 => format!("COUNT(DISTINCT {})", self.column(None)),
            3..=14 => {
                let name = self.dice.pick(functions::AGGREGATES);
                let want = if self.dice.chance(0.9) {
                    Want::Num
                } else {
                    Want::Str
                };
                let arg = self.expr(want, depth.min(1));
                match self.dice.below(40) {
                    0 => format!("{name}(DISTINCT {arg})"),
                    1 => format!("{name}()"),
                    2 => format!("{name}({arg}, {arg})"),
                    3 => format!("{name}(*)"),
                    _ => format!("{name}({arg})"),
                }
            }
            15..=18 => {
                let name = self.dice.pick(functions::PERCENTILES);
                let arg = self.column(Some(Ty::Double));
                let rank = if self.dice.chance(0.8) {
                    self.dice.pick(&["50", "95", "99.9", "0", "100", "25"])
                } else {
                    self.dice
                        .pick(&["-1", "101", "'abc'", "NULL", "1e309", "price"])
                };
                match self.dice.below(3) {
                    0 => {
                        let suffix = self
                            .dice
                            .pick(&["50", "95", "99", "999", "101", "0", "1e2"]);
                        format!("{name}{suffix}({arg})")
                    }
                    1 => format!("{name}({arg})"),
                    _ => format!("{name}({arg}, {rank})"),
                }
            }
            19 | 20 => {
                let name = self.dice.pick(functions::OTHER_AGGREGATES);
                let count = 1 + self.dice.below(3);
                let args = self.args(count, depth.min(1));
                format!("{name}({args})")
            }
            21 => {
                let inner = self.aggregate(0);
                format!("SUM({inner})")
            }
            _ => {
                let arg = self.expr(Want::Num, depth.min(1));
                format!("SUM({arg}) + MAX({arg})")
            }
        };
        if self.dice.chance(0.12) {
            let condition = self.condition(depth.min(1));
            return format!("{call} FILTER (WHERE {condition})");
        }
        call
    }
}

/// Regular expressions, valid and not.
const REGEXES: &[&str] = &[
    "S00.*",
    "^S0+1$",
    "[A-Z]{3}",
    "(?i)nyse",
    "\\d+",
    "\\p{L}+",
    ".*",
    "",
    "(",
    "[",
    "\\",
    "a{1000000}",
    "(a+)+$",
    "(?P<x>a)",
    "\\1",
    "x{2,1}",
    "[[:alpha:]]",
    "(?<=a)b",
    "[z-a]",
];

/// A SQL string literal holding `text`.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

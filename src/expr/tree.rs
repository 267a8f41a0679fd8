//! Expressions of the single-table engine: what SELECT, WHERE, GROUP BY,
//! HAVING and ORDER BY compute, after names are resolved against the
//! table's schema. `Expr::Key` and `Expr::Agg` appear only after
//! aggregation, naming a group key or an aggregate of the current group.

use super::Pattern;
use datafusion::sql::sqlparser::ast::BinaryOperator;

use super::functions::Func;
use super::in_list::InList;
use super::value::{ColumnType, Kind, Value};

/// A resolved column of the queried table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRef {
    pub name: String,
    pub ty: ColumnType,
    /// What docs of segments that lack the column hold.
    pub default: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinOp {
    /// The engine's operator for a SQL binary operator, if it has one.
    pub fn from_sql(op: &BinaryOperator) -> Option<BinOp> {
        Some(match op {
            BinaryOperator::Plus => BinOp::Add,
            BinaryOperator::Minus => BinOp::Sub,
            BinaryOperator::Multiply => BinOp::Mul,
            BinaryOperator::Divide => BinOp::Div,
            BinaryOperator::Modulo => BinOp::Mod,
            BinaryOperator::Eq => BinOp::Eq,
            BinaryOperator::NotEq => BinOp::NotEq,
            BinaryOperator::Lt => BinOp::Lt,
            BinaryOperator::LtEq => BinOp::LtEq,
            BinaryOperator::Gt => BinOp::Gt,
            BinaryOperator::GtEq => BinOp::GtEq,
            BinaryOperator::And => BinOp::And,
            BinaryOperator::Or => BinOp::Or,
            _ => return None,
        })
    }

    /// Pinot's function name for the operator.
    pub fn pinot_name(self) -> &'static str {
        match self {
            BinOp::Add => "plus",
            BinOp::Sub => "minus",
            BinOp::Mul => "times",
            BinOp::Div => "divide",
            BinOp::Mod => "mod",
            BinOp::Eq => "equals",
            BinOp::NotEq => "not_equals",
            BinOp::Lt => "less_than",
            BinOp::LtEq => "less_than_or_equal",
            BinOp::Gt => "greater_than",
            BinOp::GtEq => "greater_than_or_equal",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod
        )
    }
}

#[derive(Debug, Clone)]
pub enum Expr {
    Column(ColumnRef),
    Literal(Value),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Func {
        func: Func,
        args: Vec<Expr>,
    },
    Case {
        branches: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        to: ColumnType,
    },
    InList {
        expr: Box<Expr>,
        list: InList,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Pattern,
        negated: bool,
    },
    IsNull {
        column: ColumnRef,
        negated: bool,
    },
    /// Group key `i` (after aggregation).
    Key(usize, ColumnType),
    /// Aggregate `i` of the group (after aggregation).
    Agg(usize, ColumnType),
}

impl Expr {
    /// The response type of the expression's values.
    #[recursive::recursive]
    pub fn column_type(&self) -> ColumnType {
        match self {
            Expr::Column(column) => column.ty,
            Expr::Literal(value) => match value {
                Value::Long(_) => ColumnType::Long,
                Value::Double(_) => ColumnType::Double,
                Value::Bytes(_) => ColumnType::Bytes,
                _ => ColumnType::String,
            },
            Expr::Neg(inner) => inner.kind().column_type(),
            Expr::Binary { op, left, right } => {
                if op.is_arithmetic() {
                    let (l, r) = (left.kind(), right.kind());
                    if *op != BinOp::Div && l == Kind::Long && r == Kind::Long {
                        ColumnType::Long
                    } else {
                        ColumnType::Double
                    }
                } else {
                    ColumnType::Boolean
                }
            }
            Expr::Func { func, args } => func.column_type(args),
            Expr::Case {
                branches,
                otherwise,
            } => {
                let mut kinds = branches
                    .iter()
                    .map(|(_, then)| then.column_type())
                    .chain(otherwise.iter().map(|e| e.column_type()));
                let first = kinds.next().unwrap_or(ColumnType::String);
                kinds.fold(first, |acc, ty| {
                    if acc == ty {
                        acc
                    } else if acc.kind().is_numeric() && ty.kind().is_numeric() {
                        if acc.kind() == Kind::Double || ty.kind() == Kind::Double {
                            ColumnType::Double
                        } else {
                            ColumnType::Long
                        }
                    } else {
                        ColumnType::String
                    }
                })
            }
            Expr::Cast { to, .. } => *to,
            Expr::Not(_)
            | Expr::InList { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::IsNull { .. } => ColumnType::Boolean,
            Expr::Key(_, ty) | Expr::Agg(_, ty) => *ty,
        }
    }

    pub fn kind(&self) -> Kind {
        self.column_type().kind()
    }

    /// Pinot's canonical text of the expression, used as its column name
    /// when no alias is given: `sum(shares)`, `minus(a,mod(a,'10'))`.
    #[recursive::recursive]
    pub fn pinot_name(&self) -> String {
        match self {
            Expr::Column(column) => column.name.clone(),
            Expr::Literal(value) => format!("'{}'", value.to_text()),
            Expr::Neg(inner) => format!("minus('0',{})", inner.pinot_name()),
            Expr::Not(inner) => format!("not({})", inner.pinot_name()),
            Expr::Binary { op, left, right } => format!(
                "{}({},{})",
                op.pinot_name(),
                left.pinot_name(),
                right.pinot_name()
            ),
            Expr::Func { func, args } => {
                let args: Vec<String> = args.iter().map(Expr::pinot_name).collect();
                format!("{}({})", func.name(), args.join(","))
            }
            Expr::Case {
                branches,
                otherwise,
            } => {
                let mut parts = Vec::new();
                for (when, then) in branches {
                    parts.push(when.pinot_name());
                    parts.push(then.pinot_name());
                }
                if let Some(otherwise) = otherwise {
                    parts.push(otherwise.pinot_name());
                }
                format!("case({})", parts.join(","))
            }
            Expr::Cast { expr, to } => format!("cast({},'{}')", expr.pinot_name(), to.name()),
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let values: Vec<String> =
                    list.iter().map(|v| format!("'{}'", v.to_text())).collect();
                let name = if *negated { "not_in" } else { "in" };
                format!("{name}({},{})", expr.pinot_name(), values.join(","))
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let name = if *negated { "not_between" } else { "between" };
                format!(
                    "{name}({},{},{})",
                    expr.pinot_name(),
                    low.pinot_name(),
                    high.pinot_name()
                )
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => {
                let name = if *negated { "not_like" } else { "regexp_like" };
                format!("{name}({},'{}')", expr.pinot_name(), pattern.as_str())
            }
            Expr::IsNull { column, negated } => {
                let name = if *negated { "is_not_null" } else { "is_null" };
                format!("{name}({})", column.name)
            }
            Expr::Key(index, _) => format!("$key{index}"),
            Expr::Agg(index, _) => format!("$agg{index}"),
        }
    }

    /// Visits every column the expression reads.
    #[recursive::recursive]
    pub fn columns<'a>(&'a self, visit: &mut dyn FnMut(&'a ColumnRef)) {
        match self {
            Expr::Column(column) | Expr::IsNull { column, .. } => visit(column),
            Expr::Literal(_) | Expr::Key(..) | Expr::Agg(..) => {}
            Expr::Neg(inner) | Expr::Not(inner) => inner.columns(visit),
            Expr::Binary { left, right, .. } => {
                left.columns(visit);
                right.columns(visit);
            }
            Expr::Func { args, .. } => args.iter().for_each(|arg| arg.columns(visit)),
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (when, then) in branches {
                    when.columns(visit);
                    then.columns(visit);
                }
                if let Some(otherwise) = otherwise {
                    otherwise.columns(visit);
                }
            }
            Expr::Cast { expr, .. } | Expr::InList { expr, .. } | Expr::Like { expr, .. } => {
                expr.columns(visit)
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.columns(visit);
                low.columns(visit);
                high.columns(visit);
            }
        }
    }

    /// Whether two expressions compute the same thing (by canonical text).
    pub fn same_as(&self, other: &Expr) -> bool {
        self.pinot_name() == other.pinot_name()
    }
}

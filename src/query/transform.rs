//! Ingestion transforms and filters: `ingestionConfig.transformConfigs`
//! (`"transformFunction": "toEpochSeconds(ts)"`) and
//! `ingestionConfig.filterConfig.filterFunction` (a SQL predicate; records
//! it matches are dropped, as in Pinot).
//!
//! Expressions are parsed with sqlparser once per table and evaluated per
//! record over the record's JSON fields. Only built-in functions run: the
//! query engine's (DATETRUNC, DATETIMECONVERT, toEpoch*, fromEpoch*, UPPER,
//! ...), plus `toDateTime`, `fromDateTime`, `jsonPathString`,
//! `jsonPathLong`, `jsonPathDouble` and `jsonFormat`; arithmetic,
//! comparisons, AND/OR/NOT, IN, BETWEEN, IS [NOT] NULL and CASE. No user code
//! (Groovy is refused when the table is created).

use datafusion::sql::sqlparser::ast::{
    self, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use serde_json::{Map, Value as Json};

use crate::catalog::datetime::{format_simple_date, parse_simple_date};
use crate::expr::eval::{binary, compare, truthy};
use crate::expr::functions::Func;
use crate::expr::value::{ColumnType, Value};
use crate::expr::{BinOp, Error as ExprError};

use super::error::{Error, Result};
use super::rows::field;

/// A compiled ingestion expression.
#[derive(Debug, Clone)]
pub struct Transform {
    text: String,
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    Field(String),
    Literal(Value),
    Neg(Box<Node>),
    Not(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    IsNull(Box<Node>, bool),
    InList(Box<Node>, Vec<Node>, bool),
    Between(Box<Node>, Box<Node>, Box<Node>, bool),
    Case(Vec<(Node, Node)>, Option<Box<Node>>),
    Builtin(Func, Vec<Node>),
    Ingest(IngestFunc, Vec<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IngestFunc {
    ToDateTime,
    FromDateTime,
    JsonPathString,
    JsonPathLong,
    JsonPathDouble,
    JsonFormat,
}

impl Transform {
    /// Compiles `text`, naming what is wrong when it cannot.
    pub fn parse(text: &str) -> Result<Transform> {
        let parsed = Parser::new(&GenericDialect)
            .try_with_sql(text)
            .and_then(|mut parser| parser.parse_expr())
            .map_err(|source| Error::Parse {
                text: text.to_string(),
                source,
            })?;
        Ok(Transform {
            text: text.to_string(),
            root: compile(&parsed)?,
        })
    }

    /// The expression as configured.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates the expression over one record, giving a JSON value.
    pub fn eval(&self, record: &Map<String, Json>) -> Result<Json> {
        eval(&self.root, record)
            .map(to_json)
            .map_err(|reason| self.failed(reason))
    }

    /// Evaluates the expression as a predicate (null is false).
    pub fn matches(&self, record: &Map<String, Json>) -> Result<bool> {
        eval(&self.root, record)
            .map(|value| truthy(&value))
            .map_err(|reason| self.failed(reason))
    }

    fn failed(&self, reason: ExprError) -> Error {
        Error::Eval {
            expr: self.text.clone(),
            reason,
        }
    }
}

fn compile(expr: &ast::Expr) -> Result<Node> {
    let boxed = |e: &ast::Expr| compile(e).map(Box::new);
    Ok(match expr {
        ast::Expr::Identifier(ident) => Node::Field(ident.value.clone()),
        ast::Expr::CompoundIdentifier(parts) => Node::Field(
            parts
                .iter()
                .map(|part| part.value.as_str())
                .collect::<Vec<_>>()
                .join("."),
        ),
        ast::Expr::Value(value) => Node::Literal(literal(&value.value)?),
        ast::Expr::Nested(inner) => compile(inner)?,
        ast::Expr::UnaryOp { op, expr } => match op {
            UnaryOperator::Minus => Node::Neg(boxed(expr)?),
            UnaryOperator::Plus => compile(expr)?,
            UnaryOperator::Not => Node::Not(boxed(expr)?),
            other => {
                return Err(Error::Unsupported(format!(
                    "operator `{other}` is not supported"
                )))
            }
        },
        ast::Expr::BinaryOp { left, op, right } => {
            let op = BinOp::from_sql(op)
                .ok_or_else(|| Error::Unsupported(format!("operator `{op}` is not supported")))?;
            Node::Binary(op, boxed(left)?, boxed(right)?)
        }
        ast::Expr::IsNull(inner) => Node::IsNull(boxed(inner)?, false),
        ast::Expr::IsNotNull(inner) => Node::IsNull(boxed(inner)?, true),
        ast::Expr::InList {
            expr,
            list,
            negated,
        } => Node::InList(
            boxed(expr)?,
            list.iter().map(compile).collect::<Result<_, _>>()?,
            *negated,
        ),
        ast::Expr::Between {
            expr,
            negated,
            low,
            high,
        } => Node::Between(boxed(expr)?, boxed(low)?, boxed(high)?, *negated),
        ast::Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let operand = operand.as_deref().map(compile).transpose()?;
            let mut branches = Vec::with_capacity(conditions.len());
            for when in conditions {
                let condition = compile(&when.condition)?;
                let condition = match &operand {
                    Some(operand) => {
                        Node::Binary(BinOp::Eq, Box::new(operand.clone()), Box::new(condition))
                    }
                    None => condition,
                };
                branches.push((condition, compile(&when.result)?));
            }
            Node::Case(
                branches,
                else_result
                    .as_deref()
                    .map(compile)
                    .transpose()?
                    .map(Box::new),
            )
        }
        ast::Expr::Function(function) => {
            let name = function.name.to_string();
            let args = match &function.args {
                FunctionArguments::None => Vec::new(),
                FunctionArguments::List(list) => list
                    .args
                    .iter()
                    .map(|arg| match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                        | FunctionArg::Named {
                            arg: FunctionArgExpr::Expr(e),
                            ..
                        } => compile(e),
                        other => Err(Error::Unsupported(format!(
                            "argument `{other}` is not supported"
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                FunctionArguments::Subquery(_) => {
                    return Err(Error::Unsupported(
                        "subqueries are not allowed in ingestion expressions".into(),
                    ))
                }
            };
            function_node(&name, args)?
        }
        other => {
            // `a.b.c`: a nested field, however the parser shaped it.
            let text = other.to_string();
            let dotted = text.split('.').all(|part| {
                part.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_alphanumeric() || c == '_')
            });
            if dotted {
                return Ok(Node::Field(text));
            }
            return Err(Error::Unsupported(format!(
                "`{other}` is not supported in ingestion expressions"
            )));
        }
    })
}

fn function_node(name: &str, args: Vec<Node>) -> Result<Node> {
    let key: String = name
        .chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    let (ingest, arity): (IngestFunc, fn(usize) -> bool) = match key.as_str() {
        "todatetime" => (IngestFunc::ToDateTime, |n| n == 2 || n == 3),
        "fromdatetime" => (IngestFunc::FromDateTime, |n| n == 2 || n == 3),
        "jsonpathstring" => (IngestFunc::JsonPathString, |n| n == 2 || n == 3),
        "jsonpathlong" => (IngestFunc::JsonPathLong, |n| n == 2 || n == 3),
        "jsonpathdouble" => (IngestFunc::JsonPathDouble, |n| n == 2 || n == 3),
        "jsonformat" => (IngestFunc::JsonFormat, |n| n == 1),
        _ => {
            let func = Func::lookup(name).ok_or_else(|| {
                Error::Unsupported(format!("unknown function `{name}`; ingestion expressions use built-in functions such as toEpochSeconds, fromEpochDays, toDateTime, jsonPathString, DATETRUNC, UPPER"))
            })?;
            let (expected, fits) = func.arity();
            if !fits(args.len()) {
                return Err(Error::Unsupported(format!(
                    "{name} takes {expected} arguments, not {}",
                    args.len()
                )));
            }
            return Ok(Node::Builtin(func, args));
        }
    };
    if !arity(args.len()) {
        return Err(Error::Unsupported(format!(
            "{name} takes 2 or 3 arguments, not {}",
            args.len()
        )));
    }
    Ok(Node::Ingest(ingest, args))
}

fn literal(value: &ast::Value) -> Result<Value> {
    crate::expr::literal::literal(value).map_err(Error::Unsupported)
}

/// A JSON value as an expression value: objects and arrays keep their JSON
/// text, so the jsonPath functions can read them.
fn from_json(value: &Json) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Long(*b as i64),
        Json::Number(n) => match n.as_i64() {
            Some(v) => Value::Long(v),
            None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Str(s.clone()),
        other => Value::Str(other.to_string()),
    }
}

fn to_json(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Long(v) => Json::from(v),
        Value::Double(v) => serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s),
        Value::Bytes(b) => Json::String(crate::segment::hex(&b)),
        Value::Array(items) => Json::Array(items.into_iter().map(to_json).collect()),
    }
}

fn eval(node: &Node, record: &Map<String, Json>) -> Result<Value, ExprError> {
    Ok(match node {
        Node::Field(name) => match field(record, name) {
            Some(value) => from_json(value),
            None => Value::Null,
        },
        Node::Literal(value) => value.clone(),
        Node::Neg(inner) => match eval(inner, record)? {
            Value::Long(v) => Value::Long(v.wrapping_neg()),
            Value::Double(v) => Value::Double(-v),
            Value::Null => Value::Null,
            other => {
                return Err(ExprError::Invalid(format!(
                    "cannot negate `{}`",
                    other.to_text()
                )))
            }
        },
        Node::Not(inner) => match eval(inner, record)? {
            Value::Null => Value::Null,
            value => Value::Long(!truthy(&value) as i64),
        },
        Node::Binary(op, left, right) => {
            let (a, b) = (eval(left, record)?, eval(right, record)?);
            let ty = match (op, &a, &b) {
                (BinOp::Div, _, _) => ColumnType::Double,
                (_, Value::Long(_), Value::Long(_)) => ColumnType::Long,
                _ => ColumnType::Double,
            };
            binary(*op, &a, &b, ty)?
        }
        Node::IsNull(inner, negated) => {
            Value::Long((eval(inner, record)?.is_null() != *negated) as i64)
        }
        Node::InList(inner, list, negated) => {
            let value = eval(inner, record)?;
            if value.is_null() {
                return Ok(Value::Null);
            }
            let mut found = false;
            for item in list {
                if compare(&value, &eval(item, record)?) == Some(std::cmp::Ordering::Equal) {
                    found = true;
                    break;
                }
            }
            Value::Long((found != *negated) as i64)
        }
        Node::Between(inner, low, high, negated) => {
            let value = eval(inner, record)?;
            let (low, high) = (eval(low, record)?, eval(high, record)?);
            let inside = compare(&value, &low).is_some_and(|o| o.is_ge())
                && compare(&value, &high).is_some_and(|o| o.is_le());
            Value::Long((inside != *negated) as i64)
        }
        Node::Case(branches, otherwise) => {
            for (condition, result) in branches {
                if truthy(&eval(condition, record)?) {
                    return eval(result, record);
                }
            }
            match otherwise {
                Some(otherwise) => eval(otherwise, record)?,
                None => Value::Null,
            }
        }
        Node::Builtin(func, args) => {
            let values: Vec<Value> = args
                .iter()
                .map(|arg| eval(arg, record))
                .collect::<Result<_, _>>()?;
            let literals: Vec<crate::expr::Expr> = values
                .iter()
                .map(|value| crate::expr::Expr::Literal(value.clone()))
                .collect();
            func.call(&values, func.column_type(&literals))?
        }
        Node::Ingest(func, args) => {
            let values: Vec<Value> = args
                .iter()
                .map(|arg| eval(arg, record))
                .collect::<Result<_, _>>()?;
            ingest_call(*func, &values)?
        }
    })
}

fn ingest_call(func: IngestFunc, args: &[Value]) -> std::result::Result<Value, ExprError> {
    let default = args.get(2).cloned().unwrap_or(Value::Null);
    if args[0].is_null() {
        return Ok(default);
    }
    let text = |index: usize| -> std::result::Result<String, ExprError> {
        match &args[index] {
            Value::Str(s) => Ok(s.clone()),
            Value::Null => Err(ExprError::Invalid("a text argument is null".into())),
            other => Ok(other.to_text()),
        }
    };
    match func {
        IngestFunc::ToDateTime => {
            let millis = args[0].as_i64().ok_or_else(|| {
                ExprError::Invalid(format!(
                    "toDateTime expects epoch millis, got `{}`",
                    args[0].to_text()
                ))
            })?;
            let pattern = text(1)?;
            chrono::DateTime::from_timestamp_millis(millis)
                .ok_or_else(|| ExprError::Invalid(format!("{millis} is out of range")))?;
            let formatted = format_simple_date(millis, &pattern).ok_or_else(|| {
                ExprError::Invalid(format!("{millis} cannot be written with `{pattern}`"))
            })?;
            Ok(Value::Str(formatted))
        }
        IngestFunc::FromDateTime => {
            let value = text(0)?;
            let pattern = text(1)?;
            let millis = parse_simple_date(&value, &pattern).map_err(|err| {
                ExprError::Invalid(format!("`{value}` does not match `{pattern}`: {err}"))
            })?;
            Ok(Value::Long(millis))
        }
        IngestFunc::JsonFormat => Ok(args[0].clone()),
        IngestFunc::JsonPathString | IngestFunc::JsonPathLong | IngestFunc::JsonPathDouble => {
            let document: Json = match &args[0] {
                Value::Str(s) => serde_json::from_str(s).unwrap_or(Json::String(s.clone())),
                other => to_json(other.clone()),
            };
            let Some(found) = json_path(&document, &text(1)?)? else {
                return Ok(default);
            };
            Ok(match func {
                IngestFunc::JsonPathString => match found {
                    Json::String(s) => Value::Str(s.clone()),
                    Json::Null => default,
                    other => Value::Str(other.to_string()),
                },
                IngestFunc::JsonPathLong => match found {
                    Json::Number(n) => n
                        .as_i64()
                        .or_else(|| n.as_f64().map(|v| v as i64))
                        .map_or(default, Value::Long),
                    Json::String(s) => s.trim().parse().map_or(default, Value::Long),
                    _ => default,
                },
                _ => match found {
                    Json::Number(n) => n.as_f64().map_or(default, Value::Double),
                    Json::String(s) => s.trim().parse().map_or(default, Value::Double),
                    _ => default,
                },
            })
        }
    }
}

/// The value at a simple JSONPath (`$.a.b`, `$.list[0].c`, `$['a']`).
fn json_path<'a>(
    document: &'a Json,
    path: &str,
) -> std::result::Result<Option<&'a Json>, ExprError> {
    let rest = path
        .trim()
        .strip_prefix('$')
        .ok_or_else(|| ExprError::Invalid(format!("JSON path `{path}` must start with `$`")))?;
    let mut current = document;
    let mut chars = rest;
    while !chars.is_empty() {
        if let Some(after) = chars.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            let Some(next) = current.get(key) else {
                return Ok(None);
            };
            current = next;
            chars = &after[end..];
        } else if let Some(after) = chars.strip_prefix('[') {
            let end = after.find(']').ok_or_else(|| {
                ExprError::Invalid(format!("JSON path `{path}` has an unclosed `[`"))
            })?;
            let inside = after[..end].trim();
            let next = if let Ok(index) = inside.parse::<usize>() {
                current.get(index)
            } else {
                current.get(inside.trim_matches(|c| c == '\'' || c == '"'))
            };
            let Some(next) = next else { return Ok(None) };
            current = next;
            chars = &after[end + 1..];
        } else {
            return Err(ExprError::Invalid(format!(
                "JSON path `{path}` is not supported; use `$.a.b` or `$.a[0]`"
            )));
        }
    }
    Ok(Some(current))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(text: &str, record: Json) -> Json {
        let Json::Object(record) = record else {
            panic!("not an object")
        };
        Transform::parse(text).unwrap().eval(&record).unwrap()
    }

    #[test]
    fn time_functions() {
        let record = json!({"ts": 1_700_000_123_456i64});
        assert_eq!(
            run("toEpochSeconds(ts)", record.clone()),
            json!(1_700_000_123)
        );
        assert_eq!(run("toEpochDays(ts)", record.clone()), json!(19675));
        assert_eq!(
            run("fromEpochDays(19675)", record.clone()),
            json!(1_699_920_000_000i64)
        );
        assert_eq!(
            run("toDateTime(ts, 'yyyy-MM-dd')", record.clone()),
            json!("2023-11-14")
        );
        assert_eq!(
            run("fromDateTime('2023-11-14', 'yyyy-MM-dd')", record),
            json!(1_699_920_000_000i64)
        );
    }

    #[test]
    fn json_paths_arithmetic_and_case() {
        let record =
            json!({"payload": {"user": {"id": 7, "name": "ann"}, "items": [{"p": 2.5}]}, "qty": 3});
        assert_eq!(
            run("jsonPathString(payload, '$.user.name')", record.clone()),
            json!("ann")
        );
        assert_eq!(
            run("jsonPathLong(payload, '$.user.id')", record.clone()),
            json!(7)
        );
        assert_eq!(
            run("jsonPathDouble(payload, '$.items[0].p')", record.clone()),
            json!(2.5)
        );
        assert_eq!(
            run("jsonPathLong(payload, '$.missing', -1)", record.clone()),
            json!(-1)
        );
        assert_eq!(run("qty * 100 + 1", record.clone()), json!(301));
        assert_eq!(run("payload.user.id", record.clone()), json!(7));
        assert_eq!(
            run(
                "CASE WHEN qty > 2 THEN 'BIG' ELSE 'SMALL' END",
                record.clone()
            ),
            json!("BIG")
        );
        assert_eq!(
            run("UPPER(jsonPathString(payload, '$.user.name'))", record),
            json!("ANN")
        );
    }

    #[test]
    fn predicates_and_errors() {
        let Json::Object(record) = json!({"side": "BUY", "qty": 0}) else {
            unreachable!()
        };
        let filter = Transform::parse("side = 'SELL' OR qty <= 0").unwrap();
        assert!(filter.matches(&record).unwrap());
        let filter = Transform::parse("side IN ('SELL', 'SHORT')").unwrap();
        assert!(!filter.matches(&record).unwrap());
        let err = Transform::parse("groovyEval(x)").unwrap_err().to_string();
        assert!(err.contains("unknown function `groovyEval`"), "{err}");
        assert!(Transform::parse("toEpochSeconds(").is_err());
        let err = Transform::parse("toEpochSeconds(side)")
            .unwrap()
            .eval(&record)
            .unwrap_err()
            .to_string();
        assert!(err.contains("toEpochSeconds(side)"), "{err}");
    }
}

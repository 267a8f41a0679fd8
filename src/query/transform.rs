//! Ingestion transforms and filters (`ingest::transform::RecordExpr`)
//! compiled and run by the query engine: [`compile`] is the
//! `ingest::transform::Compile` the server hands its message decoders.
//!
//! An expression is parsed once per table and planned by the query
//! planner ([`plan_scalar`]), with the fields it reads as the
//! columns, each typed by the value a record holds (a plan is kept per
//! combination of field types). It runs through the query engine's
//! evaluator ([`eval_batch`]) over the record as a batch of one doc, so a transform and the same expression in a query compute the same
//! value. Only built-in functions run: the query engine's (DATETRUNC,
//! DATETIMECONVERT, toEpoch*, fromEpoch*, toDateTime, fromDateTime,
//! jsonPathString, jsonPathLong, jsonPathDouble, jsonFormat, UPPER, ...);
//! arithmetic, comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, CASE and CAST.
//! No user code (Groovy is refused when the table is created).

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::{Arc, RwLock};

use datafusion::sql::sqlparser::ast::{self, Ident, VisitMut, VisitorMut};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use roaring::RoaringBitmap;
use serde_json::{Map, Value as Json};

use crate::expr::eval::truthy;
use crate::expr::json_path::{from_json, to_json};
use crate::expr::value::{ColumnType, Kind, Value, Vector};
use crate::expr::{Error as ExprError, Expr};
use crate::query::docs::Docs;
use crate::query::eval::{eval_batch, Columns};
use crate::query::source::ColumnSource;
use crate::query::sql::{plan_scalar, TableColumns};

use crate::ingest::error::{Error, Result};
use crate::ingest::rows::field;
use crate::ingest::transform::RecordExpr;

/// Compiles an ingestion expression: `ingest::transform::Compile`.
pub fn compile(text: &str) -> Result<Box<dyn RecordExpr>> {
    Ok(Box::new(Transform::parse(text)?))
}

/// A compiled ingestion expression.
#[derive(Debug)]
pub struct Transform {
    text: String,
    parsed: ast::Expr,
    /// The record fields the expression reads (`a.b` for a nested one).
    fields: Vec<String>,
    /// Plans by the fields' types (`None`: the record holds no value), or
    /// why the expression cannot take fields of those types.
    plans: RwLock<HashMap<FieldTypes, Planned>>,
}

/// The types of a record's fields, in the order the expression names them.
type FieldTypes = Vec<Option<ColumnType>>;

/// A plan, or why the expression cannot take fields of those types.
type Planned = std::result::Result<Arc<Expr>, String>;

/// Combinations of field types one expression keeps plans for.
const MAX_PLANS: usize = 256;

/// The types a field is planned as, in order, when no record value says:
/// the first the expression accepts.
const GUESSES: [ColumnType; 3] = [ColumnType::Long, ColumnType::String, ColumnType::Double];

impl Transform {
    /// Compiles `text`, naming what is wrong when it cannot.
    pub fn parse(text: &str) -> Result<Transform> {
        let mut parsed = Parser::new(&GenericDialect)
            .try_with_sql(text)
            .and_then(|mut parser| parser.parse_expr())
            .map_err(|source| Error::Parse {
                text: text.to_string(),
                source,
            })?;
        let mut fields = Fields::default();
        let _ = parsed.visit(&mut fields);
        let transform = Transform {
            text: text.to_string(),
            parsed,
            fields: fields.names,
            plans: RwLock::new(HashMap::new()),
        };
        // Whatever the fields hold, the expression must plan for some
        // types: unknown functions and syntax are refused here.
        let mut first_error = None;
        for guess in GUESSES {
            match transform.plan_as(&vec![Some(guess); transform.fields.len()]) {
                Ok(_) => return Ok(transform),
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        Err(Error::Unsupported(first_error.unwrap_or_default()))
    }

    fn evaluate(&self, record: &Map<String, Json>) -> Result<Value> {
        let values: Vec<Value> = self
            .fields
            .iter()
            .map(|name| field(record, name).map_or(Value::Null, from_json))
            .collect();
        let types: Vec<Option<ColumnType>> = values.iter().map(type_of).collect();
        let expr = self.plan(&types)?;
        let mut columns: Columns<'_> = HashMap::with_capacity(values.len());
        for ((name, value), ty) in self.fields.iter().zip(values).zip(&types) {
            columns.insert(
                name.clone(),
                Box::new(RecordField {
                    kind: ty.unwrap_or(ColumnType::Long).kind(),
                    value,
                }),
            );
        }
        let vector = eval_batch(&expr, &columns, Docs::Range(0, 1)).map_err(|err| match err {
            crate::query::error::ExecError::Eval(reason) => self.failed(reason),
            other => self.failed(ExprError::Invalid(other.to_string())),
        })?;
        Ok(vector.value(0))
    }

    /// The plan for fields of `types`, planned once per combination.
    fn plan(&self, types: &[Option<ColumnType>]) -> Result<Arc<Expr>> {
        let known = self
            .plans
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(types)
            .cloned();
        let planned = known.unwrap_or_else(|| {
            let planned = self.plan_types(types);
            let mut plans = self
                .plans
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Records whose fields change type at every turn plan anew
            // rather than grow the map without end.
            if plans.len() < MAX_PLANS {
                plans.insert(types.to_vec(), planned.clone());
            }
            planned
        });
        planned.map_err(|reason| self.failed(ExprError::Invalid(reason)))
    }

    /// Plans for fields of `types`; a field without a value takes the
    /// first type the expression accepts.
    fn plan_types(&self, types: &[Option<ColumnType>]) -> Planned {
        let mut first_error = None;
        let missing: Vec<usize> = (0..types.len()).filter(|i| types[*i].is_none()).collect();
        let guesses = if missing.is_empty() { 1 } else { GUESSES.len() };
        for guess in GUESSES.iter().take(guesses) {
            let mut chosen = types.to_vec();
            for index in &missing {
                chosen[*index] = Some(*guess);
            }
            match self.plan_as(&chosen) {
                Ok(plan) => return Ok(Arc::new(plan)),
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        Err(first_error.unwrap_or_default())
    }

    /// Plans the expression with each field of the given type.
    fn plan_as(&self, types: &[Option<ColumnType>]) -> std::result::Result<Expr, String> {
        let columns = TableColumns {
            table: "the record".to_string(),
            columns: self
                .fields
                .iter()
                .zip(types)
                .map(|(name, ty)| (name.clone(), (ty.unwrap_or(ColumnType::Long), Value::Null)))
                .collect(),
        };
        plan_scalar(&self.parsed, &columns).map_err(|err| err.message)
    }

    fn failed(&self, reason: ExprError) -> Error {
        Error::Eval {
            expr: self.text.clone(),
            reason,
        }
    }
}

impl RecordExpr for Transform {
    fn text(&self) -> &str {
        &self.text
    }

    fn eval(&self, record: &Map<String, Json>) -> Result<Json> {
        self.evaluate(record).map(to_json)
    }

    fn matches(&self, record: &Map<String, Json>) -> Result<bool> {
        self.evaluate(record).map(|value| truthy(&value))
    }
}

/// The type of a record's value; `None` for null.
fn type_of(value: &Value) -> Option<ColumnType> {
    match value {
        Value::Null => None,
        Value::Long(_) => Some(ColumnType::Long),
        Value::Double(_) => Some(ColumnType::Double),
        Value::Bytes(_) => Some(ColumnType::Bytes),
        Value::Str(_) | Value::Array(_) => Some(ColumnType::String),
    }
}

/// Collects the fields an expression reads, and makes every dotted path
/// (`payload.user.id`, however the parser shaped it) a compound identifier.
#[derive(Default)]
struct Fields {
    names: Vec<String>,
}

impl Fields {
    fn add(&mut self, name: String) {
        if !self.names.contains(&name) {
            self.names.push(name);
        }
    }
}

impl VisitorMut for Fields {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut ast::Expr) -> ControlFlow<()> {
        match expr {
            ast::Expr::Identifier(ident) => self.add(ident.value.clone()),
            ast::Expr::CompoundIdentifier(parts) => self.add(
                parts
                    .iter()
                    .map(|part| part.value.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
            ),
            ast::Expr::Value(_) | ast::Expr::Function(_) | ast::Expr::Nested(_) => {}
            other => {
                let text = other.to_string();
                let dotted = text.contains('.')
                    && text.split('.').all(|part| {
                        part.chars()
                            .next()
                            .is_some_and(|c| c.is_alphabetic() || c == '_')
                            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
                    });
                if dotted {
                    *other =
                        ast::Expr::CompoundIdentifier(text.split('.').map(Ident::new).collect());
                    self.add(text);
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// One field of one record, as a column of a one-doc segment.
struct RecordField {
    kind: Kind,
    value: Value,
}

impl ColumnSource for RecordField {
    fn kind(&self) -> Kind {
        self.kind
    }

    fn single_value(&self) -> bool {
        true
    }

    fn min_max(&self) -> Option<(Value, Value)> {
        None
    }

    fn cardinality(&self) -> Option<usize> {
        None
    }

    fn dict_sorted(&self) -> bool {
        false
    }

    fn dict_value(&self, _id: u32) -> Value {
        Value::Null
    }

    fn id_of(&self, _value: &Value) -> Option<u32> {
        None
    }

    fn ids(&self, _docs: Docs<'_>, _out: &mut Vec<u32>) {}

    fn doc_ids(&self, _doc: u32, _out: &mut Vec<u32>) {}

    fn values(&self, docs: Docs<'_>) -> Vector {
        let values = vec![self.value.clone(); docs.len()];
        crate::expr::eval::from_values(self.kind, values)
    }

    fn nulls(&self) -> Option<RoaringBitmap> {
        self.value.is_null().then(|| RoaringBitmap::from_iter([0]))
    }
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

    /// Literals, casts, patterns and null handling are the query planner's:
    /// a transform reads `'it''s'`, `1e3` and `CAST` as a query does.
    #[test]
    fn literals_casts_and_patterns_as_in_queries() {
        let record = json!({"name": "ann", "qty": "7", "price": 2.5, "missing": null});
        assert_eq!(
            run("CONCAT(name, 'it''s', '-')", record.clone()),
            json!("ann-it's")
        );
        assert_eq!(run("price * 1e3", record.clone()), json!(2500.0));
        assert_eq!(run("CAST(qty AS LONG) + 1", record.clone()), json!(8));
        assert_eq!(run("name LIKE 'a%'", record.clone()), json!(1));
        assert_eq!(run("REGEXP_LIKE(name, '^b')", record.clone()), json!(0));
        assert_eq!(run("missing IS NULL", record.clone()), json!(1));
        assert_eq!(run("absent IS NOT NULL", record.clone()), json!(0));
        assert_eq!(run("UPPER(absent)", record.clone()), json!(null));
        assert_eq!(run("qty BETWEEN '1' AND '8'", record.clone()), json!(1));
        // One transform, records whose fields hold different types.
        let transform = Transform::parse("CONCAT(qty, '!')").unwrap();
        for (qty, expect) in [(json!(3), "3!"), (json!("x"), "x!"), (json!(1.5), "1.5!")] {
            let Json::Object(record) = json!({ "qty": qty }) else {
                unreachable!()
            };
            assert_eq!(transform.eval(&record).unwrap(), json!(expect));
        }
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
        assert!(err.contains("unknown function groovyEval"), "{err}");
        assert!(Transform::parse("toEpochSeconds(").is_err());
        let err = Transform::parse("toEpochSeconds(side)")
            .unwrap()
            .eval(&record)
            .unwrap_err()
            .to_string();
        assert!(err.contains("toEpochSeconds(side)"), "{err}");
    }
}

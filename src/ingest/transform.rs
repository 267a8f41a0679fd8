//! Ingestion transforms and filters: `ingestionConfig.transformConfigs`
//! (`"transformFunction": "toEpochSeconds(ts)"`) and
//! `ingestionConfig.filterConfig.filterFunction` (a SQL predicate; records
//! it matches are dropped, as in Pinot), as this module uses them: a
//! [`RecordExpr`] per expression, made by a [`Compile`] function the
//! caller hands the decoder. The query engine provides it
//! (`query::transform::compile`), so a transform is planned and evaluated
//! as the same expression in a query would be, without this module
//! depending on the engine.

use serde_json::{Map, Value as Json};

use super::error::Result;

/// A compiled ingestion expression.
pub trait RecordExpr: std::fmt::Debug + Send + Sync {
    /// The expression as configured.
    fn text(&self) -> &str;

    /// Evaluates the expression over one record, giving a JSON value.
    fn eval(&self, record: &Map<String, Json>) -> Result<Json>;

    /// Evaluates the expression as a predicate (null is false).
    fn matches(&self, record: &Map<String, Json>) -> Result<bool>;
}

/// Compiles an expression's text, naming what is wrong when it cannot.
pub type Compile = fn(&str) -> Result<Box<dyn RecordExpr>>;

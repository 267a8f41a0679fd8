//! Refuses a SELECT with nothing to select (`SELECT FROM t`) anywhere in
//! a statement, as Pinot's parser does. sqlparser accepts the empty list,
//! and DataFusion panics planning a subquery that selects no column.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{self, SetExpr, Visit, Visitor};

use crate::query::error::QueryError;

/// `Err` naming the first SELECT of `statement` (its top level or any
/// subquery, CTE or set operation) whose select list is empty.
pub fn check(statement: &ast::Statement) -> Result<(), QueryError> {
    match statement.visit(&mut EmptySelect) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(err) => Err(err),
    }
}

struct EmptySelect;

impl Visitor for EmptySelect {
    type Break = QueryError;

    /// Called for every query, nested ones included; the SELECTs of a set
    /// operation are its body's.
    fn pre_visit_query(&mut self, query: &ast::Query) -> ControlFlow<QueryError> {
        let mut pending = vec![query.body.as_ref()];
        while let Some(body) = pending.pop() {
            match body {
                SetExpr::Select(select) if select.projection.is_empty() => {
                    return ControlFlow::Break(QueryError::parse(format!(
                        "`{}` selects nothing; name the columns or expressions to return, \
                         e.g. SELECT COUNT(*) FROM myTable",
                        clip(&select.to_string())
                    )));
                }
                SetExpr::SetOperation { left, right, .. } => {
                    pending.push(left);
                    pending.push(right);
                }
                _ => {}
            }
        }
        ControlFlow::Continue(())
    }
}

/// The start of a printed SELECT, for a message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{} ...", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn checked(sql: &str) -> Result<(), QueryError> {
        let statements = Parser::parse_sql(&GenericDialect {}, sql).unwrap();
        check(&statements[0])
    }

    #[test]
    fn empty_select_lists_are_refused_wherever_they_are() {
        for sql in [
            "SELECT FROM t",
            "SELECT COUNT(*) FROM t WHERE (SELECT FROM t WHERE x < 1)",
            "SELECT a FROM t ORDER BY (SELECT FROM t)",
            "SELECT * FROM (SELECT FROM t) s",
            "WITH x AS (SELECT FROM t) SELECT COUNT(*) FROM x",
            "SELECT a FROM t UNION ALL SELECT FROM t",
            "SELECT (SELECT a FROM t EXCEPT (SELECT FROM t))",
        ] {
            let err = checked(sql).unwrap_err();
            assert_eq!(err.code, crate::query::error::SQL_PARSING, "{sql}");
            assert!(err.message.contains("selects nothing"), "{sql}: {err}");
        }
        assert!(checked("SELECT a FROM t WHERE EXISTS (SELECT 1 FROM t)").is_ok());
    }
}

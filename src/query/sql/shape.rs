//! Bounds on the shape of a statement, so no query can overflow a stack.
//!
//! sqlparser builds chains of operators (`1 + 1 + ...`, `a OR b OR ...`,
//! `SELECT ... UNION SELECT ...`, `INT[][]...`) in loops, one AST level per
//! operator, and every later walk of the tree (dropping it, printing it,
//! planning it here or in DataFusion) recurses once per level. So the
//! tokens are checked before anything is parsed ([`tokenize`]): an upper
//! bound of the nesting is computed in one pass, without recursion, and a
//! statement over [`MAX_EXPRESSION_DEPTH`] or [`MAX_CONDITION_TERMS`] is
//! refused before it has a tree.
//!
//! AND/OR chains are the one long chain real queries have (dashboards send
//! `x = 1 OR x = 2 OR ...` by the thousand), so after parsing [`normalize`]
//! rebuilds every long chain as a balanced tree of parenthesized halves:
//! its depth becomes logarithmic here and in DataFusion, which re-parses
//! the printed statement.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{self, BinaryOperator, VisitMut, VisitorMut};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::query::error::QueryError;

/// Deepest nesting of expressions a query may have, counting each operator
/// of a chain (`a + b + c`), each parenthesis or call, and each set
/// operation as a level. Real queries stay far below; the bound keeps every
/// recursive walk of a plan (ours, sqlparser's and DataFusion's) within a
/// 2 MiB thread stack with room to spare.
pub const MAX_EXPRESSION_DEPTH: usize = 500;

/// Most AND/OR operators along one path of a condition. Chains this long
/// are parsed as they come (one level per operator) before they are
/// rebalanced; 10,000 levels drop and rebalance well within a 2 MiB stack.
pub const MAX_CONDITION_TERMS: usize = 10_000;

/// AND/OR chains with more operands than this are rebalanced; shorter ones
/// keep the shape (and the Pinot-style names) they were written with.
const REBALANCE_OPERANDS: usize = 8;

/// Tokenizes `sql` as the parser does, and refuses statements whose
/// nesting exceeds the bounds above.
pub fn tokenize(sql: &str) -> Result<Vec<TokenWithSpan>, QueryError> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|err| QueryError::parse(err.to_string()))?;
    let shape = measure(&tokens);
    if shape.terms > MAX_CONDITION_TERMS {
        return Err(QueryError::validation(format!(
            "the query chains about {} conditions with AND/OR, more than the limit of {MAX_CONDITION_TERMS}; \
             for many values of one column use IN (...)",
            shape.terms
        )));
    }
    if shape.depth > MAX_EXPRESSION_DEPTH {
        return Err(QueryError::validation(format!(
            "the query's expressions nest about {} levels deep, more than the limit of {MAX_EXPRESSION_DEPTH} \
             (each operator of a chain such as `a + b + c`, each parenthesis or call and each UNION counts as a level); \
             simplify or split the query",
            shape.depth
        )));
    }
    Ok(tokens)
}

/// Upper bounds of a statement's nesting.
#[derive(Debug, PartialEq)]
struct Shape {
    /// AST levels once AND/OR chains are rebalanced.
    depth: usize,
    /// AND/OR operators along the deepest path, before rebalancing.
    terms: usize,
}

/// A bracketed part of the statement (or the whole statement), split into
/// segments at commas and at AND/OR, which are parsed apart from each other.
struct Group {
    /// A `CASE ... END`, where WHEN, THEN and ELSE also split segments.
    case: bool,
    /// BETWEENs waiting for their AND, which does not split.
    between: usize,
    ands: usize,
    ors: usize,
    /// Operators in the current segment: each can add one AST level.
    segment_ops: usize,
    /// Deepest group inside the current segment.
    segment_child: usize,
    /// Deepest finished segment.
    deepest: usize,
    /// Most AND/OR operators along a path through a child group.
    child_terms: usize,
    /// The next token starts an operand (a keyword there followed by `(`
    /// names a call, which its group counts).
    expect_operand: bool,
}

impl Group {
    fn new(case: bool) -> Group {
        Group {
            case,
            between: 0,
            ands: 0,
            ors: 0,
            segment_ops: 0,
            segment_child: 0,
            deepest: 0,
            child_terms: 0,
            expect_operand: true,
        }
    }

    fn operator(&mut self) {
        self.segment_ops += 1;
        self.expect_operand = true;
    }

    fn end_segment(&mut self) {
        self.deepest = self.deepest.max(self.segment_ops + self.segment_child);
        self.segment_ops = 0;
        self.segment_child = 0;
        self.expect_operand = true;
    }

    /// (depth, terms) of the closed group: two levels for the group itself
    /// (a call and its arguments, or a prefix keyword and the parentheses).
    fn close(mut self) -> (usize, usize) {
        self.end_segment();
        let depth = self.deepest + chain_depth(self.ands) + chain_depth(self.ors) + 2;
        (depth, self.ands + self.ors + self.child_terms)
    }
}

/// Levels a chain of `operators` AND (or OR) operators takes once
/// rebalanced by [`normalize`]: as written when short, else two per halving (the
/// operator and its parentheses).
fn chain_depth(operators: usize) -> usize {
    let operands = operators + 1;
    if operands <= REBALANCE_OPERANDS {
        operators
    } else {
        2 * (usize::BITS - (operands - 1).leading_zeros()) as usize
    }
}

/// One pass over the tokens with an explicit stack of open groups.
fn measure(tokens: &[TokenWithSpan]) -> Shape {
    let significant: Vec<&Token> = tokens
        .iter()
        .map(|token| &token.token)
        .filter(|token| !matches!(token, Token::Whitespace(_) | Token::EOF))
        .collect();
    let mut stack = vec![Group::new(false)];
    let mut set_operations = 0;
    for (index, token) in significant.iter().enumerate() {
        let Some(top) = stack.last_mut() else {
            break;
        };
        match token {
            Token::Comma | Token::SemiColon => top.end_segment(),
            Token::LParen => stack.push(Group::new(false)),
            // `INT[][]...` and `x[1][2]...` chain without operators.
            Token::LBracket | Token::LBrace => {
                top.operator();
                stack.push(Group::new(false));
            }
            Token::RParen | Token::RBracket | Token::RBrace => close_group(&mut stack, false),
            Token::Word(word)
                if word.quote_style.is_some() || word.keyword == Keyword::NoKeyword =>
            {
                top.expect_operand = false
            }
            Token::Word(word) => match word.keyword {
                Keyword::AND if top.between > 0 => {
                    top.between -= 1;
                    top.operator();
                }
                Keyword::AND => {
                    top.ands += 1;
                    top.end_segment();
                }
                Keyword::OR => {
                    top.ors += 1;
                    top.end_segment();
                }
                Keyword::BETWEEN => {
                    top.between += 1;
                    top.operator();
                }
                Keyword::CASE => {
                    top.operator();
                    stack.push(Group::new(true));
                }
                Keyword::END if top.case => close_group(&mut stack, true),
                Keyword::WHEN | Keyword::THEN | Keyword::ELSE if top.case => top.end_segment(),
                // Each side of a set operation is parsed apart; the chain of
                // them is counted on its own.
                Keyword::UNION | Keyword::EXCEPT | Keyword::INTERSECT | Keyword::MINUS => {
                    set_operations += 1;
                    top.end_segment();
                }
                _ if top.expect_operand
                    && matches!(significant.get(index + 1), Some(Token::LParen)) => {}
                _ => top.operator(),
            },
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_) => top.expect_operand = false,
            _ => top.operator(),
        }
    }
    // Unclosed groups (the parser will refuse them) still count, each
    // closed as what it is: a CASE without END too.
    while stack.len() > 1 {
        let case = stack.last().is_some_and(|top| top.case);
        close_group(&mut stack, case);
    }
    let (depth, terms) = stack.pop().map(Group::close).unwrap_or_default();
    Shape {
        depth: depth + set_operations,
        terms,
    }
}

/// Closes the innermost group into its parent: a CASE only by END, a
/// bracket by any closing bracket (mismatches are the parser's to report).
fn close_group(stack: &mut Vec<Group>, case: bool) {
    if stack.len() < 2 || stack.last().is_some_and(|top| top.case != case) {
        if let Some(top) = stack.last_mut() {
            top.operator();
        }
        return;
    }
    let Some(group) = stack.pop() else {
        return;
    };
    let (depth, terms) = group.close();
    if let Some(parent) = stack.last_mut() {
        parent.segment_child = parent.segment_child.max(depth);
        parent.child_terms = parent.child_terms.max(terms);
        parent.expect_operand = false;
    }
}

/// Rebuilds every AND/OR chain of more than [`REBALANCE_OPERANDS`]
/// operands as a balanced tree of parenthesized halves, in place, and
/// refuses IN lists of more than `max_in_list_items` values.
pub fn normalize(
    statement: &mut ast::Statement,
    max_in_list_items: usize,
) -> Result<(), QueryError> {
    match statement.visit(&mut Normalize { max_in_list_items }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(err) => Err(err),
    }
}

struct Normalize {
    max_in_list_items: usize,
}

impl VisitorMut for Normalize {
    type Break = QueryError;

    /// Called on a chain's root before its operands are visited, so the
    /// walk only ever descends the balanced tree.
    fn pre_visit_expr(&mut self, expr: &mut ast::Expr) -> ControlFlow<QueryError> {
        if let ast::Expr::InList { list, .. } = expr {
            if list.len() > self.max_in_list_items {
                return ControlFlow::Break(QueryError::validation(format!(
                    "the IN list has {} items, more than the limit of {} \
                     (raise it with SET maxInListItems = ...)",
                    list.len(),
                    self.max_in_list_items
                )));
            }
        }
        let ast::Expr::BinaryOp { op, .. } = expr else {
            return ControlFlow::Continue(());
        };
        if !matches!(op, BinaryOperator::And | BinaryOperator::Or) {
            return ControlFlow::Continue(());
        }
        let op = op.clone();
        if chain_operands(expr, &op) > REBALANCE_OPERANDS {
            let chain = std::mem::replace(expr, ast::Expr::value(ast::Value::Null));
            let operands = unchain(chain, &op);
            *expr = balanced(operands, &op);
        }
        ControlFlow::Continue(())
    }
}

/// Operands of the chain of `op` rooted at `expr` (parenthesized parts are
/// operands), counted without recursion.
fn chain_operands(expr: &ast::Expr, op: &BinaryOperator) -> usize {
    let mut count = 0;
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        match expr {
            ast::Expr::BinaryOp {
                left,
                op: this,
                right,
            } if this == op => {
                pending.push(left);
                pending.push(right);
            }
            _ => count += 1,
        }
    }
    count
}

/// The operands of a chain, left to right, taking it apart without
/// recursion (dropping a deep chain would recurse once per level).
fn unchain(expr: ast::Expr, op: &BinaryOperator) -> Vec<ast::Expr> {
    let mut operands = Vec::new();
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        match expr {
            ast::Expr::BinaryOp {
                left,
                op: this,
                right,
            } if this == *op => {
                pending.push(*right);
                pending.push(*left);
            }
            other => operands.push(other),
        }
    }
    operands
}

/// `(first half) op (second half)`, each half built the same way; the
/// recursion is as deep as the tree, logarithmic in the operands.
fn balanced(mut operands: Vec<ast::Expr>, op: &BinaryOperator) -> ast::Expr {
    if operands.len() <= 1 {
        return operands
            .pop()
            .unwrap_or_else(|| ast::Expr::value(ast::Value::Null));
    }
    let right = operands.split_off(operands.len() / 2);
    let half = |operands: Vec<ast::Expr>| {
        let tree = balanced(operands, op);
        match tree {
            ast::Expr::BinaryOp { op: ref this, .. } if this == op => {
                ast::Expr::Nested(Box::new(tree))
            }
            other => other,
        }
    };
    ast::Expr::BinaryOp {
        left: Box::new(half(operands)),
        op: op.clone(),
        right: Box::new(half(right)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(sql: &str) -> Shape {
        let tokens = Tokenizer::new(&GenericDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        measure(&tokens)
    }

    fn chain(terms: usize, term: &str, op: &str) -> String {
        let parts: Vec<String> = (0..terms)
            .map(|i| term.replace('#', &i.to_string()))
            .collect();
        parts.join(op)
    }

    #[test]
    fn operator_chains_count_one_level_per_operator() {
        let plus = shape(&format!("SELECT {} FROM t", chain(1900, "1", " + ")));
        assert!(plus.depth >= 1899, "{plus:?}");
        let flat = shape("SELECT a, b FROM t WHERE x = 1 AND y BETWEEN 2 AND 3");
        assert!(flat.depth < 20, "{flat:?}");
        assert_eq!(flat.terms, 1);
        // Commas and AND/OR split: wide is not deep.
        let wide = shape(&format!(
            "SELECT * FROM t WHERE x IN ({})",
            chain(100_000, "-#", ", ")
        ));
        assert!(wide.depth < 20, "{wide:?}");
        let case = shape(&format!(
            "SELECT CASE {} END FROM t",
            chain(5000, "WHEN x = # THEN 'a' || 'b'", " ")
        ));
        assert!(case.depth < 20, "{case:?}");
    }

    #[test]
    fn and_or_chains_count_as_terms_and_log_depth() {
        let or = shape(&format!(
            "SELECT 1 FROM t WHERE {}",
            chain(1750, "x = #", " OR ")
        ));
        assert_eq!(or.terms, 1749);
        assert!(or.depth < 40, "{or:?}");
        let nested = shape(&format!(
            "SELECT 1 FROM t WHERE ({}) AND ({})",
            chain(10, "x = #", " OR "),
            chain(10, "y = #", " AND ")
        ));
        assert_eq!(nested.terms, 10);
    }

    #[test]
    fn chains_that_skip_separators_still_count() {
        // BETWEEN's AND continues the chain.
        let between = shape(&format!(
            "SELECT {} FROM t",
            chain(600, "x BETWEEN # AND 1", " = ")
        ));
        assert!(between.depth > 600, "{between:?}");
        // UNION chains span commas; array types span no operator.
        let unions = shape(&chain(600, "SELECT 1, 2", " UNION ALL "));
        assert!(unions.depth > 600, "{unions:?}");
        let arrays = shape(&format!("SELECT CAST(x AS INT{}) FROM t", "[]".repeat(600)));
        assert!(arrays.depth > 600, "{arrays:?}");
        let parens = shape(&format!(
            "SELECT {}1{} FROM t",
            "(".repeat(600),
            ")".repeat(600)
        ));
        assert!(parens.depth > 600, "{parens:?}");
    }

    #[test]
    fn unclosed_groups_are_measured() {
        // A CASE without END, alone or inside an open parenthesis, ends the
        // pass like any other unclosed group.
        for sql in [
            "SELECT CASE WHEN a THEN",
            "SELECT (CASE WHEN a THEN (1",
            "SELECT CASE CASE WHEN a",
            "SELECT (1 + CASE WHEN a THEN b) FROM t",
        ] {
            let measured = shape(sql);
            assert!(measured.depth < 20, "{sql}: {measured:?}");
        }
    }

    #[test]
    fn long_chains_become_balanced_and_print_parenthesized() {
        let sql = format!("SELECT 1 FROM t WHERE {}", chain(1000, "x = #", " OR "));
        let tokens = tokenize(&sql).unwrap();
        let mut statements = datafusion::sql::sqlparser::parser::Parser::new(&GenericDialect {})
            .with_tokens_with_locations(tokens)
            .parse_statements()
            .unwrap();
        normalize(&mut statements[0], 10).unwrap();
        let printed = statements[0].to_string();
        assert!(
            printed.starts_with("SELECT 1 FROM t WHERE ((((((((x = 0 OR (x = 1 OR x = 2)) OR"),
            "{}",
            &printed[..200]
        );
        let reparsed = Parser::parse_sql(&GenericDialect {}, &printed).unwrap();
        assert_eq!(reparsed[0].to_string(), printed);
        // Short chains are left as written.
        let mut short = Parser::parse_sql(&GenericDialect {}, "SELECT a OR b OR c").unwrap();
        normalize(&mut short[0], 10).unwrap();
        assert_eq!(short[0].to_string(), "SELECT a OR b OR c");
    }

    use datafusion::sql::sqlparser::parser::Parser;
}

//! Scalar expressions, the language ingestion transforms and queries share:
//! values and their types ([`value`]), the expression tree ([`Expr`]),
//! Pinot's scalar functions ([`functions`], JSON paths in [`json_path`]),
//! checked integer arithmetic
//! ([`arith`]), IN lists ([`in_list`]), text patterns ([`pattern`]) and
//! what each operator does to values ([`eval`]). It knows the catalog's types and the segment's
//! scalars, and nothing of segments' documents, plans or servers.
//! Evaluation fails with an [`Error`] (`error.rs`).

pub mod arith;
pub mod error;
pub mod eval;
pub mod functions;
pub mod in_list;
pub mod json_path;
pub mod literal;
pub mod pattern;
mod tree;
pub mod value;

pub use error::{Error, Result};
pub use pattern::Pattern;
pub use tree::{BinOp, ColumnRef, Expr};

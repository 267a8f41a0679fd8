//! Regular expressions from queries (`LIKE`, `REGEXP_LIKE`, `RLIKE`),
//! compiled within size limits: a pattern comes from the caller, and the
//! regex crate's default budget (10 MiB per expression) is generous.

use regex::RegexBuilder;

use crate::expr::pattern::{like_source, REGEX_DFA_SIZE_LIMIT, REGEX_SIZE_LIMIT};
use crate::expr::Pattern;

use crate::query::error::QueryError;

/// Translates SQL `LIKE` to an anchored regular expression.
pub fn like_regex(pattern: &str) -> Result<Pattern, QueryError> {
    compile_regex(&like_source(pattern), "LIKE", pattern)
}

pub(super) fn regex(pattern: &str) -> Result<Pattern, QueryError> {
    compile_regex(pattern, "regular expression", pattern)
}

/// Compiles the source of a regular expression compiled here before
/// (`Regex::as_str`: LIKE patterns already translated) within the same
/// limits, so a plan sent elsewhere matches exactly as it did here.
pub fn regex_from_source(source: &str) -> Result<Pattern, QueryError> {
    compile_regex(source, "regular expression", source)
}

/// Compiles `regex` within the size limits; errors show `pattern` (what
/// the query wrote), cut short when long.
fn compile_regex(regex: &str, what: &str, pattern: &str) -> Result<Pattern, QueryError> {
    let shown = match pattern.char_indices().nth(100) {
        Some((end, _)) => format!("{}...", &pattern[..end]),
        None => pattern.to_string(),
    };
    RegexBuilder::new(regex)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
        .map(Pattern::new)
        .map_err(|err| match err {
            regex::Error::CompiledTooBig(limit) => QueryError::validation(format!(
                "the {what} pattern `{shown}` compiles to more than the limit of {} KiB; use a simpler pattern",
                limit / 1024
            )),
            other => QueryError::validation(format!(
                "`{shown}` is not a valid {what} pattern: {other}"
            )),
        })
}

//! The regression corpus, `tests/fuzz_sql/regressions.sql`: every case a fuzz
//! run found and the engine was fixed for, replayed before each run's
//! random phase under the same oracle.
//!
//! Cases are separated by blank lines. A case opens with `--` lines: free
//! text, and directives `-- @endpoint POST /query` (or `GET /query/sql`;
//! `POST /query/sql` is the default), `-- @options <JSON>` (the request's
//! `queryOptions` field) and `-- @raw` (the text is the request body as
//! it is). The rest of the case is the statement, comments and all.
//! `{{N*text}}` in a statement stands for `text` repeated N times, for
//! cases too long to write out.

use serde_json::Value;

use super::{Case, Endpoint, Payload};

/// The cases of `text`, each with its first line number.
pub fn parse(text: &str) -> Result<Vec<(usize, Case)>, String> {
    let mut cases = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while lines.peek().is_some() {
        let mut start = None;
        let mut endpoint = Endpoint::PostSql;
        let mut options = None;
        let mut raw = false;
        let mut statement: Vec<&str> = Vec::new();
        for (index, line) in lines.by_ref() {
            if line.trim().is_empty() {
                if statement.is_empty() {
                    start = None;
                    continue;
                }
                break;
            }
            start.get_or_insert(index + 1);
            let directive = line.strip_prefix("--").map(str::trim);
            match directive {
                Some(rest) if statement.is_empty() => {
                    if let Some(name) = rest.strip_prefix("@endpoint") {
                        endpoint = match name.trim() {
                            "POST /query" => Endpoint::PostQuery,
                            "GET /query/sql" => Endpoint::GetSql,
                            "POST /query/sql" => Endpoint::PostSql,
                            other => return Err(format!("line {}: endpoint {other}", index + 1)),
                        };
                    } else if let Some(json) = rest.strip_prefix("@options") {
                        let value: Value = serde_json::from_str(json.trim())
                            .map_err(|err| format!("line {}: {err}", index + 1))?;
                        options = Some(value);
                    } else if rest == "@raw" {
                        raw = true;
                    }
                }
                _ => statement.push(line),
            }
        }
        if statement.is_empty() {
            continue;
        }
        let text = expand(&statement.join("\n"))
            .map_err(|err| format!("line {}: {err}", start.unwrap_or(0)))?;
        let payload = if raw {
            Payload::Raw(text.into_bytes())
        } else {
            Payload::Sql { sql: text, options }
        };
        let case = Case {
            kind: "regression",
            endpoint,
            payload,
        };
        cases.push((start.unwrap_or(0), case));
    }
    Ok(cases)
}

/// `text` with every `{{N*piece}}` replaced by `piece` repeated N times.
fn expand(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or("`{{` without `}}`")?;
        let (count, piece) = after[..close]
            .split_once('*')
            .ok_or("`{{N*text}}` needs a `*`")?;
        let count: usize = count
            .trim()
            .parse()
            .map_err(|_| "`{{N*...}}`: N is a count")?;
        out.push_str(&piece.repeat(count));
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_directives_and_repeats() {
        let text = "-- first\nSELECT 1\n\n\n-- @endpoint POST /query\n-- @options {\"a\": 1}\nSELECT {{3*(}}1{{3*)}}\n-- trailing comment\n\n-- @raw\n{\"sql\": 1}\n";
        let cases = parse(text).unwrap();
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[0].0, 1);
        assert_eq!(cases[1].1.endpoint, Endpoint::PostQuery);
        assert_eq!(
            cases[1].1.describe(),
            "SELECT (((1)))\n-- trailing comment\n  queryOptions: {\"a\":1}"
        );
        assert!(matches!(&cases[2].1.payload, Payload::Raw(bytes) if bytes == b"{\"sql\": 1}"));
    }
}

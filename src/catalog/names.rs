//! Rules for the names of schemas, tables and columns, and "did you mean"
//! suggestions for misspelled ones.
//!
//! Schema and table names become file names under `--data-dir`, and column
//! names become identifiers in SQL, Parquet and JDBC targets, so both are held
//! to a small safe alphabet rather than escaped everywhere they travel.

/// Longest schema or table name accepted.
pub const MAX_TABLE_NAME_LEN: usize = 128;
/// Longest column name accepted.
pub const MAX_COLUMN_NAME_LEN: usize = 256;
/// Most columns a schema may have; keeps per-segment metadata and the
/// per-column blocks of a segment file within sane bounds.
pub const MAX_COLUMNS: usize = 10_000;

const TABLE_SUFFIXES: [&str; 2] = ["_OFFLINE", "_REALTIME"];

/// Checks a schema or table name: a letter or `_`, then letters, digits, `_` or `-`.
pub fn check_table_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_string());
    }
    if name.len() > MAX_TABLE_NAME_LEN {
        return Err(format!(
            "is {} bytes long; at most {MAX_TABLE_NAME_LEN} are allowed",
            name.len()
        ));
    }
    let mut chars = name.chars();
    let first = chars.next().unwrap_or('_');
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(format!("`{name}` must start with a letter or `_`"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "`{name}` contains {bad:?}; use letters, digits, `_` and `-` only"
        ));
    }
    Ok(())
}

/// Checks a column name: a letter or `_`, then letters, digits, `_` or `.`
/// (the dot separates the parts of a flattened nested field, `parent.child`).
pub fn check_column_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("column name must not be empty".to_string());
    }
    if name.len() > MAX_COLUMN_NAME_LEN {
        return Err(format!(
            "column name is {} bytes long; at most {MAX_COLUMN_NAME_LEN} are allowed",
            name.len()
        ));
    }
    let first = name.chars().next().unwrap_or('_');
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(format!(
            "column name `{name}` must start with a letter or `_` (names starting with `$` are reserved for virtual columns)"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
    {
        return Err(format!(
            "column name `{name}` contains {bad:?}; use letters, digits, `_` and `.` only"
        ));
    }
    if name.ends_with('.') || name.contains("..") {
        return Err(format!(
            "column name `{name}` has an empty part between dots"
        ));
    }
    Ok(())
}

/// The raw table name: `stock_transactions_REALTIME` → `stock_transactions`.
pub fn raw_table_name(name: &str) -> &str {
    for suffix in TABLE_SUFFIXES {
        if let Some(raw) = name.strip_suffix(suffix) {
            return raw;
        }
    }
    name
}

/// Longest name a typo is looked for: the edit distance costs the product
/// of the lengths, and names come from requests (a megabyte-long column
/// name against another took most of a minute).
const MAX_SUGGEST_LEN: usize = 256;

/// The closest of `candidates` to `name`, if it is close enough to be a typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if name.len() > MAX_SUGGEST_LEN {
        return None;
    }
    let lowered = name.to_ascii_lowercase();
    // Allow about one edit per three characters, at least one.
    let budget = (name.len() / 3).max(1);
    let chars = name.chars().count();
    let mut best: Option<(&str, usize)> = None;
    for candidate in candidates {
        // The distance is at least the difference in length (in chars, as
        // the distance counts them).
        if candidate.chars().count().abs_diff(chars) > budget {
            continue;
        }
        let distance = strsim::levenshtein(&lowered, &candidate.to_ascii_lowercase());
        if distance <= budget && best.is_none_or(|(_, d)| distance < d) {
            best = Some((candidate, distance));
        }
    }
    best.map(|(candidate, _)| candidate)
}

/// "; did you mean `x`?" when a close candidate exists, else "".
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(name, candidates) {
        Some(candidate) => format!("; did you mean `{candidate}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Suggestions stay cheap whatever the request holds (found by the
    /// config fuzzing: a 1 MiB column name against a 64 KiB primary key
    /// column took 44 s).
    #[test]
    fn suggestions_skip_long_names_and_distant_lengths() {
        let long = "a".repeat(1 << 20);
        let other = "b".repeat(1 << 16);
        assert_eq!(suggest(&long, [other.as_str(), long.as_str()]), None);
        assert_eq!(suggest(&other, [long.as_str()]), None);
        assert_eq!(suggest("sharez", ["shares", &long]), Some("shares"));
        assert_eq!(
            suggest("id", ["user_id_with_a_long_name", "ids"]),
            Some("ids")
        );
    }

    #[test]
    fn table_names() {
        assert!(check_table_name("stock_transactions").is_ok());
        assert!(check_table_name("my-table_2").is_ok());
        assert!(check_table_name("").is_err());
        assert!(check_table_name("../etc").is_err());
        assert!(check_table_name("a/b").is_err());
        assert!(check_table_name("9lives").is_err());
        assert!(check_table_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn column_names() {
        assert!(check_column_name("user_id").is_ok());
        assert!(check_column_name("address.city").is_ok());
        assert!(check_column_name("$docId").is_err());
        assert!(check_column_name("a b").is_err());
        assert!(check_column_name("a\"b").is_err());
        assert!(check_column_name("a..b").is_err());
        assert!(check_column_name("a.").is_err());
    }

    #[test]
    fn suffixes() {
        assert_eq!(raw_table_name("t_REALTIME"), "t");
        assert_eq!(raw_table_name("t_OFFLINE"), "t");
        assert_eq!(raw_table_name("t"), "t");
    }

    #[test]
    fn suggestions() {
        let columns = ["id", "user_id", "shares", "symbol"];
        assert_eq!(suggest("sharez", columns), Some("shares"));
        assert_eq!(suggest("userid", columns), Some("user_id"));
        assert_eq!(suggest("SYMBOL", columns), Some("symbol"));
        assert_eq!(suggest("completely_different", columns), None);
    }
}

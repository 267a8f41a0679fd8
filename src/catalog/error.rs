//! Failures of the catalog: malformed or invalid documents, conflicts with
//! what is already stored, and I/O on the metadata directory or failures
//! of another store.

use std::path::PathBuf;

/// One thing wrong with a document, located by its field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path of the offending field, e.g. `tableIndexConfig.invertedIndexColumns[0]`.
    pub field: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {what} JSON: {reason}")]
    InvalidJson { what: String, reason: String },

    #[error("invalid {what}: field `{field}`: {reason}")]
    InvalidField {
        what: String,
        field: String,
        reason: String,
    },

    #[error("invalid {what}: {}", join(problems))]
    Invalid {
        what: String,
        problems: Vec<Problem>,
    },

    #[error("schema `{name}` already exists; use PUT /schemas/{name} or POST /schemas?override=true to replace it")]
    SchemaExists { name: String },

    #[error("schema `{name}` does not exist{}", known_list("schemas", known))]
    SchemaNotFound { name: String, known: Vec<String> },

    #[error("cannot delete schema `{name}`: table `{table}` uses it; delete the table first")]
    SchemaInUse { name: String, table: String },

    #[error("table `{table}` needs schema `{schema}`, which does not exist; POST /schemas first, or send both with POST /tableConfigs")]
    SchemaMissingForTable { table: String, schema: String },

    #[error("table `{name}` already exists; use PUT /tables/{raw} to update it")]
    TableExists { name: String, raw: String },

    #[error("table `{name}` does not exist{}", known_list("tables", known))]
    TableNotFound { name: String, known: Vec<String> },

    #[error("catalog I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("catalog file {} is unreadable: {reason}; restore it or remove it to drop that entry", path.display())]
    CorruptFile { path: PathBuf, reason: String },

    #[error("catalog entry {origin} is unreadable: {reason}")]
    CorruptEntry { origin: String, reason: String },

    #[error("the catalog's store failed to {action}: {reason}")]
    Store { action: String, reason: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A single-problem validation error.
    pub(crate) fn invalid(
        what: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            what: what.into(),
            problems: vec![Problem {
                field: field.into(),
                message: message.into(),
            }],
        }
    }
}

fn join(problems: &[Problem]) -> String {
    let parts: Vec<String> = problems.iter().map(Problem::to_string).collect();
    parts.join("; ")
}

fn known_list(kind: &str, known: &[String]) -> String {
    if known.is_empty() {
        format!(" (there are no {kind} yet)")
    } else {
        format!("; existing {kind}: {}", known.join(", "))
    }
}

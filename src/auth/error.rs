//! Why an auth file was refused: each error names the file, the principal
//! or the line, and what would be right.

use std::path::PathBuf;

/// A refused auth file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read the auth file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("auth file {}: {source}", path.display())]
    In {
        path: PathBuf,
        #[source]
        source: Box<FileError>,
    },

    #[error("{0}")]
    Json(#[from] serde_json::Error),

    #[error("no principals are defined")]
    NoPrincipals,

    #[error("principal `{0}` is defined twice")]
    DefinedTwice(String),

    #[error("principal name `{0}` must be non-empty, without `:` or control characters")]
    BadName(String),

    #[error("principal `{name}`: the password must be an Argon2 hash such as `gamay auth hash-password` prints ({reason})")]
    NotAHash { name: String, reason: String },

    #[error("principal `{name}`: {reason}")]
    BadToken { name: String, reason: String },

    #[error("principal `{0}` has both a password and a token; give one")]
    BothCredentials(String),

    #[error("principal `{0}` needs a `password` (Argon2 hash) or a `token` (sha256 digest)")]
    NoCredential(String),

    #[error("principal `{name}`: unknown permission `{permission}`; use READ, CREATE, UPDATE, DELETE or METRICS")]
    UnknownPermission { name: String, permission: String },

    #[error("line {0}: expected `key=value`")]
    NotAProperty(usize),

    #[error("no `{0}` list of principals (JSON files start with `{{`)")]
    NoPrincipalList(&'static str),
}

//! Who may do what: principals, their permissions, and checking the
//! credentials a request carries. Nothing here knows about HTTP; `api`
//! reads the `Authorization` header, calls [`Authenticator::authenticate`]
//! and asks the returned [`Principal`] whether it [`Principal::may`] act.
//!
//! The model is Pinot's BasicAuth access control: each principal has a
//! password (or, for services, a bearer token), the tables it may touch
//! (all when none are listed) and its permissions among READ, CREATE,
//! UPDATE and DELETE (all when none are listed). Gamay adds METRICS, for a
//! scraper that may read `/metrics` and nothing else. A principal with every
//! table and every permission is an administrator: only it manages
//! connectors, which write table data to hosts of their own choosing.
//!
//! Passwords are stored as Argon2 hashes and tokens as SHA-256 digests
//! ([`secret`]); verifying an Argon2 hash costs milliseconds by design, so
//! credentials that verified are remembered by the digest of the header
//! they came in, and a repeated request costs one SHA-256.

pub mod audit;
mod error;
mod file;
pub mod secret;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

pub use error::FileError;
pub use file::load;

use crate::catalog::raw_table_name;
use crate::sync::RecoverRw;

/// What a principal may do, as Pinot names it (plus METRICS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    Read,
    Create,
    Update,
    Delete,
    /// Read `/metrics`, which names every table.
    Metrics,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::Read,
        Permission::Create,
        Permission::Update,
        Permission::Delete,
        Permission::Metrics,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Create => "CREATE",
            Permission::Update => "UPDATE",
            Permission::Delete => "DELETE",
            Permission::Metrics => "METRICS",
        }
    }

    pub fn parse(text: &str) -> Option<Permission> {
        Permission::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    /// Raw table names it may touch; `None` for every table.
    pub tables: Option<BTreeSet<String>>,
    /// `None` for every permission.
    pub permissions: Option<BTreeSet<Permission>>,
}

impl Principal {
    /// The caller when authentication is off: may do everything.
    pub fn anonymous() -> Principal {
        Principal {
            name: "anonymous".to_string(),
            tables: None,
            permissions: None,
        }
    }

    /// Whether the principal holds `permission` (on some table).
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions
            .as_ref()
            .is_none_or(|set| set.contains(&permission))
    }

    /// Whether the principal may touch `table` (raw or with its type).
    pub fn sees(&self, table: &str) -> bool {
        self.tables
            .as_ref()
            .is_none_or(|set| set.contains(raw_table_name(table)))
    }

    /// Whether the principal may act with `permission` on `table`, or on
    /// every table when `table` is `None`.
    pub fn may(&self, permission: Permission, table: Option<&str>) -> bool {
        self.has(permission)
            && match table {
                Some(table) => self.sees(table),
                None => self.tables.is_none(),
            }
    }

    /// Every table and every permission.
    pub fn is_admin(&self) -> bool {
        self.tables.is_none() && Permission::ALL.iter().all(|p| self.has(*p))
    }
}

/// A configured principal with the secret it proves itself with.
#[derive(Debug, Clone)]
pub struct Account {
    pub principal: Arc<Principal>,
    pub credential: Credential,
}

#[derive(Debug, Clone)]
pub enum Credential {
    /// An Argon2 hash in PHC form (`$argon2id$v=19$...`).
    Password(String),
    /// The SHA-256 digest of a bearer token.
    Token([u8; 32]),
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication is required: send an Authorization header with Basic credentials or a Bearer token")]
    Missing,
    #[error("the Authorization header is malformed: {0}")]
    Malformed(String),
    #[error("the user name or password is wrong")]
    BadPassword,
    #[error("the bearer token is not known")]
    BadToken,
}

/// Credentials verified since start, by the SHA-256 of the header they came in.
const CACHE_ENTRIES: usize = 4096;

/// The configured principals and a cache of verified credentials.
pub struct Authenticator {
    by_name: HashMap<String, Account>,
    tokens: HashMap<[u8; 32], Arc<Principal>>,
    /// Verified in place of a missing user's hash, so that a wrong user
    /// name takes as long as a wrong password.
    decoy: String,
    verified: RwLock<HashMap<[u8; 32], Arc<Principal>>>,
}

impl Authenticator {
    pub fn new(accounts: Vec<Account>) -> Authenticator {
        let mut by_name = HashMap::new();
        let mut tokens = HashMap::new();
        for account in accounts {
            if let Credential::Token(digest) = &account.credential {
                tokens.insert(*digest, account.principal.clone());
            }
            by_name.insert(account.principal.name.clone(), account);
        }
        Authenticator {
            by_name,
            tokens,
            decoy: secret::hash_password("decoy password"),
            verified: RwLock::new(HashMap::new()),
        }
    }

    /// Reads the principals from an auth file (see [`load`]).
    pub fn from_file(path: &Path) -> Result<Authenticator, FileError> {
        Ok(Authenticator::new(load(path)?))
    }

    /// The principal of a request whose credentials were verified before,
    /// without any slow work. `None` means [`Self::authenticate`] must run.
    pub fn cached(&self, header: &str) -> Option<Arc<Principal>> {
        let key = secret::sha256(header.as_bytes());
        let verified = self.verified.read_locked();
        verified.get(&key).cloned()
    }

    /// Checks an `Authorization` header value. Verifying a password costs
    /// milliseconds of CPU: call it off the async workers.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Arc<Principal>, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        if let Some(principal) = self.cached(header) {
            return Ok(principal);
        }
        let principal = match parse_header(header)? {
            Presented::Basic { user, password } => {
                let Some(account) = self.by_name.get(&user) else {
                    secret::verify_password(&password, &self.decoy);
                    return Err(AuthError::BadPassword);
                };
                match &account.credential {
                    Credential::Password(hash) if secret::verify_password(&password, hash) => {
                        account.principal.clone()
                    }
                    _ => return Err(AuthError::BadPassword),
                }
            }
            Presented::Bearer(token) => {
                let digest = secret::sha256(token.as_bytes());
                self.tokens
                    .get(&digest)
                    .cloned()
                    .ok_or(AuthError::BadToken)?
            }
        };
        let mut verified = self.verified.write_locked();
        if verified.len() >= CACHE_ENTRIES {
            verified.clear();
        }
        verified.insert(secret::sha256(header.as_bytes()), principal.clone());
        Ok(principal)
    }

    /// Number of configured principals.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Credentials as a request presents them.
#[derive(Debug, PartialEq, Eq)]
enum Presented {
    Basic { user: String, password: String },
    Bearer(String),
}

fn parse_header(header: &str) -> Result<Presented, AuthError> {
    let (scheme, rest) = header.trim().split_once(' ').ok_or_else(|| {
        AuthError::Malformed(
            "expected `Basic <base64 of user:password>` or `Bearer <token>`".into(),
        )
    })?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| AuthError::Malformed("the Basic credentials are not base64".into()))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| AuthError::Malformed("the Basic credentials are not UTF-8".into()))?;
        let (user, password) = text.split_once(':').ok_or_else(|| {
            AuthError::Malformed("the Basic credentials must be `user:password`".into())
        })?;
        Ok(Presented::Basic {
            user: user.to_string(),
            password: password.to_string(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Presented::Bearer(rest.to_string()))
    } else {
        Err(AuthError::Malformed(format!(
            "the scheme `{scheme}` is not supported; use Basic or Bearer"
        )))
    }
}

#[cfg(test)]
mod tests;

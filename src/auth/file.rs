//! The auth file given with `--auth-file`: the principals, as JSON or as
//! Pinot's BasicAuth properties.
//!
//! JSON:
//!
//! ```json
//! {"principals": [
//!   {"name": "admin", "password": "$argon2id$v=19$..."},
//!   {"name": "dashboard", "password": "$argon2id$...", "tables": ["stock_transactions"], "permissions": ["READ"]},
//!   {"name": "prometheus", "token": "sha256:9f86d0...", "permissions": ["METRICS"]}
//! ]}
//! ```
//!
//! Properties, with Pinot's controller or broker keys (a password must be
//! an Argon2 hash here too, where Pinot keeps it in clear):
//!
//! ```text
//! controller.admin.access.control.principals=admin,user
//! controller.admin.access.control.principals.admin.password=$argon2id$...
//! controller.admin.access.control.principals.user.tables=myusertable
//! controller.admin.access.control.principals.user.permissions=READ
//! ```

use super::error::FileError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::{secret, Account, Credential, Permission, Principal};
use crate::catalog::raw_table_name;

const PROPERTY_PREFIXES: [&str; 2] = [
    "controller.admin.access.control.principals",
    "pinot.broker.access.control.principals",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson {
    principals: Vec<PrincipalJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalJson {
    name: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    tables: Vec<String>,
    #[serde(default)]
    permissions: Vec<String>,
}

/// Reads and checks an auth file; every error names the principal and field.
pub fn load(path: &Path) -> Result<Vec<Account>, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|source| FileError::In {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

pub(super) fn parse(text: &str) -> Result<Vec<Account>, FileError> {
    let entries = if text.trim_start().starts_with('{') {
        let file: FileJson = serde_json::from_str(text)?;
        file.principals
    } else {
        from_properties(text)?
    };
    if entries.is_empty() {
        return Err(FileError::NoPrincipals);
    }
    let mut names = BTreeSet::new();
    let mut accounts = Vec::with_capacity(entries.len());
    for entry in entries {
        if !names.insert(entry.name.clone()) {
            return Err(FileError::DefinedTwice(entry.name));
        }
        accounts.push(account(entry)?);
    }
    Ok(accounts)
}

fn account(entry: PrincipalJson) -> Result<Account, FileError> {
    let name = entry.name;
    if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
        return Err(FileError::BadName(name));
    }
    let credential = match (entry.password, entry.token) {
        (Some(hash), None) => {
            secret::check_password_hash(&hash).map_err(|reason| FileError::NotAHash {
                name: name.clone(),
                reason,
            })?;
            Credential::Password(hash)
        }
        (None, Some(token)) => {
            Credential::Token(secret::parse_token_digest(&token).map_err(|reason| {
                FileError::BadToken {
                    name: name.clone(),
                    reason,
                }
            })?)
        }
        (Some(_), Some(_)) => return Err(FileError::BothCredentials(name)),
        (None, None) => return Err(FileError::NoCredential(name)),
    };
    let mut permissions = BTreeSet::new();
    for text in &entry.permissions {
        let permission = Permission::parse(text).ok_or_else(|| FileError::UnknownPermission {
            name: name.clone(),
            permission: text.clone(),
        })?;
        permissions.insert(permission);
    }
    let tables: BTreeSet<String> = entry
        .tables
        .iter()
        .map(|t| raw_table_name(t.trim()).to_string())
        .filter(|t| !t.is_empty())
        .collect();
    Ok(Account {
        principal: Arc::new(Principal {
            name,
            tables: (!tables.is_empty()).then_some(tables),
            permissions: (!permissions.is_empty()).then_some(permissions),
        }),
        credential,
    })
}

fn from_properties(text: &str) -> Result<Vec<PrincipalJson>, FileError> {
    let mut props = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .or_else(|| line.split_once(':'))
            .ok_or(FileError::NotAProperty(number + 1))?;
        let key = key.trim();
        let Some(rest) = PROPERTY_PREFIXES
            .iter()
            .find_map(|prefix| key.strip_prefix(prefix))
        else {
            continue;
        };
        props.insert(rest.to_string(), value.trim().to_string());
    }
    let list = props
        .get("")
        .ok_or(FileError::NoPrincipalList(PROPERTY_PREFIXES[0]))?;
    let split = |value: Option<&String>| -> Vec<String> {
        value
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for name in split(Some(list)) {
        let get = |field: &str| props.get(&format!(".{name}.{field}"));
        out.push(PrincipalJson {
            password: get("password").cloned(),
            token: get("token").cloned(),
            tables: split(get("tables")),
            permissions: split(get("permissions")),
            name,
        });
    }
    Ok(out)
}

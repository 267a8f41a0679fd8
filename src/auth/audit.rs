//! The audit log: one JSON line per administrative action (who, what,
//! when, from where, and how it ended) appended to `audit.log` under the
//! data directory, readable by the server's user only, and echoed to the
//! `gamay::audit` tracing target. Query strings and bodies are left out:
//! they may carry secrets.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::sync::Recover;
use serde::Serialize;

/// File name under the data directory.
pub const FILE_NAME: &str = "audit.log";

/// One administrative action.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub principal: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Opens (creating, mode 0600) `audit.log` under `data_dir` for appending.
    pub fn open(data_dir: &Path) -> std::io::Result<AuditLog> {
        let path = data_dir.join(FILE_NAME);
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(AuditLog {
            path,
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry`; a failed write is logged, never fatal.
    pub fn record(&self, entry: &Entry<'_>) {
        let Ok(mut line) = serde_json::to_vec(entry) else {
            return;
        };
        line.push(b'\n');
        tracing::info!(
            target: "gamay::audit",
            principal = entry.principal,
            method = entry.method,
            path = entry.path,
            status = entry.status,
            "audit"
        );
        let mut file = self.file.locked();
        if let Err(err) = file.write_all(&line) {
            tracing::error!(error = %err, path = %self.path.display(), "cannot append to the audit log");
        }
    }
}

/// Now as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

//! Secrets in connector configs: which keys hold them, how a config is shown
//! (every secret as `[hidden]`, including those inside `connection.url`),
//! how a config sent back with `[hidden]` values gets its stored secrets
//! again (only while it still points at the same database or endpoint, so a
//! stored password never goes to a new host), and the config references
//! (`${env:...}`, `${file:...}`) a secret may be given as.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::config::SinkKind;
use super::error::SecretError;
use super::jdbc::url::{self, ConnectionUrl};

/// What a secret is shown as.
pub const HIDDEN: &str = url::MASK;

/// Keys whose values are never shown back.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("secret") || key.ends_with(".key.id")
}

/// The config with its secrets replaced by `[hidden]`, as Kafka Connect
/// shows values that come from a config provider: secret keys, and the
/// password and secret parameters of `connection.url` (whatever form the
/// URL was given in), or the whole URL when it cannot be read.
pub fn masked(raw: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    raw.iter()
        .map(|(key, value)| {
            let shown = if is_secret(key) {
                HIDDEN.to_string()
            } else if key == "connection.url" {
                match url::parse(value) {
                    Ok(url) if url.has_secrets() => url.to_string(),
                    Ok(_) => value.clone(),
                    Err(_) => HIDDEN.to_string(),
                }
            } else {
                mask_userinfo(value)
            };
            (key.clone(), shown)
        })
        .collect()
}

/// `scheme://user:secret@host...` with the secret hidden; other text as it is.
fn mask_userinfo(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return value.to_string();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:{HIDDEN}{}", &rest[at..]),
        None => value.to_string(),
    }
}

/// Where a config's credentials go: the database of a JDBC sink, the
/// endpoint of an S3 sink.
struct Target {
    /// Compared to decide whether a stored secret may be reused.
    key: String,
    /// Shown in messages.
    shown: String,
}

fn target(raw: &BTreeMap<String, String>) -> Option<Target> {
    let kind = SinkKind::parse(raw.get("connector.class")?).ok()?;
    match kind {
        SinkKind::Jdbc => {
            let url: ConnectionUrl = url::parse(raw.get("connection.url")?).ok()?;
            let key = format!(
                "jdbc {:?} {}:{}/{}",
                url.dialect,
                url.host.to_ascii_lowercase(),
                url.port,
                url.database
            );
            Some(Target {
                key,
                shown: url.target(),
            })
        }
        SinkKind::S3 => {
            let endpoint = raw
                .get("store.url")
                .map(|url| url.trim().trim_end_matches('/').to_string())
                .filter(|url| !url.is_empty());
            let shown = endpoint.clone().unwrap_or_else(|| "AWS S3".to_string());
            Some(Target {
                key: format!("s3 {shown}"),
                shown,
            })
        }
    }
}

/// Puts back the stored values of the secrets a config sent back shows as
/// `[hidden]` (whole secret keys, and the password or secret parameters of
/// `connection.url`). Refused when there is nothing stored, or when the
/// config now points at another database or endpoint: the stored secret
/// belongs to the old one, and sending it to a new host would give it away.
pub fn restore_hidden(
    raw: &mut BTreeMap<String, String>,
    stored: Option<&BTreeMap<String, String>>,
) -> Result<(), Vec<String>> {
    let hidden_keys: Vec<String> = raw
        .iter()
        .filter(|(key, value)| *value == HIDDEN && (is_secret(key) || *key == "connection.url"))
        .map(|(key, _)| key.clone())
        .collect();
    let hidden_url = raw
        .get("connection.url")
        .and_then(|value| url::parse(value).ok())
        .filter(|url| {
            url.password.as_deref() == Some(HIDDEN)
                || url.params.iter().any(|(_, value)| value == HIDDEN)
        });
    if hidden_keys.is_empty() && hidden_url.is_none() {
        return Ok(());
    }
    let mut named: Vec<String> = hidden_keys.clone();
    if hidden_url.is_some() {
        named.push("connection.url".into());
    }
    let Some(stored) = stored else {
        return Err(vec![format!(
            "{}: `{HIDDEN}` stands for a secret stored with an existing connector, and this one is new; send the values",
            named.join(", ")
        )]);
    };
    if raw.get("connection.url").map(String::as_str) == Some(HIDDEN) {
        if let Some(url) = stored.get("connection.url") {
            raw.insert("connection.url".into(), url.clone());
        }
    }
    match (target(raw), target(stored)) {
        (Some(new), Some(old)) if new.key == old.key => {}
        (new, old) => {
            let new = new.map_or_else(|| "a target that cannot be read".to_string(), |t| t.shown);
            let old = old.map_or_else(|| "unknown".to_string(), |t| t.shown);
            return Err(vec![format!(
                "{}: `{HIDDEN}` keeps a stored secret only while the connector points at the same target, and this config points at {new} (was {old}); send the password (or key) for the new target",
                named.join(", ")
            )]);
        }
    }
    let mut problems = Vec::new();
    for key in hidden_keys.iter().filter(|key| *key != "connection.url") {
        match stored.get(key) {
            Some(value) => {
                raw.insert(key.clone(), value.clone());
            }
            None => problems.push(format!(
                "{key}: `{HIDDEN}` stands for a stored value, but the connector has none; send the value"
            )),
        }
    }
    if let Some(mut url) = hidden_url {
        let old = stored
            .get("connection.url")
            .and_then(|value| url::parse(value).ok());
        if url.password.as_deref() == Some(HIDDEN) {
            match old.as_ref().and_then(|old| old.password.clone()) {
                Some(password) => url.password = Some(password),
                None => problems.push(format!(
                    "connection.url: its password is `{HIDDEN}`, but the stored URL has none; send the password"
                )),
            }
        }
        for (key, value) in url.params.iter_mut().filter(|(_, value)| value == HIDDEN) {
            let stored_value = old
                .as_ref()
                .and_then(|old| old.params.iter().find(|(name, _)| name == key))
                .map(|(_, value)| value.clone());
            match stored_value {
                Some(stored_value) => *value = stored_value,
                None => problems.push(format!(
                    "connection.url: parameter `{key}` is `{HIDDEN}`, but the stored URL has none; send its value"
                )),
            }
        }
        raw.insert("connection.url".into(), url.reveal());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Keys whose values may be config references.
const SECRET_KEYS: [&str; 4] = [
    "connection.user",
    "connection.password",
    "aws.access.key.id",
    "aws.secret.access.key",
];

/// Prefix of the environment variables `${env:...}` may read.
pub const SECRET_ENV_PREFIX: &str = "GAMAY_SECRET_";
/// The environment variable naming the one directory the server reads files
/// named in connector configs from: `${file:...}` references and the
/// certificates and keys a JDBC `connection.url` names.
pub const SECRETS_DIR_ENV: &str = "GAMAY_SECRETS_DIR";

/// Problems resolving the config references of a new or changed config
/// (stored configs are not checked again: a reference that stops resolving
/// shows in the connector's status instead).
pub fn check_secrets(raw: &BTreeMap<String, String>) -> Vec<String> {
    SECRET_KEYS
        .iter()
        .filter_map(|key| {
            let value = raw.get(*key)?;
            resolve_secret(value)
                .err()
                .map(|err| format!("{key}: {err}"))
        })
        .collect()
}

/// The file `path` names, for the server to read on a connector's behalf
/// (a config reference, a certificate named in `connection.url`): only
/// files inside the directory `GAMAY_SECRETS_DIR` names, with symlinks
/// resolved; a relative path is taken inside that directory. Anyone who
/// may create connectors could otherwise have the server read any of its
/// files. Messages name the path, never what the file holds.
pub fn secrets_file(path: &str) -> Result<PathBuf, SecretError> {
    let Some(dir) = std::env::var_os(SECRETS_DIR_ENV) else {
        return Err(SecretError::NoSecretsDir {
            path: path.to_string(),
        });
    };
    confine(Path::new(&dir), path)
}

/// [`secrets_file`] with the directory given.
pub(crate) fn confine(dir: &Path, path: &str) -> Result<PathBuf, SecretError> {
    let resolved_dir = std::fs::canonicalize(dir).map_err(|source| SecretError::SecretsDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let given = Path::new(path);
    if given.components().any(|part| part == Component::ParentDir) {
        return Err(SecretError::ParentDir {
            path: path.to_string(),
        });
    }
    let outside = || SecretError::Outside {
        path: path.to_string(),
        dir: resolved_dir.clone(),
    };
    let joined = resolved_dir.join(given);
    // Checked before the file is looked at, so that naming a file elsewhere
    // tells nothing about it, not even whether it exists.
    if !joined.starts_with(dir) && !joined.starts_with(&resolved_dir) {
        return Err(outside());
    }
    let file = std::fs::canonicalize(&joined).map_err(|source| SecretError::Unreadable {
        path: path.to_string(),
        source,
    })?;
    if !file.starts_with(&resolved_dir) {
        return Err(outside());
    }
    Ok(file)
}

/// Resolves `${env:NAME}` and `${file:/path}` / `${file:/path:key}` (a
/// properties file's key), Kafka Connect's config-provider references.
/// Only what the server's operator exposed can be read: variables named
/// `GAMAY_SECRET_*`, and files inside the directory `GAMAY_SECRETS_DIR`
/// names; anyone who may create connectors could otherwise read any of the
/// server's variables or files.
pub fn resolve_secret(value: &str) -> Result<String, SecretError> {
    let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) else {
        return Ok(value.to_string());
    };
    if let Some(name) = inner.strip_prefix("env:") {
        if !name.starts_with(SECRET_ENV_PREFIX) {
            return Err(SecretError::EnvNotAllowed {
                name: name.to_string(),
            });
        }
        return std::env::var(name).map_err(|_| SecretError::EnvNotSet {
            name: name.to_string(),
        });
    }
    if let Some(spec) = inner.strip_prefix("file:") {
        let (path, key) = match spec.rsplit_once(':') {
            Some((path, key)) if !path.is_empty() && !key.contains('/') => (path, Some(key)),
            _ => (spec, None),
        };
        let file = secrets_file(path).map_err(|source| SecretError::File {
            path: path.to_string(),
            source: Box::new(source),
        })?;
        let text =
            std::fs::read_to_string(&file).map_err(|source| SecretError::FileUnreadable {
                path: path.to_string(),
                source,
            })?;
        return match key {
            None => Ok(text.trim_end_matches(['\n', '\r']).to_string()),
            Some(key) => text
                .lines()
                .filter_map(|line| line.split_once('='))
                .find(|(name, _)| name.trim() == key)
                .map(|(_, value)| value.trim().to_string())
                .ok_or_else(|| SecretError::NoKey {
                    path: path.to_string(),
                    key: key.to_string(),
                }),
        };
    }
    Err(SecretError::NotAReference {
        reference: inner.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn secrets_are_masked() {
        let raw = map(&[
            ("connection.password", "pw"),
            ("aws.secret.access.key", "sk"),
            ("aws.access.key.id", "ak"),
            ("connection.user", "u"),
            ("connection.url", "postgres://u:pw123@db/x"),
        ]);
        let shown = masked(&raw);
        assert_eq!(
            shown["connection.url"],
            "jdbc:postgresql://db:5432/x?user=u&password=[hidden]"
        );
        assert_eq!(shown["connection.password"], "[hidden]");
        assert_eq!(shown["aws.secret.access.key"], "[hidden]");
        assert_eq!(shown["aws.access.key.id"], "[hidden]");
        assert_eq!(shown["connection.user"], "u");
    }

    #[test]
    fn url_secrets_other_than_password_are_masked() {
        for (url, secret) in [
            ("jdbc:postgresql://h/db?sslpassword=sslpw", "sslpw"),
            ("postgres://u:userinfo-pw@h/db", "userinfo-pw"),
            (
                "jdbc:postgresql://h/db?sslkey=-----BEGIN%20KEY-----",
                "BEGIN",
            ),
            ("jdbc:mysql://h/db?user=u&password=mypw", "mypw"),
            ("mysql://h/db?password1=mfa-pw", "mfa-pw"),
            ("not a url with secret-pw", "secret-pw"),
        ] {
            let shown = masked(&map(&[("connection.url", url)]));
            let text = &shown["connection.url"];
            assert!(!text.contains(secret), "{url}: {text}");
        }
        let shown = masked(&map(&[("store.url", "http://ak:sk@minio:9000/")]));
        assert_eq!(shown["store.url"], "http://ak:[hidden]@minio:9000/");
    }

    fn jdbc(url: &str, password: &str) -> BTreeMap<String, String> {
        map(&[
            ("connector.class", "jdbc"),
            ("tables", "t"),
            ("connection.url", url),
            ("connection.password", password),
        ])
    }

    #[test]
    fn hidden_secrets_come_back_for_the_same_target_only() {
        let stored = jdbc("postgres://u:urlpw@db:5432/sales?sslpassword=sp", "pw");
        // Read back and sent again unchanged: every secret returns.
        let mut sent = masked(&stored);
        restore_hidden(&mut sent, Some(&stored)).unwrap();
        assert_eq!(sent["connection.password"], "pw");
        let url = url::parse(&sent["connection.url"]).unwrap();
        assert_eq!(url.password.as_deref(), Some("urlpw"));
        assert_eq!(url.params, [("sslpassword".to_string(), "sp".to_string())]);

        // Another host, port or database: nothing is reused.
        for other in [
            "jdbc:postgresql://evil.example:5432/sales?user=u&password=[hidden]",
            "jdbc:postgresql://db:6432/sales",
            "jdbc:postgresql://db:5432/other",
            "jdbc:mysql://db:5432/sales",
        ] {
            let mut sent = masked(&stored);
            sent.insert("connection.url".into(), other.into());
            let err = restore_hidden(&mut sent, Some(&stored))
                .unwrap_err()
                .join("; ");
            assert!(
                err.contains("connection.password") && err.contains("was db:5432/sales"),
                "{other}: {err}"
            );
            assert!(!err.contains("urlpw"), "{err}");
            assert_eq!(sent["connection.password"], HIDDEN);
        }

        // A new connector has nothing stored.
        let mut sent = masked(&stored);
        let err = restore_hidden(&mut sent, None).unwrap_err().join("; ");
        assert!(err.contains("is new"), "{err}");

        // Explicit values need no stored ones, wherever they point.
        let mut sent = jdbc("postgres://elsewhere/db", "new-pw");
        restore_hidden(&mut sent, Some(&stored)).unwrap();
        assert_eq!(sent["connection.password"], "new-pw");
    }

    #[test]
    fn s3_keys_stay_with_their_endpoint() {
        let stored = map(&[
            ("connector.class", "s3"),
            ("store.url", "http://minio:9000"),
            ("aws.access.key.id", "ak"),
            ("aws.secret.access.key", "sk"),
        ]);
        let mut sent = masked(&stored);
        sent.insert("flush.size".into(), "10".into());
        restore_hidden(&mut sent, Some(&stored)).unwrap();
        assert_eq!(sent["aws.secret.access.key"], "sk");
        let mut sent = masked(&stored);
        sent.insert("store.url".into(), "http://attacker:9000".into());
        let err = restore_hidden(&mut sent, Some(&stored))
            .unwrap_err()
            .join("; ");
        assert!(
            err.contains("aws.secret.access.key") && err.contains("http://attacker:9000"),
            "{err}"
        );
    }

    #[test]
    fn secret_references() {
        std::env::set_var("GAMAY_SECRET_TEST_REF", "s3cret");
        assert_eq!(
            resolve_secret("${env:GAMAY_SECRET_TEST_REF}").unwrap(),
            "s3cret"
        );
        assert_eq!(resolve_secret("plain").unwrap(), "plain");
        let err = resolve_secret("${env:HOME}").unwrap_err().to_string();
        assert!(err.contains("GAMAY_SECRET_"), "{err}");
        let secrets = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::env::set_var(SECRETS_DIR_ENV, secrets.path());
        let file = secrets.path().join("db.properties");
        std::fs::write(&file, "user=u\npassword = pw\n").unwrap();
        let reference = format!("${{file:{}:password}}", file.display());
        assert_eq!(resolve_secret(&reference).unwrap(), "pw");
        let whole = secrets.path().join("pw.txt");
        std::fs::write(&whole, "only\n").unwrap();
        assert_eq!(
            resolve_secret(&format!("${{file:{}}}", whole.display())).unwrap(),
            "only"
        );
        let elsewhere = outside.path().join("x");
        std::fs::write(&elsewhere, "no").unwrap();
        let err = resolve_secret(&format!("${{file:{}}}", elsewhere.display()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside"), "{err}");
        let sneaky = format!(
            "${{file:{}/../{}}}",
            secrets.path().display(),
            elsewhere.strip_prefix("/").unwrap().display()
        );
        assert!(resolve_secret(&sneaky).is_err());
        assert!(resolve_secret("${vault:x}").is_err());
        assert!(resolve_secret("${env:GAMAY_SECRET_NO_SUCH_VARIABLE}").is_err());
        let mut raw = BTreeMap::new();
        raw.insert("connection.password".to_string(), "${env:PATH}".to_string());
        assert_eq!(check_secrets(&raw).len(), 1);
    }

    #[test]
    fn files_are_read_from_the_secrets_directory_only() {
        let base = tempfile::tempdir().unwrap();
        let secrets = base.path().join("secrets");
        std::fs::create_dir_all(secrets.join("certs")).unwrap();
        std::fs::write(secrets.join("certs/ca.pem"), "ca").unwrap();
        std::fs::write(base.path().join("private.key"), "key").unwrap();
        let inside = std::fs::canonicalize(secrets.join("certs/ca.pem")).unwrap();
        assert_eq!(confine(&secrets, "certs/ca.pem").unwrap(), inside);
        let absolute = secrets.join("certs/ca.pem");
        assert_eq!(
            confine(&secrets, absolute.to_str().unwrap()).unwrap(),
            inside
        );

        // Elsewhere: refused before the file is looked at, so a missing file
        // and an existing one get the same answer.
        let private = base.path().join("private.key");
        for path in [
            private.to_str().unwrap(),
            "/etc/no-such-file",
            "/etc/passwd",
        ] {
            let err = confine(&secrets, path).unwrap_err().to_string();
            assert!(
                err.contains("is outside GAMAY_SECRETS_DIR"),
                "{path}: {err}"
            );
        }
        let err = confine(&secrets, "certs/../../private.key")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`..`"), "{err}");
        // A symlink inside that leads out is followed, and refused.
        std::os::unix::fs::symlink(&private, secrets.join("escape.pem")).unwrap();
        let err = confine(&secrets, "escape.pem").unwrap_err().to_string();
        assert!(err.contains("is outside"), "{err}");
        let err = confine(&secrets, "missing.pem").unwrap_err().to_string();
        assert!(err.contains("cannot read `missing.pem`"), "{err}");
        assert!(confine(&base.path().join("nope"), "ca.pem").is_err());
    }
}

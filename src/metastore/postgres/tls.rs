//! TLS to the metastore's database, read from its URL as libpq reads it:
//! `sslmode` (`disable`, `allow`, `prefer` (the default), `require`,
//! `verify-ca`, `verify-full`), `sslrootcert` (a PEM file of the CA
//! certificates to trust, needed by `verify-ca`; or, with `verify-full`
//! only, `system` for Mozilla's roots, also what `verify-full` trusts
//! without it), and `sslcert` with
//! `sslkey` (a client certificate). The files are the operator's own, named
//! on the command line, and read once when the metastore connects. As with
//! libpq, `require` checks the certificate's chain only when `sslrootcert`
//! names a file, and `prefer` and `allow` check nothing.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_postgres::config::SslMode;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use super::super::{Error, Result};
use crate::pgtls::{MakeRustls, Verify};

/// The TLS parameters this module takes off the URL (tokio-postgres reads
/// the rest).
const TLS_PARAMS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// How the metastore's connections use TLS.
#[derive(Clone)]
pub struct Tls {
    pub mode: SslMode,
    pub verify: Verify,
    config: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("mode", &self.mode)
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Plain connections only.
    pub fn off() -> Tls {
        Tls {
            mode: SslMode::Disable,
            verify: Verify::Nothing,
            config: None,
        }
    }

    /// A `MakeTlsConnect` for one connection.
    pub fn connector(&self) -> MakeRustls {
        MakeRustls::new(self.config.clone())
    }
}

/// Splits libpq's TLS parameters off `url`: the URL without them (for
/// tokio-postgres) and the TLS they ask for, its files read.
pub fn from_url(url: &str) -> Result<(String, Tls)> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    // The other parameters stay as they were written (re-encoding would
    // turn `%20` into `+`, which tokio-postgres does not read as a space).
    let mut kept: Vec<&str> = Vec::new();
    let mut found: std::collections::BTreeMap<&str, String> = Default::default();
    for piece in query.split('&').filter(|piece| !piece.is_empty()) {
        let decoded = url::form_urlencoded::parse(piece.as_bytes()).next();
        match decoded.and_then(|(key, value)| {
            TLS_PARAMS
                .iter()
                .find(|name| **name == key)
                .map(|name| (*name, value.into_owned()))
        }) {
            Some((name, value)) => {
                found.insert(name, value);
            }
            None => kept.push(piece),
        }
    }
    let stripped = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let root = found.get("sslrootcert").map(String::as_str);
    let mode_name = found.get("sslmode").map(String::as_str).unwrap_or("prefer");
    // As libpq: a chain checked without the host name needs the CAs named
    // (any public certificate chains to Mozilla's roots), and `system`
    // goes with `verify-full` only.
    let named_file = root.is_some_and(|root| root != "system");
    if mode_name == "verify-ca" && !named_file {
        return Err(Error::Url(
            "sslmode=verify-ca needs sslrootcert naming a PEM file of the CA certificates to trust; or use verify-full".into(),
        ));
    }
    if root == Some("system") && mode_name != "verify-full" {
        return Err(Error::Url(
            "sslrootcert=system goes with sslmode=verify-full only".into(),
        ));
    }
    let (mode, verify) = match mode_name {
        "disable" => return Ok((stripped, Tls::off())),
        "allow" | "prefer" => (SslMode::Prefer, Verify::Nothing),
        "require" if root.is_some() => (SslMode::Require, Verify::Chain),
        "require" => (SslMode::Require, Verify::Nothing),
        "verify-ca" => (SslMode::Require, Verify::Chain),
        "verify-full" => (SslMode::Require, Verify::ChainAndName),
        other => {
            return Err(Error::Url(format!(
                "sslmode `{other}`: give disable, allow, prefer, require, verify-ca or verify-full"
            )))
        }
    };
    let roots = match root {
        None | Some("system") => None,
        Some(path) => {
            let mut roots = RootCertStore::empty();
            let certs = read_certificates("sslrootcert", path)?;
            for cert in certs {
                roots.add(cert).map_err(|err| {
                    Error::Url(format!("sslrootcert `{path}`: not a CA certificate: {err}"))
                })?;
            }
            Some(roots)
        }
    };
    let client = match (found.get("sslcert"), found.get("sslkey")) {
        (Some(cert), Some(key)) => {
            let certs = read_certificates("sslcert", cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|err| Error::Url(format!("sslkey `{key}`: no private key read: {err}")))?;
            Some((certs, key))
        }
        (None, None) => None,
        _ => {
            return Err(Error::Url(
                "sslcert and sslkey go together: give both or neither".into(),
            ))
        }
    };
    let config = crate::pgtls::client_config(verify, roots, client)
        .map_err(|err| Error::Url(err.to_string()))?;
    Ok((
        stripped,
        Tls {
            mode,
            verify,
            config: Some(config),
        },
    ))
}

/// The certificates of the PEM file `path` names (the value of `param`).
fn read_certificates(param: &str, path: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect())
        .map_err(|err| Error::Url(format!("{param} `{path}`: no certificate read: {err}")))?;
    if certs.is_empty() {
        return Err(Error::Url(format!(
            "{param} `{path}`: the file holds no PEM certificate"
        )));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_off_and_read() {
        let (url, tls) = from_url("postgres://u:p@db:5432/meta").unwrap();
        assert_eq!(url, "postgres://u:p@db:5432/meta");
        assert!(matches!(tls.mode, SslMode::Prefer));
        assert_eq!(tls.verify, Verify::Nothing);
        let (url, tls) =
            from_url("postgres://u:p@db/meta?options=-c%20search_path%3Dx&sslmode=verify-full")
                .unwrap();
        assert_eq!(url, "postgres://u:p@db/meta?options=-c%20search_path%3Dx");
        assert!(matches!(tls.mode, SslMode::Require));
        assert_eq!(tls.verify, Verify::ChainAndName);
        let (url, tls) = from_url("postgres://db/meta?sslmode=disable").unwrap();
        assert_eq!(url, "postgres://db/meta");
        assert!(matches!(tls.mode, SslMode::Disable));
        let err = from_url("postgres://db/meta?sslmode=sometimes").unwrap_err();
        assert!(err.to_string().contains("sslmode `sometimes`"), "{err}");
        let err = from_url("postgres://db/meta?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("sslrootcert `/nonexistent/ca.pem`"),
            "{err}"
        );
        let err = from_url("postgres://db/meta?sslcert=/a.pem").unwrap_err();
        assert!(err.to_string().contains("go together"), "{err}");
        // A chain checked without the name needs the CAs named.
        let err = from_url("postgres://db/meta?sslmode=verify-ca").unwrap_err();
        assert!(
            err.to_string().contains("verify-ca needs sslrootcert"),
            "{err}"
        );
        let err = from_url("postgres://db/meta?sslmode=require&sslrootcert=system").unwrap_err();
        assert!(err.to_string().contains("verify-full only"), "{err}");
        assert!(from_url("postgres://db/meta?sslmode=verify-full&sslrootcert=system").is_ok());
    }
}

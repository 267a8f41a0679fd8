//! Certificates and keys named in a connection URL: PEM text in the URL
//! itself, or a file inside `GAMAY_SECRETS_DIR`, read and parsed when a
//! connection needs them. Messages name the parameter and the path given,
//! never what a file holds (the PEM parser's own errors may quote a line,
//! so they are not passed on).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::export::error::SecretError;
use crate::export::jdbc::error::TlsError;
use crate::export::secrets::SECRETS_DIR_ENV;

/// Finds the file a path names (confined to `GAMAY_SECRETS_DIR` but in tests).
pub(super) type Resolve<'a> = &'a dyn Fn(&str) -> Result<std::path::PathBuf, SecretError>;

/// A certificate or key given in the URL: PEM text, or a file's path.
#[derive(Clone, PartialEq, Eq)]
pub enum Material {
    Pem(String),
    File(String),
}

impl Material {
    pub(super) fn new(value: &str) -> Material {
        if value.trim_start().starts_with("-----BEGIN") {
            Material::Pem(value.to_string())
        } else {
            Material::File(value.to_string())
        }
    }

    /// The bytes, from the URL or the file `resolve` finds for the path.
    pub(super) fn bytes(&self, param: &str, resolve: Resolve<'_>) -> Result<Vec<u8>, TlsError> {
        match self {
            Material::Pem(text) => Ok(text.clone().into_bytes()),
            Material::File(path) => {
                let file = resolve(path).map_err(|source| TlsError::Secret {
                    param: param.to_string(),
                    source,
                })?;
                std::fs::read(&file).map_err(|source| TlsError::Unreadable {
                    param: param.to_string(),
                    path: path.to_string(),
                    source,
                })
            }
        }
    }

    /// How the material is shown in messages: the path, or `PEM text`.
    pub(super) fn shown(&self) -> String {
        match self {
            Material::Pem(_) => "the PEM text".to_string(),
            Material::File(path) => format!("`{path}`"),
        }
    }
}

/// A client certificate and its key (pgjdbc's `sslcert` and `sslkey`).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub cert: Material,
    pub key: Material,
}

/// What [`super::TlsConfig::load`] read.
#[derive(Default)]
pub struct Loaded {
    /// The CA certificates, when the mode checks the chain against them.
    pub ca: Option<Ca>,
    pub client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

/// CA certificates.
pub struct Ca {
    pub certs: Vec<CertificateDer<'static>>,
}

impl Ca {
    /// The certificates as PEM text (what mysql_async takes), written anew
    /// from the parsed certificates whatever form they came in.
    pub fn pem(&self) -> Vec<u8> {
        use base64::Engine;
        let mut pem = String::new();
        for cert in &self.certs {
            let text = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            // PEM lines hold 64 characters (RFC 7468).
            for line in text.as_bytes().chunks(64) {
                pem.push_str(&String::from_utf8_lossy(line));
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        pem.into_bytes()
    }
}

/// Problems a material's form shows without reading a file.
pub(super) fn check_material(param: &str, material: &Material, problems: &mut Vec<String>) {
    if let Material::File(path) = material {
        if path.starts_with('~') {
            problems.push(format!(
                "{param}: `{path}` starts with `~`, which names the home directory of a Java process; give a file in {SECRETS_DIR_ENV}"
            ));
        }
    }
}

/// Every certificate in `bytes` (PEM, or one DER certificate).
pub(super) fn certificates(
    bytes: &[u8],
    param: &str,
    source: &Material,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = || TlsError::NoCertificate {
        param: param.to_string(),
        shown: source.shown(),
    };
    if !is_pem(bytes) {
        return match bytes.first() {
            // A DER SEQUENCE: one certificate, checked when it is used.
            Some(0x30) => Ok(vec![CertificateDer::from(bytes.to_vec())]),
            _ => Err(bad()),
        };
    }
    // The parser's errors may quote a line of the input: never pass them on.
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    if certs.is_empty() {
        return Err(bad());
    }
    Ok(certs)
}

/// The private key in `bytes`: PEM (PKCS#8, PKCS#1 or SEC1) or DER (pgjdbc's `.pk8`).
pub(super) fn private_key(
    bytes: &[u8],
    source: &Material,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bad = || TlsError::NoKey {
        shown: source.shown(),
    };
    if is_pem(bytes) {
        return PrivateKeyDer::from_pem_slice(bytes).map_err(|_| bad());
    }
    PrivateKeyDer::try_from(bytes.to_vec()).map_err(|_| bad())
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|window| window == b"-----BEGIN ")
}

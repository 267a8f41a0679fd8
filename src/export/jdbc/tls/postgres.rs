//! The JDBC sink's TLS for PostgreSQL: the rustls client config a
//! [`TlsConfig`] asks for, on `crate::pgtls`.

use std::sync::Arc;

use tokio_rustls::rustls::{ClientConfig, RootCertStore};

pub use crate::pgtls::{Handshake, MakeRustls};

use super::{Loaded, TlsConfig};
use crate::export::jdbc::error::TlsError;
use crate::pgtls::ConfigError;

/// The rustls client config `tls` asks for, with what `load` read.
pub fn client_config(tls: &TlsConfig, loaded: Loaded) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = match (&loaded.ca, &tls.ca) {
        (Some(ca), Some((param, _))) => {
            let mut roots = RootCertStore::empty();
            for cert in &ca.certs {
                roots.add(cert.clone()).map_err(|source| TlsError::NotCa {
                    param: param.to_string(),
                    source,
                })?;
            }
            Some(roots)
        }
        _ => None,
    };
    crate::pgtls::client_config(tls.verify(), roots, loaded.client).map_err(|err| match err {
        ConfigError::Setup(source) => TlsError::Setup(source),
        ConfigError::ClientCertificate(source) => TlsError::ClientCertificate(source),
    })
}

//! HTTPS for the API: the certificate chain and key (PEM files from
//! `--tls-cert` and `--tls-key`) loaded into rustls, and loaded again on
//! SIGHUP so a renewed certificate takes effect without a restart.
//! Connections already open keep the certificate they started with; a
//! reload that fails keeps the previous one and logs why.

use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::sync::RecoverRw;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// The acceptor in use, replaced on reload.
pub struct Tls {
    files: TlsFiles,
    current: RwLock<TlsAcceptor>,
}

impl Tls {
    pub fn load(files: TlsFiles) -> Result<Tls, String> {
        let acceptor = acceptor(&files)?;
        Ok(Tls {
            files,
            current: RwLock::new(acceptor),
        })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        self.current.read_locked().clone()
    }

    /// Reads the files again; keeps the old certificate if they are bad.
    pub fn reload(&self) -> Result<(), String> {
        let acceptor = acceptor(&self.files)?;
        *self.current.write_locked() = acceptor;
        Ok(())
    }

    /// Reloads on every SIGHUP until the runtime stops.
    pub fn reload_on_sighup(self: &Arc<Self>) {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; the TLS certificate will not be reloaded");
            return;
        };
        let tls = self.clone();
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match tls.reload() {
                    Ok(()) => {
                        tracing::info!(cert = %tls.files.cert.display(), "TLS certificate reloaded")
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "TLS certificate not reloaded; the previous one stays in use")
                    }
                }
            }
        });
    }
}

fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, String> {
    let certs = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|err| {
        format!(
            "cannot read a PEM private key from {} (--tls-key): {err}",
            files.key.display()
        )
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS setup failed: {err}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| {
            format!(
                "the certificate {} and key {} do not make a usable pair: {err}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|err| {
            format!(
                "cannot read PEM certificates from {} (--tls-cert): {err}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "{} (--tls-cert) holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certs)
}

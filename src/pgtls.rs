//! TLS for tokio-postgres connections on rustls (ring), shared by the
//! metastore's connections and the JDBC sink's: a client config whose
//! certificate verifier checks nothing, the chain, or the chain and the host
//! name ([`Verify`]), and tokio-postgres' `MakeTlsConnect` over
//! tokio-rustls. Each connector records whether its handshake happened and
//! whether it failed, so `prefer` and `allow` can fall back as libpq does.
//! What a connection asks for (URL parameters, certificate files) is read by
//! its owner.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Socket;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use tokio_rustls::rustls::crypto::{self, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::server::ParsedCertificate;
use tokio_rustls::rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// What is checked of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Nothing: the session is encrypted, but anyone on the path may be the server.
    Nothing,
    /// That it chains to a trusted CA, whatever names it holds.
    Chain,
    /// That it chains to a trusted CA and names the host connected to.
    ChainAndName,
}

/// Why a client config could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("TLS cannot be set up: {0}")]
    Setup(#[source] tokio_rustls::rustls::Error),
    #[error("the client certificate and key do not go together: {0}")]
    ClientCertificate(#[source] tokio_rustls::rustls::Error),
}

/// The rustls config of a client that checks what `verify` says against
/// `roots` (Mozilla's programme's when `None`), presenting `client` (a
/// certificate chain and its key) when the server asks.
pub fn client_config(
    verify: Verify,
    roots: Option<RootCertStore>,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<Arc<ClientConfig>, ConfigError> {
    let provider = Arc::new(crypto::ring::default_provider());
    let roots = roots.unwrap_or_else(|| {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        roots
    });
    let verifier = Arc::new(ServerVerifier {
        verify,
        roots: Arc::new(roots),
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ConfigError::Setup)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client {
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(ConfigError::ClientCertificate)?,
        None => builder.with_no_client_auth(),
    };
    // What libpq 17 sends; PostgreSQL 17 insists on it for sslnegotiation=direct.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Arc::new(config))
}

/// Checks as much of the server's certificate as [`Verify`] says. The
/// handshake's signatures are always checked against the certificate.
struct ServerVerifier {
    verify: Verify,
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl std::fmt::Debug for ServerVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerVerifier")
            .field("verify", &self.verify)
            .field("roots", &self.roots.len())
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, tokio_rustls::rustls::Error> {
        if self.verify == Verify::Nothing {
            return Ok(ServerCertVerified::assertion());
        }
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if self.verify == Verify::ChainAndName {
            verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What became of a connector's handshake.
#[derive(Debug, Default)]
pub struct Handshake {
    done: AtomicBool,
    failed: AtomicBool,
}

impl Handshake {
    /// Whether the session got TLS.
    pub fn done(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }

    /// Whether a TLS handshake was tried and failed.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

/// tokio-postgres' `MakeTlsConnect` over tokio-rustls; `None` for plain
/// connections only.
#[derive(Clone)]
pub struct MakeRustls {
    config: Option<Arc<ClientConfig>>,
    handshake: Arc<Handshake>,
}

impl MakeRustls {
    pub fn new(config: Option<Arc<ClientConfig>>) -> MakeRustls {
        MakeRustls {
            config,
            handshake: Arc::default(),
        }
    }

    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    /// Called for every connection, plain ones too: what can fail waits
    /// for the handshake.
    fn make_tls_connect(&mut self, host: &str) -> io::Result<RustlsConnect> {
        Ok(RustlsConnect {
            config: self.config.clone(),
            host: host.to_string(),
            handshake: self.handshake.clone(),
        })
    }
}

pub struct RustlsConnect {
    config: Option<Arc<ClientConfig>>,
    host: String,
    handshake: Arc<Handshake>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move {
            let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
            let config = self
                .config
                .ok_or_else(|| invalid("TLS is off for this connection".into()))?;
            let name = ServerName::try_from(self.host.clone()).map_err(|_| {
                invalid(format!("`{}` is not a host name TLS can check", self.host))
            })?;
            let connector = tokio_rustls::TlsConnector::from(config);
            match connector.connect(name, socket).await {
                Ok(stream) => {
                    self.handshake.done.store(true, Ordering::Relaxed);
                    Ok(RustlsStream(stream))
                }
                Err(err) => {
                    self.handshake.failed.store(true, Ordering::Relaxed);
                    Err(err)
                }
            }
        })
    }
}

/// A TLS session to the server. SCRAM runs without channel binding.
pub struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

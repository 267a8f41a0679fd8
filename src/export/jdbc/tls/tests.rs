//! What URLs ask of TLS under each driver's meanings, what is refused and
//! why, certificates read without their contents reaching a message, and
//! handshakes against an in-process rustls server: each mode accepts and
//! refuses exactly the certificates it should.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use super::postgres::client_config;
use super::{Mode, TlsConfig, Verify};
use crate::export::jdbc::url;
use crate::export::secrets::confine;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls")
}

fn read(url: &str) -> Result<TlsConfig, Vec<String>> {
    TlsConfig::read(&url::parse(url).unwrap())
}

/// `(mode, verify)` of `url`.
fn settings(url: &str) -> (Mode, Verify) {
    let tls = read(url).unwrap_or_else(|problems| panic!("{url}: {problems:?}"));
    (tls.mode, tls.verify())
}

/// The problems of `url`, joined.
fn refused(url: &str) -> String {
    read(url).err().unwrap_or_default().join("; ")
}

#[test]
fn postgres_urls_read_as_pgjdbc_does() {
    use Mode::*;
    use Verify::*;
    let pg = "jdbc:postgresql://h/db";
    for (params, want) in [
        ("", (Prefer, Nothing)),
        ("?sslmode=disable", (Disable, Nothing)),
        ("?sslmode=allow", (Allow, Nothing)),
        ("?sslmode=PREFER", (Prefer, Nothing)),
        ("?sslmode=require", (Require, Nothing)),
        ("?sslmode=require&sslrootcert=ca.pem", (Require, Chain)),
        ("?sslmode=verify-ca", (VerifyCa, Chain)),
        (
            "?sslmode=verify-full&sslrootcert=/s/ca.pem",
            (VerifyFull, ChainAndName),
        ),
        ("?ssl=true", (VerifyFull, ChainAndName)),
        ("?ssl", (VerifyFull, ChainAndName)),
        ("?ssl=false", (Prefer, Nothing)),
        ("?ssl=true&sslmode=require", (Require, Nothing)),
        (
            "?ssl=true&sslfactory=org.postgresql.ssl.NonValidatingFactory",
            (VerifyFull, Nothing),
        ),
        ("?sslmode=disable&sslmode=verify-ca", (VerifyCa, Chain)),
    ] {
        assert_eq!(settings(&format!("{pg}{params}")), want, "{params}");
    }
    let tls = read("postgres://h/db?sslmode=require&sslnegotiation=direct").unwrap();
    assert!(tls.direct);
    let tls = read("postgres://h/db?sslcert=c.pem&sslkey=k.pk8&sslpassword=").unwrap();
    assert!(tls.client.is_some());
}

#[test]
fn mysql_urls_read_as_connector_j_and_mariadb_connector_j_do() {
    use Mode::*;
    use Verify::*;
    for (url, want) in [
        // Connector/J 8: PREFERRED by default, its older parameters mapped.
        ("jdbc:mysql://h/db", (Prefer, Nothing)),
        ("jdbc:mysql://h/db?useSSL=false", (Disable, Nothing)),
        ("jdbc:mysql://h/db?useSSL=true", (Prefer, Nothing)),
        (
            "jdbc:mysql://h/db?useSSL=true&requireSSL=true",
            (Require, Nothing),
        ),
        (
            "jdbc:mysql://h/db?useSSL=true&requireSSL=true&verifyServerCertificate=false",
            (Require, Nothing),
        ),
        (
            "jdbc:mysql://h/db?verifyServerCertificate=true",
            (VerifyCa, Chain),
        ),
        (
            "jdbc:mysql://h/db?useSSL=false&requireSSL=true",
            (Disable, Nothing),
        ),
        ("jdbc:mysql://h/db?sslMode=REQUIRED", (Require, Nothing)),
        (
            "jdbc:mysql://h/db?sslMode=REQUIRED&serverSslCert=ca.pem",
            (Require, Chain),
        ),
        ("jdbc:mysql://h/db?sslMode=VERIFY_CA", (VerifyCa, Chain)),
        (
            "mysql://h/db?sslmode=verify_identity",
            (VerifyFull, ChainAndName),
        ),
        (
            "jdbc:mysql://h/db?useSSL=false&sslMode=PREFERRED",
            (Prefer, Nothing),
        ),
        // MariaDB Connector/J: no TLS by default; useSsl verifies fully.
        ("jdbc:mariadb://h/db", (Disable, Nothing)),
        (
            "jdbc:mariadb://h/db?useSsl=true",
            (VerifyFull, ChainAndName),
        ),
        (
            "jdbc:mariadb://h/db?useSsl=true&trustServerCertificate=true",
            (Require, Nothing),
        ),
        (
            "jdbc:mariadb://h/db?useSsl=true&disableSslHostnameVerification=true",
            (VerifyCa, Chain),
        ),
        ("mariadb://h/db?sslMode=trust", (Require, Nothing)),
        ("jdbc:mariadb://h/db?sslMode=verify-ca", (VerifyCa, Chain)),
        (
            "jdbc:mariadb://h/db?sslMode=verify-full",
            (VerifyFull, ChainAndName),
        ),
    ] {
        assert_eq!(settings(url), want, "{url}");
    }
}

#[test]
fn what_cannot_be_honoured_is_refused_with_the_way_out() {
    for (url, needles) in [
        (
            "postgres://h/db?sslmode=required",
            &["`sslmode=required`", "verify-full"][..],
        ),
        ("postgres://h/db?ssl=maybe", &["`ssl=maybe`"]),
        (
            "postgres://h/db?sslfactory=com.example.Factory",
            &["Java class", "NonValidatingFactory"],
        ),
        ("postgres://h/db?sslhostnameverifier=x.Y", &["Java class"]),
        (
            "postgres://h/db?sslcert=c.pem",
            &["sslcert and sslkey go together"],
        ),
        (
            "postgres://h/db?sslcert=c.pem&sslkey=k.pem&sslpassword=pw",
            &["encrypted client keys", "-nocrypt"],
        ),
        (
            "postgres://h/db?sslnegotiation=direct",
            &["needs sslmode require"],
        ),
        (
            "postgres://h/db?useSSL=true",
            &["MySQL/MariaDB parameter", "sslmode"],
        ),
        (
            "postgres://h/db?sslrootcert=~/.postgresql/root.crt",
            &["`~`"],
        ),
        (
            "jdbc:mysql://h/db?trustCertificateKeyStoreUrl=file:/ks.jks",
            &["Java keystore", "serverSslCert", "GAMAY_SECRETS_DIR"],
        ),
        (
            "jdbc:mariadb://h/db?keyStore=/ks.p12",
            &["client certificates", "not support"],
        ),
        (
            "jdbc:mysql://h/db?sslrootcert=ca.pem",
            &["PostgreSQL parameter", "serverSslCert"],
        ),
        (
            "jdbc:mysql://h/db?sslMode=ON",
            &["`sslMode=ON`", "VERIFY_IDENTITY"],
        ),
        (
            "jdbc:mysql://h/db?useSSL=si",
            &["`useSSL=si` is not true or false"],
        ),
        (
            "jdbc:mysql://h/db?trustServerCertificate=true",
            &["jdbc:mysql", "sslMode"],
        ),
        ("jdbc:mariadb://h/db?requireSSL=true", &["jdbc:mariadb"]),
        (
            "jdbc:mariadb://h/db?serverSslCert=classpath:ca.pem",
            &["class path"],
        ),
    ] {
        let problems = refused(url);
        for needle in needles {
            assert!(
                problems.contains(needle),
                "{url}: {needle:?} not in {problems:?}"
            );
        }
    }
}

/// Loads `url`'s certificates with files taken from the fixtures.
fn load(url: &str) -> Result<super::Loaded, String> {
    let dir = fixtures();
    read(url)
        .unwrap()
        .load_with(&|path| confine(&dir, path))
        .map_err(|err| err.to_string())
}

#[test]
fn certificates_come_from_files_or_pem_text() {
    let loaded = load("postgres://h/db?sslmode=verify-ca&sslrootcert=ca.pem").unwrap();
    let certs = loaded.ca.map(|ca| ca.certs).unwrap();
    assert_eq!(certs.len(), 1);
    // DER, and PEM text in the URL, give the same certificate.
    let der = load("postgres://h/db?sslmode=verify-ca&sslrootcert=ca.der").unwrap();
    assert_eq!(der.ca.unwrap().certs, certs);
    let pem = std::fs::read_to_string(fixtures().join("ca.pem")).unwrap();
    let inline = format!(
        "jdbc:mysql://h/db?sslMode=VERIFY_CA&serverSslCert={}",
        pem.replace('\n', "%0A").replace(' ', "%20")
    );
    let loaded = load(&inline).unwrap().ca.unwrap();
    assert_eq!(loaded.certs, certs);
    // What mysql_async is given parses back to the same certificates.
    let again: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&loaded.pem())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(again, certs);

    // Modes that check nothing read nothing.
    let loaded = load("postgres://h/db?sslmode=require&sslrootcert=missing.pem");
    assert!(loaded.is_err());
    let loaded = load("postgres://h/db?sslmode=prefer&sslrootcert=missing.pem").unwrap();
    assert!(loaded.ca.is_none());
    let loaded = load("postgres://h/db?sslmode=disable&sslcert=x&sslkey=y").unwrap();
    assert!(loaded.client.is_none());

    // A client key as PEM or as pgjdbc's PKCS#8 DER.
    for key in ["client.key", "client.pk8"] {
        let url = format!("postgres://h/db?sslcert=client.pem&sslkey={key}");
        let loaded = load(&url).unwrap();
        assert!(loaded.client.is_some(), "{key}");
    }
}

#[test]
fn unreadable_material_is_named_but_never_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "c2VjcmV0LWxpbmUtb2YtYS1rZXk";
    let bad = [
        ("garbage.pem", format!("{secret}\n")),
        (
            "broken.pem",
            format!("-----BEGIN CERTIFICATE-----\n{secret}\n"),
        ),
        (
            "key-as-cert.pem",
            format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n"),
        ),
        (
            "encrypted.key",
            format!("-----BEGIN ENCRYPTED PRIVATE KEY-----\n{secret}\n-----END ENCRYPTED PRIVATE KEY-----\n"),
        ),
    ];
    for (name, text) in &bad {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::copy(fixtures().join("client.pem"), dir.path().join("client.pem")).unwrap();
    let resolve = |path: &str| confine(dir.path(), path);
    for url in [
        "postgres://h/db?sslmode=verify-ca&sslrootcert=garbage.pem",
        "postgres://h/db?sslmode=verify-ca&sslrootcert=broken.pem",
        "postgres://h/db?sslmode=verify-ca&sslrootcert=key-as-cert.pem",
        "postgres://h/db?sslcert=client.pem&sslkey=encrypted.key",
        "postgres://h/db?sslcert=client.pem&sslkey=garbage.pem",
        "postgres://h/db?sslcert=broken.pem&sslkey=garbage.pem",
        "postgres://h/db?sslmode=verify-ca&sslrootcert=/etc/passwd",
    ] {
        let err = read(url)
            .unwrap()
            .load_with(&resolve)
            .err()
            .unwrap()
            .to_string();
        assert!(
            !err.contains(secret) && !err.contains("root:"),
            "{url}: {err}"
        );
        assert!(err.starts_with("ssl"), "{url}: {err}");
    }
    let err = read("postgres://h/db?sslmode=verify-ca&sslrootcert=garbage.pem")
        .unwrap()
        .load_with(&resolve)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "sslrootcert: `garbage.pem` holds no PEM certificate (-----BEGIN CERTIFICATE-----) that can be read"
    );
}

/// A rustls server on `server.pem`, asking for a client certificate from
/// the fixture CA when `client_auth`.
fn server(client_auth: bool) -> Arc<ServerConfig> {
    let dir = fixtures();
    let chain = vec![CertificateDer::from_pem_file(dir.join("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if client_auth {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap())
            .unwrap();
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(builder.with_single_cert(chain, key).unwrap())
}

/// Shakes hands with the fixture server as `url` asks, calling it `host`.
async fn handshake(url: &str, host: &str, client_auth: bool) -> Result<(), String> {
    let tls = read(url).unwrap();
    let config = client_config(&tls, load(url)?).map_err(|err| err.to_string())?;
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(server(client_auth));
    let accepted = tokio::spawn(async move { acceptor.accept(server_io).await.map(|_| ()) });
    let name = ServerName::try_from(host.to_string()).unwrap();
    let connected = tokio_rustls::TlsConnector::from(config)
        .connect(name, client_io)
        .await;
    // With TLS 1.3 the client is done before the server has checked its
    // certificate: a session counts only once both sides agree.
    let client_err = connected.as_ref().err().map(|err| err.to_string());
    let served = accepted.await.unwrap();
    drop(connected);
    match (client_err, served) {
        (Some(err), _) => Err(err),
        (None, Err(err)) => Err(format!("the server refused: {err}")),
        (None, Ok(())) => Ok(()),
    }
}

#[tokio::test]
async fn each_mode_checks_what_it_promises() {
    let base = "postgres://h/db?sslrootcert=";
    for (params, host, ok) in [
        ("ca.pem&sslmode=verify-full", "db.gamay.test", true),
        ("ca.pem&sslmode=verify-full", "127.0.0.1", true),
        ("ca.pem&sslmode=verify-full", "other.gamay.test", false),
        ("ca.pem&sslmode=verify-full", "127.0.0.2", false),
        ("other-ca.pem&sslmode=verify-full", "db.gamay.test", false),
        ("ca.pem&sslmode=verify-ca", "other.gamay.test", true),
        ("other-ca.pem&sslmode=verify-ca", "db.gamay.test", false),
        ("ca.pem&sslmode=require", "other.gamay.test", true),
        ("other-ca.pem&sslmode=require", "db.gamay.test", false),
        ("&sslmode=require", "other.gamay.test", true),
        ("&sslmode=prefer", "other.gamay.test", true),
        // Without sslrootcert, Mozilla's roots: the fixture CA is not one.
        ("&sslmode=verify-ca", "db.gamay.test", false),
        (
            "other-ca.pem&ssl=true&sslfactory=org.postgresql.ssl.NonValidatingFactory",
            "other.gamay.test",
            true,
        ),
    ] {
        let url = format!("{base}{params}");
        let result = handshake(&url, host, false).await;
        assert_eq!(result.is_ok(), ok, "{params} as {host}: {result:?}");
    }
    let err = handshake(
        "postgres://h/db?sslmode=verify-full&sslrootcert=ca.pem",
        "other.gamay.test",
        false,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("not valid for name"), "{err}");
}

#[tokio::test]
async fn client_certificates_are_presented() {
    let url = "postgres://h/db?sslmode=verify-full&sslrootcert=ca.pem";
    let err = handshake(url, "db.gamay.test", true).await;
    assert!(err.is_err(), "a server asking for a certificate got none");
    for key in ["client.key", "client.pk8"] {
        let url = format!("{url}&sslcert=client.pem&sslkey={key}");
        let result = handshake(&url, "db.gamay.test", true).await;
        assert!(result.is_ok(), "{key}: {result:?}");
    }
    let err = handshake(
        &format!("{url}&sslcert=server.pem&sslkey=client.key"),
        "db.gamay.test",
        true,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("do not make a usable"), "{err}");
}

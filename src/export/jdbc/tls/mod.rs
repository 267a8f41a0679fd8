//! TLS for the JDBC sink's connections: what a connection URL asks for, read
//! with the meanings of the driver its scheme names (pgjdbc for PostgreSQL,
//! MySQL Connector/J for `jdbc:mysql`, MariaDB Connector/J for
//! `jdbc:mariadb`), and the certificates it names.
//!
//! Reading a URL ([`TlsConfig::read`]) touches no file; [`TlsConfig::load`]
//! reads the certificates the mode will use, each either PEM text in the
//! URL or a file inside the directory `GAMAY_SECRETS_DIR` names (see
//! [`crate::export::secrets::secrets_file`]). Messages name a parameter and
//! the path given, never what a file holds: a connector's creator must not
//! learn the contents of the server's files through them.

mod material;
pub mod postgres;

pub use material::{Ca, ClientCert, Loaded, Material};

use material::{certificates, check_material, private_key, Resolve};

use super::error::TlsError;
use super::url::{ConnectionUrl, Driver};
use crate::export::secrets::{secrets_file, SECRETS_DIR_ENV};

/// How much TLS a connection gets, in pgjdbc's terms (MySQL's `sslMode`
/// values map onto the same steps), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// Plain connections only.
    Disable,
    /// Plain first; TLS when the server refuses a plain connection.
    Allow,
    /// TLS when the server offers it, plain otherwise.
    Prefer,
    /// TLS or nothing.
    Require,
    /// TLS with a certificate chaining to a trusted CA.
    VerifyCa,
    /// TLS with a certificate chaining to a trusted CA, for the host connected to.
    VerifyFull,
}

impl Mode {
    /// The mode as pgjdbc spells it, for messages.
    pub fn pg_name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Allow => "allow",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }

    /// The mode as MySQL Connector/J spells it, for messages.
    pub fn mysql_name(self) -> &'static str {
        match self {
            Mode::Disable => "DISABLED",
            Mode::Allow | Mode::Prefer => "PREFERRED",
            Mode::Require => "REQUIRED",
            Mode::VerifyCa => "VERIFY_CA",
            Mode::VerifyFull => "VERIFY_IDENTITY",
        }
    }
}

pub use crate::pgtls::Verify;

/// The TLS settings of a connection URL.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsConfig {
    pub mode: Mode,
    /// pgjdbc's `sslfactory=org.postgresql.ssl.NonValidatingFactory`:
    /// encrypt as `mode` asks, check nothing.
    pub trust_all: bool,
    /// The CA certificates to trust, and the parameter that named them
    /// (`sslrootcert`, `serverSslCert`). Without them a certificate must
    /// chain to a root of Mozilla's programme (`webpki-roots`).
    pub ca: Option<(&'static str, Material)>,
    pub client: Option<ClientCert>,
    /// pgjdbc's `sslnegotiation=direct` (PostgreSQL 17): TLS from the first byte.
    pub direct: bool,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("mode", &self.mode)
            .field("verify", &self.verify())
            .field("ca", &self.ca.as_ref().map(|(_, ca)| ca.shown()))
            .field("client", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

/// pgjdbc's factory that trusts every certificate.
const NON_VALIDATING_FACTORIES: [&str; 2] = [
    "org.postgresql.ssl.NonValidatingFactory",
    "org.postgresql.ssl.jdbc4.NonValidatingFactory",
];
const PG_MODES: &str = "disable, allow, prefer, require, verify-ca or verify-full";
const MYSQL_MODES: &str =
    "DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY (MariaDB's disable, trust, verify-ca and verify-full too)";
/// TLS parameters only MySQL's and MariaDB's drivers read.
const MYSQL_ONLY: [&str; 8] = [
    "usessl",
    "requiressl",
    "verifyservercertificate",
    "trustservercertificate",
    "disablesslhostnameverification",
    "serversslcert",
    "trustcertificatekeystoreurl",
    "clientcertificatekeystoreurl",
];
/// TLS parameters only pgjdbc reads.
const POSTGRES_ONLY: [&str; 6] = [
    "ssl",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslfactory",
    "sslnegotiation",
];

impl TlsConfig {
    /// The TLS settings `url` asks for, or every problem with them.
    pub fn read(url: &ConnectionUrl) -> Result<TlsConfig, Vec<String>> {
        let params = Params(&url.params);
        let mut problems = Vec::new();
        let config = match url.driver {
            Driver::PgJdbc => postgres_settings(&params, &mut problems),
            Driver::ConnectorJ | Driver::MariaDb => {
                mysql_settings(&params, url.driver, &mut problems)
            }
        };
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// What is checked of the server's certificate. A CA named with
    /// `require` (or MySQL's `REQUIRED`) is used, as libpq and the mysql
    /// client do: the chain is checked against it.
    pub fn verify(&self) -> Verify {
        match self.mode {
            _ if self.trust_all => Verify::Nothing,
            Mode::Disable | Mode::Allow | Mode::Prefer => Verify::Nothing,
            Mode::Require if self.ca.is_some() => Verify::Chain,
            Mode::Require => Verify::Nothing,
            Mode::VerifyCa => Verify::Chain,
            Mode::VerifyFull => Verify::ChainAndName,
        }
    }

    /// Reads and parses the certificates and key the mode will use; files
    /// only from inside `GAMAY_SECRETS_DIR`.
    pub fn load(&self) -> Result<Loaded, TlsError> {
        self.load_with(&secrets_file)
    }

    fn load_with(&self, resolve: Resolve<'_>) -> Result<Loaded, TlsError> {
        let mut loaded = Loaded::default();
        if self.mode == Mode::Disable {
            return Ok(loaded);
        }
        if let (Some((param, ca)), true) = (&self.ca, self.verify() != Verify::Nothing) {
            let certs = certificates(&ca.bytes(param, resolve)?, param, ca)?;
            loaded.ca = Some(Ca { certs });
        }
        if let Some(client) = &self.client {
            let cert = client.cert.bytes("sslcert", resolve)?;
            let certs = certificates(&cert, "sslcert", &client.cert)?;
            let key = private_key(&client.key.bytes("sslkey", resolve)?, &client.key)?;
            loaded.client = Some((certs, key));
        }
        Ok(loaded)
    }
}

/// Query parameters looked up by name, ignoring case (the last one wins).
struct Params<'a>(&'a [(String, String)]);

impl Params<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    }

    /// A Connector/J boolean: `None` when absent, a problem when not one.
    fn flag(&self, name: &str, problems: &mut Vec<String>) -> Option<bool> {
        let value = self.get(name)?;
        match value.to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(true),
            "false" | "no" => Some(false),
            _ => {
                problems.push(format!("`{name}={value}` is not true or false"));
                None
            }
        }
    }

    /// The parameters named in `names` that are present.
    fn present<'n>(&self, names: &'n [&'n str]) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| names.iter().any(|name| key.eq_ignore_ascii_case(name)))
            .map(|(key, _)| key.as_str())
            .collect()
    }
}

fn postgres_settings(params: &Params<'_>, problems: &mut Vec<String>) -> TlsConfig {
    for key in params.present(&MYSQL_ONLY) {
        problems.push(format!(
            "`{key}` is a MySQL/MariaDB parameter; a PostgreSQL URL asks for TLS with sslmode ({PG_MODES}) and names its CA with sslrootcert"
        ));
    }
    // pgjdbc: `ssl` alone or `ssl=true` is verify-full unless sslmode says otherwise.
    let ssl = match params.get("ssl").map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => false,
        Some("" | "true") => true,
        Some(other) => {
            problems.push(format!("`ssl={other}` is not true or false"));
            false
        }
    };
    let mode = match params.get("sslmode") {
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "disable" => Mode::Disable,
            "allow" => Mode::Allow,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            _ => {
                problems.push(format!(
                    "`sslmode={value}` is not a PostgreSQL sslmode: use {PG_MODES}"
                ));
                Mode::Prefer
            }
        },
        None if ssl => Mode::VerifyFull,
        None => Mode::Prefer,
    };
    let trust_all = match params.get("sslfactory") {
        None => false,
        Some(factory) if NON_VALIDATING_FACTORIES.contains(&factory) => true,
        Some(factory) => {
            problems.push(format!(
                "`sslfactory={factory}` names a Java class, which Gamay cannot load: check the server with sslmode=verify-ca or verify-full and sslrootcert, or drop the check with org.postgresql.ssl.NonValidatingFactory"
            ));
            false
        }
    };
    for key in params.present(&["sslhostnameverifier"]) {
        problems.push(format!(
            "`{key}` names a Java class, which Gamay cannot load; sslmode=verify-full checks the host name"
        ));
    }
    for key in params.present(&["sslpasswordcallback"]) {
        problems.push(format!(
            "`{key}` names a Java class, which Gamay cannot load; sslkey must be unencrypted"
        ));
    }
    let ca = params
        .get("sslrootcert")
        .filter(|value| !value.is_empty())
        .map(|value| ("sslrootcert", Material::new(value)));
    let cert = params.get("sslcert").filter(|value| !value.is_empty());
    let key = params.get("sslkey").filter(|value| !value.is_empty());
    let client = match (cert, key) {
        (Some(cert), Some(key)) => Some(ClientCert {
            cert: Material::new(cert),
            key: Material::new(key),
        }),
        (None, None) => None,
        _ => {
            problems.push(
                "sslcert and sslkey go together: give both (a client certificate and its key) or neither".to_string(),
            );
            None
        }
    };
    if client.is_some() && params.get("sslpassword").is_some_and(|pw| !pw.is_empty()) {
        problems.push(
            "`sslpassword`: encrypted client keys are not supported; give sslkey an unencrypted key (`openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pk8`) in a file only the server's user can read".to_string(),
        );
    }
    let direct = match params
        .get("sslnegotiation")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("postgres") => false,
        Some("direct") if mode >= Mode::Require => true,
        Some("direct") => {
            problems.push(format!(
                "`sslnegotiation=direct` starts with TLS, so it needs sslmode require, verify-ca or verify-full (not {})",
                mode.pg_name()
            ));
            false
        }
        Some(other) => {
            problems.push(format!(
                "`sslnegotiation={other}` is not postgres or direct"
            ));
            false
        }
    };
    if let Some(ca) = &ca {
        check_material("sslrootcert", &ca.1, problems);
    }
    if let Some(client) = &client {
        check_material("sslcert", &client.cert, problems);
        check_material("sslkey", &client.key, problems);
    }
    TlsConfig {
        mode,
        trust_all,
        ca,
        client,
        direct,
    }
}

fn mysql_settings(params: &Params<'_>, driver: Driver, problems: &mut Vec<String>) -> TlsConfig {
    for key in params.present(&POSTGRES_ONLY) {
        problems.push(format!(
            "`{key}` is a PostgreSQL parameter; a MySQL/MariaDB URL asks for TLS with sslMode ({MYSQL_MODES}) and names its CA with serverSslCert"
        ));
    }
    for key in params.present(&["trustCertificateKeyStoreUrl", "trustStore"]) {
        problems.push(format!(
            "`{key}` names a Java keystore, which Gamay cannot read: give the CA certificate as PEM with serverSslCert (a file in {SECRETS_DIR_ENV}, or the PEM text itself)"
        ));
    }
    for key in params.present(&["clientCertificateKeyStoreUrl", "keyStore"]) {
        problems.push(format!(
            "`{key}` names a Java keystore of client certificates, which the MySQL/MariaDB target does not support: authenticate with a password over TLS"
        ));
    }
    let (own, other) = match driver {
        Driver::MariaDb => (
            ["trustServerCertificate", "disableSslHostnameVerification"],
            ["requireSSL", "verifyServerCertificate"],
        ),
        _ => (
            ["requireSSL", "verifyServerCertificate"],
            ["trustServerCertificate", "disableSslHostnameVerification"],
        ),
    };
    for key in params.present(&other) {
        problems.push(format!(
            "`{key}` is not a parameter of {}'s driver; say what is checked with sslMode ({MYSQL_MODES})",
            if driver == Driver::MariaDb { "jdbc:mariadb" } else { "jdbc:mysql" }
        ));
    }
    let use_ssl = params.flag("useSSL", problems);
    let [first, second] = own.map(|name| params.flag(name, problems).unwrap_or(false));
    let mode = match params.get("sslMode") {
        Some(value) => match value.to_ascii_lowercase().replace('-', "_").as_str() {
            "disabled" | "disable" => Mode::Disable,
            "preferred" => Mode::Prefer,
            "required" | "trust" => Mode::Require,
            "verify_ca" => Mode::VerifyCa,
            "verify_identity" | "verify_full" => Mode::VerifyFull,
            _ => {
                problems.push(format!("`sslMode={value}` is not one of {MYSQL_MODES}"));
                Mode::Prefer
            }
        },
        // Connector/J 8's mapping of its older parameters, PREFERRED by default.
        None if driver == Driver::ConnectorJ => match (use_ssl, first, second) {
            (Some(false), _, _) => Mode::Disable,
            (_, _, true) => Mode::VerifyCa,
            (_, true, _) => Mode::Require,
            _ => Mode::Prefer,
        },
        // MariaDB Connector/J: no TLS unless asked; useSsl verifies fully
        // unless trustServerCertificate or disableSslHostnameVerification.
        None => match (use_ssl, first, second) {
            (Some(true), true, _) => Mode::Require,
            (Some(true), _, true) => Mode::VerifyCa,
            (Some(true), _, _) => Mode::VerifyFull,
            _ => Mode::Disable,
        },
    };
    let ca = match params
        .get("serverSslCert")
        .filter(|value| !value.is_empty())
    {
        Some(value) if value.starts_with("classpath:") => {
            problems.push(format!(
                "`serverSslCert={value}` names a Java class path resource; give a file in {SECRETS_DIR_ENV}, or the PEM text itself"
            ));
            None
        }
        Some(value) => Some(("serverSslCert", Material::new(value))),
        None => None,
    };
    if let Some(ca) = &ca {
        check_material("serverSslCert", &ca.1, problems);
    }
    TlsConfig {
        mode,
        trust_all: false,
        ca,
        client: None,
        direct: false,
    }
}

#[cfg(test)]
mod tests;

//! Connection URLs for the JDBC sink: parses the JDBC forms (`jdbc:postgresql://`,
//! `jdbc:mysql://`, `jdbc:mariadb://`) and the native forms (`postgres://`,
//! `mysql://`, ...) into one [`ConnectionUrl`], and owns the rule that a password
//! (or any parameter that may hold a secret: `sslpassword`, `sslkey`, ...)
//! never appears in its `Display` or `Debug` output, nor in a parse error.

use std::fmt;

use super::dialect::Dialect;

const SUPPORTED: &str =
    "jdbc:postgresql, postgres, postgresql, jdbc:mysql, jdbc:mariadb, mysql, mariadb";
/// What a secret is shown as: the connector config's placeholder, so a URL
/// read back and sent again keeps its stored secrets (same target only).
pub const MASK: &str = "[hidden]";

/// Whose parameter meanings a URL carries: its scheme names the JDBC driver
/// (the native forms stand for the same), and the drivers read TLS
/// parameters differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// pgjdbc: `jdbc:postgresql`, `postgres`, `postgresql`.
    PgJdbc,
    /// MySQL Connector/J: `jdbc:mysql`, `mysql`.
    ConnectorJ,
    /// MariaDB Connector/J: `jdbc:mariadb`, `mariadb`.
    MariaDb,
}

/// A parsed connection URL. Printing it (`{}` or `{:?}`) masks the password and
/// every query parameter [`is_secret`] names.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionUrl {
    /// Which database family the URL points at.
    pub dialect: Dialect,
    /// Which driver's parameter meanings apply.
    pub driver: Driver,
    /// Host name or IP address; IPv6 addresses are stored without brackets.
    pub host: String,
    /// TCP port: 5432 for PostgreSQL and 3306 for MySQL/MariaDB when not given.
    pub port: u16,
    /// Database name, percent-decoded.
    pub database: String,
    /// User from the user-info part or the `user` query parameter (which wins).
    pub user: Option<String>,
    /// Password from the user-info part or the `password` query parameter (which wins).
    pub password: Option<String>,
    /// The remaining query parameters in order, percent-decoded (`+` stays literal).
    pub params: Vec<(String, String)>,
}

/// Why a connection URL could not be parsed. Messages never echo the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("connection URL has no `scheme://` prefix: expected one of {SUPPORTED} followed by ://host[:port]/database")]
    MissingScheme,
    #[error("unsupported connection URL scheme `{0}`: expected one of {SUPPORTED}")]
    UnsupportedScheme(String),
    #[error("connection URL names no host: expected scheme://host[:port]/database")]
    MissingHost,
    #[error("invalid IPv6 host `{0}` in connection URL: expected [address] or [address]:port")]
    InvalidIpv6(String),
    #[error("invalid port `{0}` in connection URL: expected a number from 1 to 65535")]
    InvalidPort(String),
    #[error("connection URL names no database: expected scheme://host[:port]/database")]
    MissingDatabase,
    #[error("invalid percent-encoding in the {0} of the connection URL: expected %XX with two hex digits forming UTF-8 text")]
    InvalidEncoding(&'static str),
}

/// Parses a PostgreSQL or MySQL/MariaDB connection URL in JDBC or native form,
/// e.g. `jdbc:postgresql://host:5432/db?user=u&password=p` or
/// `mysql://user:pass@[::1]:3306/db`. Surrounding whitespace is ignored.
pub fn parse(url: &str) -> Result<ConnectionUrl, UrlError> {
    parse_inner(url).map_err(|err| {
        // A password holding `/` or `?` ends the authority early, so part of
        // it is read as the host and port: never repeat those then.
        let authority = url
            .split_once("://")
            .map_or("", |(_, rest)| rest.split(['/', '?']).next().unwrap_or(""));
        let misread = url.contains('@') && !authority.contains('@');
        match err {
            UrlError::InvalidPort(_) if misread => UrlError::InvalidPort(MASK.into()),
            UrlError::InvalidIpv6(_) if misread => UrlError::InvalidIpv6(MASK.into()),
            other => other,
        }
    })
}

fn parse_inner(url: &str) -> Result<ConnectionUrl, UrlError> {
    let (scheme, rest) = url
        .trim()
        .split_once("://")
        .ok_or(UrlError::MissingScheme)?;
    let (dialect, driver) = match scheme.to_ascii_lowercase().as_str() {
        "jdbc:postgresql" | "postgres" | "postgresql" => (Dialect::Postgres, Driver::PgJdbc),
        "jdbc:mysql" | "mysql" => (Dialect::MySql, Driver::ConnectorJ),
        "jdbc:mariadb" | "mariadb" => (Dialect::MySql, Driver::MariaDb),
        _ if scheme.contains('@') => return Err(UrlError::MissingScheme),
        _ => return Err(UrlError::UnsupportedScheme(scheme.to_string())),
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((info, hp)) => (Some(info), hp),
        None => (None, authority),
    };
    let (mut user, mut password) = match userinfo {
        Some(info) => {
            let (u, p) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            let user = Some(decode(u, "user")?).filter(|u| !u.is_empty());
            (user, p.map(|p| decode(p, "password")).transpose()?)
        }
        None => (None, None),
    };
    let (host, port) = split_host_port(hostport)?;
    let database = decode(path.trim_end_matches('/'), "database")?;
    if database.is_empty() {
        return Err(UrlError::MissingDatabase);
    }
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(k, "query parameter names")?;
        match key.as_str() {
            "user" => user = Some(decode(v, "user")?),
            "password" => password = Some(decode(v, "password")?),
            _ => params.push((key, decode(v, "query parameter values")?)),
        }
    }
    let port = match port {
        Some(p) => p,
        None if dialect == Dialect::Postgres => 5432,
        None => 3306,
    };
    Ok(ConnectionUrl {
        dialect,
        driver,
        host,
        port,
        database,
        user,
        password,
        params,
    })
}

fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), UrlError> {
    let bad_ipv6 = || UrlError::InvalidIpv6(hostport.to_string());
    let (host, port) = match hostport.strip_prefix('[') {
        Some(inner) => {
            let (host, after) = inner.split_once(']').ok_or_else(bad_ipv6)?;
            if !host.contains(':') || !(after.is_empty() || after.starts_with(':')) {
                return Err(bad_ipv6());
            }
            (host, after.strip_prefix(':'))
        }
        None => match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        },
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    let port = port.map(|p| match p.parse::<u16>() {
        Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(UrlError::InvalidPort(p.to_string())),
    });
    Ok((host.to_string(), port.transpose()?))
}

fn decode(s: &str, part: &'static str) -> Result<String, UrlError> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|&b| hex(b));
            let lo = bytes.get(i + 2).and_then(|&b| hex(b));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(UrlError::InvalidEncoding(part));
            };
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::InvalidEncoding(part))
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a query parameter may hold a secret: passwords (`sslpassword`,
/// MySQL's `password1`..`password3`, keystore passwords), keys and their
/// contents (`sslkey`), tokens and credentials. Erring on the side of
/// hiding costs nothing: a hidden value sent back is restored.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["pass", "pwd", "secret", "key", "token", "credential"]
        .iter()
        .any(|word| key.contains(word))
}

impl ConnectionUrl {
    /// Whether printing the URL hides anything.
    pub fn has_secrets(&self) -> bool {
        self.password.is_some() || self.params.iter().any(|(key, _)| is_secret(key))
    }

    /// Whether `other` reaches the same database: same family, host, port
    /// and database (a stored secret may be reused only then).
    pub fn same_target(&self, other: &ConnectionUrl) -> bool {
        self.dialect == other.dialect
            && self.host.eq_ignore_ascii_case(&other.host)
            && self.port == other.port
            && self.database == other.database
    }

    /// `host:port/database`, for messages.
    pub fn target(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.database)
    }

    /// The JDBC form with every value in clear: what is stored when hidden
    /// values of a URL sent back were restored. Never for display.
    pub fn reveal(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write(&mut out, false);
        out
    }

    fn write(&self, f: &mut impl fmt::Write, mask: bool) -> fmt::Result {
        let scheme = match self.driver {
            Driver::PgJdbc => "jdbc:postgresql",
            Driver::ConnectorJ => "jdbc:mysql",
            Driver::MariaDb => "jdbc:mariadb",
        };
        let (host, port, db) = (&self.host, self.port, encode(&self.database));
        if host.contains(':') {
            write!(f, "{scheme}://[{host}]:{port}/{db}")?;
        } else {
            write!(f, "{scheme}://{host}:{port}/{db}")?;
        }
        let mut sep = '?';
        if let Some(user) = &self.user {
            write!(f, "{sep}user={}", encode(user))?;
            sep = '&';
        }
        if let Some(password) = &self.password {
            let shown = if mask { MASK.into() } else { encode(password) };
            write!(f, "{sep}password={shown}")?;
            sep = '&';
        }
        for (k, v) in &self.params {
            let v = if mask && is_secret(k) {
                MASK.into()
            } else {
                encode(v)
            };
            write!(f, "{sep}{}={v}", encode(k))?;
            sep = '&';
        }
        Ok(())
    }
}

impl fmt::Display for ConnectionUrl {
    /// Prints the JDBC form with the password (and secret parameters) as `[hidden]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, true)
    }
}

impl fmt::Debug for ConnectionUrl {
    /// Like a derived `Debug`, with the password and secret parameters as `****`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), if is_secret(k) { MASK } else { v.as_str() }))
            .collect();
        f.debug_struct("ConnectionUrl")
            .field("dialect", &self.dialect)
            .field("driver", &self.driver)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| MASK))
            .field("params", &params)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `url` parses to `dialect user:password@host:port/database[ params]`,
    /// with `-` for a missing user or password.
    fn check(url: &str, want: &str) {
        let u = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let (user, pass) = (u.user.as_deref().unwrap_or("-"), u.password.as_deref());
        let (host, port, db, d) = (&u.host, u.port, &u.database, u.dialect);
        let mut got = format!("{d:?} {user}:{}@{host}:{port}/{db}", pass.unwrap_or("-"));
        if !u.params.is_empty() {
            got.push_str(&format!(" {:?}", u.params));
        }
        assert_eq!(got, want, "{url}");
    }

    #[test]
    fn jdbc_forms_and_default_ports() {
        let url = "jdbc:postgresql://db.local:6543/sales?user=ann&password=pw&sslmode=require";
        check(
            url,
            r#"Postgres ann:pw@db.local:6543/sales [("sslmode", "require")]"#,
        );
        check("jdbc:postgresql://host/db", "Postgres -:-@host:5432/db");
        check("jdbc:mysql://host/db", "MySql -:-@host:3306/db");
        check("jdbc:mariadb://host/db?", "MySql -:-@host:3306/db");
        check("JDBC:MySQL://host:3307/db", "MySql -:-@host:3307/db");
        let shown = parse("mariadb://h/db").map(|u| u.to_string());
        assert_eq!(shown.as_deref(), Ok("jdbc:mariadb://h:3306/db"));
        let drivers = [
            "postgres://h/db",
            "jdbc:MySQL://h/db",
            "jdbc:mariadb://h/db",
        ]
        .map(|url| parse(url).map(|u| u.driver));
        assert_eq!(
            drivers,
            [Driver::PgJdbc, Driver::ConnectorJ, Driver::MariaDb].map(Ok)
        );
    }

    #[test]
    fn native_forms_with_user_info() {
        check("postgres://ann:pw@h:5433/db", "Postgres ann:pw@h:5433/db");
        check("postgresql://ann:pw@h/db", "Postgres ann:pw@h:5432/db");
        check("mysql://ann:pw@h:5433/db", "MySql ann:pw@h:5433/db");
        check("mariadb://ann:pw@h/db", "MySql ann:pw@h:3306/db");
        check("mysql://ann@h/db", "MySql ann:-@h:3306/db");
        check("postgres://ann:@h/db", "Postgres ann:@h:5432/db");
        check("  mysql://h/db\n", "MySql -:-@h:3306/db");
    }

    #[test]
    fn ipv6_hosts() {
        check(
            "jdbc:postgresql://[::1]:5433/db",
            "Postgres -:-@::1:5433/db",
        );
        check("mysql://u:p@[fe80::1]/db", "MySql u:p@fe80::1:3306/db");
        let shown = parse("mysql://[fe80::1]/db").map(|u| u.to_string());
        assert_eq!(shown.as_deref(), Ok("jdbc:mysql://[fe80::1]:3306/db"));
        for bad in ["[::1/db", "[::1]x/db", "[]/db", "[host]/db"] {
            let err = parse(&format!("postgres://{bad}"));
            assert!(matches!(err, Err(UrlError::InvalidIpv6(_))), "{bad}");
        }
    }

    #[test]
    fn percent_decoding() {
        let url = "postgres://a%40b:p%3As%2Fw%25+@h/my%20db?app=x%20y%26z";
        check(
            url,
            r#"Postgres a@b:p:s/w%+@h:5432/my db [("app", "x y&z")]"#,
        );
        check(
            "postgres://u:p@h/db?user=caf%C3%A9&password=",
            "Postgres café:@h:5432/db",
        );
        check(
            "mysql://h/db?user=a%2Bb&password=p%26w%3D",
            "MySql a+b:p&w=@h:3306/db",
        );
        let u = parse("mysql://u:p@ss@h/db").unwrap();
        assert_eq!(
            (u.password.as_deref(), u.host.as_str()),
            (Some("p@ss"), "h")
        );
        for bad in [
            "u:%zz@h/db",
            "u:%4@h/db",
            "h/db?a=%FF",
            "u:%+1@h/db",
            "%C3@h/db",
        ] {
            let err = parse(&format!("postgres://{bad}"));
            assert!(matches!(err, Err(UrlError::InvalidEncoding(_))), "{bad}");
        }
    }

    #[test]
    fn display_and_debug_mask_secrets() {
        let u = parse("postgres://ann:hunter2@h/db?sslpassword=s3cr3t&app=gamay").unwrap();
        let shown = u.to_string();
        let want =
            "jdbc:postgresql://h:5432/db?user=ann&password=[hidden]&sslpassword=[hidden]&app=gamay";
        assert_eq!(shown, want);
        let debug = format!("{u:?}");
        assert!(debug.contains(r#"password: Some("[hidden]")"#) && debug.contains("gamay"));
        for text in [&shown, &debug, &format!("{u:#?}")] {
            assert!(
                !text.contains("hunter2") && !text.contains("s3cr3t"),
                "{text}"
            );
        }
        let want =
            r#"Postgres ann:[hidden]@h:5432/db [("sslpassword", "[hidden]"), ("app", "gamay")]"#;
        check(&shown, want);
        let u = parse("mysql://h/my%20db?user=a%26b&tag=x%3Dy").unwrap();
        assert_eq!(
            u.to_string(),
            "jdbc:mysql://h:3306/my%20db?user=a%26b&tag=x%3Dy"
        );
        assert_eq!(parse(&u.to_string()), Ok(u));
    }

    #[test]
    fn secrets_other_than_the_password_are_masked() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIkey\n-----END PRIVATE KEY-----";
        let url = format!(
            "jdbc:postgresql://h/db?sslkey={}&sslcert=/c.pem&sslpassword=pw1&sslmode=disable",
            encode(pem)
        );
        let u = parse(&url).unwrap();
        assert!(u.has_secrets());
        let shown = u.to_string();
        for secret in ["MIIkey", "pw1"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("sslcert=%2Fc.pem") && shown.contains("sslmode=disable"));
        let u = parse(
            "mysql://h/db?user=u&password=pw2&password2=pw3&trustCertificateKeyStorePassword=pw4",
        )
        .unwrap();
        let shown = format!("{u} {u:?}");
        for secret in ["pw2", "pw3", "pw4"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(!parse("mysql://h/db?user=u").unwrap().has_secrets());
    }

    #[test]
    fn reveal_round_trips_and_targets_compare() {
        let u = parse("postgres://ann:p%40ss@db.local/sales?sslpassword=k&app=x").unwrap();
        assert_eq!(parse(&u.reveal()), Ok(u.clone()));
        let same = parse("jdbc:postgresql://DB.local:5432/sales?user=bob").unwrap();
        assert!(u.same_target(&same));
        for other in [
            "postgres://db.local:5433/sales",
            "postgres://evil.example/sales",
            "postgres://db.local/other",
            "mysql://db.local:5432/sales",
        ] {
            assert!(!u.same_target(&parse(other).unwrap()), "{other}");
        }
    }

    #[test]
    fn parse_errors_never_repeat_a_password() {
        for url in [
            "postgres://u:pa/ss@h/db",
            "postgres://u:pa?ss@h/db",
            "postgres://u:pass#x/y@h/db",
        ] {
            let err = parse(url).unwrap_err().to_string();
            assert!(
                !err.contains("pa") || err.contains("[hidden]"),
                "{url}: {err}"
            );
            assert!(
                !err.contains("ss@") && !err.contains("pass"),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn missing_parts_are_errors() {
        for url in [
            "jdbc:postgresql://h",
            "postgres://h/",
            "mysql://h:3306/?x=1",
        ] {
            assert_eq!(parse(url), Err(UrlError::MissingDatabase), "{url}");
        }
        assert_eq!(parse("jdbc:postgresql:///db"), Err(UrlError::MissingHost));
        assert_eq!(parse("postgres://u:p@:5432/db"), Err(UrlError::MissingHost));
        assert_eq!(parse("host:5432/db"), Err(UrlError::MissingScheme));
        assert_eq!(parse("u:hunter2@x://h/db"), Err(UrlError::MissingScheme));
        for port in ["0", "65536", "abc", "", "+1"] {
            let err = parse(&format!("postgres://u:hunter2@h:{port}/db")).unwrap_err();
            assert_eq!(err, UrlError::InvalidPort(port.to_string()));
            assert!(!err.to_string().contains("hunter2"));
        }
        let err = parse("mysql://h").map_err(|e| e.to_string()).unwrap_err();
        assert!(err.contains("names no database: expected scheme://host[:port]/database"));
    }

    #[test]
    fn unknown_scheme_names_supported_ones() {
        let err = parse("jdbc:sqlserver://h:1433/db").unwrap_err();
        assert_eq!(err, UrlError::UnsupportedScheme("jdbc:sqlserver".into()));
        let msg = err.to_string();
        assert!(msg.contains("`jdbc:sqlserver`: expected one of jdbc:postgresql, postgres,"));
        assert!(
            msg.ends_with("jdbc:mysql, jdbc:mariadb, mysql, mariadb"),
            "{msg}"
        );
    }
}

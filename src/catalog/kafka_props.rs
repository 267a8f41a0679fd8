//! The Kafka client properties a table's stream config may set, and why the
//! others are refused.
//!
//! Every property that reaches librdkafka is on an allow-list with the kind
//! of value it takes: connection, fetch and socket tuning, TLS settings whose
//! certificates and keys are given as PEM text, and SASL PLAIN or SCRAM
//! credentials. librdkafka also has properties that load native code
//! (`plugin.library.paths`, `ssl.engine.location`, `ssl.providers`), run a
//! shell command (`sasl.kerberos.kinit.cmd`), read or write files of the
//! server (`*.location`, `sasl.kerberos.keytab`, `offset.store.path`) or
//! fetch from URLs (OAUTHBEARER's OIDC settings); anyone who may create a
//! table could use them to run code on, or read files of, the server, so
//! they are refused by name with the reason, and unknown keys are refused
//! with the closest allowed one suggested.
//!
//! Settings Gamay decides itself (offsets, commits, the broker list) are
//! accepted and not passed on, as before, so pasted Pinot configs that set
//! them keep working.

use super::names::did_you_mean;

/// What a property's value must be.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An integer in `min..=max` (librdkafka's own range).
    Int(i64, i64),
    Bool,
    /// One of these, compared without case.
    Choice(&'static [&'static str]),
    /// Any text (a name, a list, PEM text).
    Text,
    /// Any text, never repeated in a message.
    Secret,
}

/// Which clients a property applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every client: connection, TLS and SASL settings.
    Client,
    /// Consumers only: fetch and group settings.
    Consumer,
}

use Kind::{Bool, Choice, Int, Secret, Text};
use Scope::{Client, Consumer};

const MAX_I32: i64 = i32::MAX as i64;
/// SASL mechanisms librdkafka runs without calling out of the process.
const SASL_MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// The properties passed to librdkafka, with librdkafka's value ranges.
const ALLOWED: &[(&str, Kind, Scope)] = &[
    ("client.id", Text, Client),
    ("client.rack", Text, Client),
    ("group.id", Text, Consumer),
    ("message.max.bytes", Int(1000, 1_000_000_000), Client),
    ("receive.message.max.bytes", Int(1000, MAX_I32), Client),
    (
        "max.in.flight.requests.per.connection",
        Int(1, 1_000_000),
        Client,
    ),
    ("max.in.flight", Int(1, 1_000_000), Client),
    (
        "topic.metadata.refresh.interval.ms",
        Int(-1, 3_600_000),
        Client,
    ),
    (
        "topic.metadata.refresh.fast.interval.ms",
        Int(1, 60_000),
        Client,
    ),
    (
        "topic.metadata.propagation.max.ms",
        Int(0, 3_600_000),
        Client,
    ),
    ("metadata.max.age.ms", Int(1, 86_400_000), Client),
    (
        "metadata.recovery.strategy",
        Choice(&["none", "rebootstrap"]),
        Client,
    ),
    (
        "metadata.recovery.rebootstrap.trigger.ms",
        Int(0, MAX_I32),
        Client,
    ),
    ("socket.timeout.ms", Int(10, 300_000), Client),
    ("socket.send.buffer.bytes", Int(0, 100_000_000), Client),
    ("socket.receive.buffer.bytes", Int(0, 100_000_000), Client),
    ("socket.keepalive.enable", Bool, Client),
    ("socket.nagle.disable", Bool, Client),
    ("socket.max.fails", Int(0, 1_000_000), Client),
    (
        "socket.connection.setup.timeout.ms",
        Int(1000, MAX_I32),
        Client,
    ),
    ("connections.max.idle.ms", Int(0, MAX_I32), Client),
    ("reconnect.backoff.ms", Int(0, 3_600_000), Client),
    ("reconnect.backoff.max.ms", Int(0, 3_600_000), Client),
    ("retry.backoff.ms", Int(1, 300_000), Client),
    ("retry.backoff.max.ms", Int(1, 300_000), Client),
    ("broker.address.ttl", Int(0, 86_400_000), Client),
    (
        "broker.address.family",
        Choice(&["any", "v4", "v6"]),
        Client,
    ),
    (
        "client.dns.lookup",
        Choice(&[
            "use_all_dns_ips",
            "resolve_canonical_bootstrap_servers_only",
        ]),
        Client,
    ),
    ("api.version.request.timeout.ms", Int(1, 300_000), Client),
    ("log.connection.close", Bool, Client),
    ("enable.metrics.push", Bool, Client),
    (
        "security.protocol",
        Choice(&["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]),
        Client,
    ),
    ("ssl.cipher.suites", Text, Client),
    ("ssl.curves.list", Text, Client),
    ("ssl.sigalgs.list", Text, Client),
    ("ssl.ca.pem", Text, Client),
    ("ssl.certificate.pem", Text, Client),
    ("ssl.key.pem", Secret, Client),
    ("ssl.key.password", Secret, Client),
    ("enable.ssl.certificate.verification", Bool, Client),
    (
        "ssl.endpoint.identification.algorithm",
        Choice(&["none", "https"]),
        Client,
    ),
    ("sasl.mechanism", Choice(SASL_MECHANISMS), Client),
    ("sasl.mechanisms", Choice(SASL_MECHANISMS), Client),
    ("sasl.username", Text, Client),
    ("sasl.password", Secret, Client),
    ("session.timeout.ms", Int(1, 3_600_000), Consumer),
    ("heartbeat.interval.ms", Int(1, 3_600_000), Consumer),
    ("max.poll.interval.ms", Int(1, 86_400_000), Consumer),
    ("coordinator.query.interval.ms", Int(1, 3_600_000), Consumer),
    ("queued.min.messages", Int(1, 10_000_000), Consumer),
    ("queued.max.messages.kbytes", Int(1, 2_097_151), Consumer),
    ("fetch.wait.max.ms", Int(0, 300_000), Consumer),
    ("fetch.queue.backoff.ms", Int(0, 300_000), Consumer),
    ("fetch.message.max.bytes", Int(1, 1_000_000_000), Consumer),
    ("max.partition.fetch.bytes", Int(1, 1_000_000_000), Consumer),
    ("fetch.max.bytes", Int(0, 2_147_483_135), Consumer),
    ("fetch.min.bytes", Int(1, 100_000_000), Consumer),
    ("fetch.error.backoff.ms", Int(0, 300_000), Consumer),
    (
        "isolation.level",
        Choice(&["read_uncommitted", "read_committed"]),
        Consumer,
    ),
    ("check.crcs", Bool, Consumer),
];

/// Settings Gamay makes itself: accepted in a config, never passed on.
const OWNED: &[&str] = &[
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "bootstrap.servers",
    "metadata.broker.list",
    "enable.partition.eof",
];

const LOADS_CODE: &str = "it makes the server load native code from a path the config names";
const READS_FILE: &str =
    "it makes the server read a file of its own; give the certificate or key as PEM text in";

/// Properties refused by name, with the reason.
const REFUSED: &[(&str, &str)] = &[
    ("plugin.library.paths", LOADS_CODE),
    ("interceptors", LOADS_CODE),
    ("ssl.engine.location", LOADS_CODE),
    ("ssl.engine.id", "OpenSSL engines load native code; they are not supported"),
    ("ssl.providers", "it makes the server load OpenSSL provider modules (native code)"),
    ("ssl.ca.location", "it makes the server read a file of its own; give the CA certificates as PEM text in ssl.ca.pem"),
    ("ssl.certificate.location", "it makes the server read a file of its own; give the certificate as PEM text in ssl.certificate.pem"),
    ("ssl.key.location", "it makes the server read a file of its own; give the key as PEM text in ssl.key.pem"),
    ("ssl.keystore.location", "it makes the server read a file of its own; give the certificate and key as PEM text in ssl.certificate.pem and ssl.key.pem"),
    ("ssl.keystore.password", "PKCS#12 keystores are read from files of the server, which is not allowed; give the certificate and key as PEM text in ssl.certificate.pem and ssl.key.pem"),
    ("ssl.crl.location", "it makes the server read a file of its own"),
    ("ssl.ca.certificate.stores", "it reads the server's system certificate stores; give the CA certificates as PEM text in ssl.ca.pem"),
    ("https.ca.location", "it makes the server read a file of its own"),
    ("https.ca.pem", "it only serves OAUTHBEARER token requests, which are not supported"),
    ("sasl.kerberos.kinit.cmd", "it is a shell command the server would run"),
    ("offset.store.path", "it makes the server write files of its own; offsets are kept in Gamay's checkpoints"),
    ("offset.store.method", "offsets are kept in Gamay's checkpoints"),
    ("debug", "librdkafka's debug contexts log connection internals; set RUST_LOG on the server instead"),
    ("internal.termination.signal", "it installs a signal handler in the server"),
    ("builtin.features", "it is read-only"),
    ("sasl.jaas.config", "it is the Java client's setting; give sasl.mechanism, sasl.username and sasl.password"),
];

/// Families of properties refused by prefix, with the reason.
const REFUSED_PREFIXES: &[(&str, &str)] = &[
    ("sasl.kerberos.", "Kerberos (GSSAPI) runs kinit, a shell command built from these settings, and reads a keytab file of the server; use SASL PLAIN or SCRAM"),
    ("sasl.oauthbearer.", "OAUTHBEARER makes the server fetch tokens from a URL and read key files the config names; use SASL PLAIN or SCRAM"),
    ("enable.sasl.oauthbearer.", "OAUTHBEARER is not supported; use SASL PLAIN or SCRAM"),
    ("test.mock.", "it is librdkafka's test setting"),
    ("ssl.truststore.", "Java truststores are not read; give the CA certificates as PEM text in ssl.ca.pem"),
    ("ssl.keystore.", "Java keystores are not read; give the certificate and key as PEM text in ssl.certificate.pem and ssl.key.pem"),
];

/// What to do with one Kafka client property of a stream config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it to librdkafka.
    Pass,
    /// Accept it, but Gamay sets this one itself.
    Owned,
}

/// Checks one Kafka client property (`key` as librdkafka names it). The
/// error says why it is refused and never repeats a secret value.
pub fn check(key: &str, value: &str) -> Result<Verdict, String> {
    if OWNED.contains(&key) {
        return Ok(Verdict::Owned);
    }
    if let Some((_, kind, _)) = ALLOWED.iter().find(|(name, _, _)| *name == key) {
        return check_value(key, value, *kind).map(|()| Verdict::Pass);
    }
    if let Some((_, why)) = REFUSED.iter().find(|(name, _)| *name == key) {
        return Err(format!("Kafka client property `{key}` is refused: {why}"));
    }
    if let Some((_, why)) = REFUSED_PREFIXES
        .iter()
        .find(|(prefix, _)| key.starts_with(prefix))
    {
        return Err(format!("Kafka client property `{key}` is refused: {why}"));
    }
    if key.contains("interceptor") || key.contains("plugin") {
        return Err(format!(
            "Kafka client property `{key}` is refused: {LOADS_CODE}"
        ));
    }
    if key.ends_with(".location") || key.ends_with(".file") {
        return Err(format!("Kafka client property `{key}` is refused: {READS_FILE} ssl.ca.pem, ssl.certificate.pem or ssl.key.pem"));
    }
    let names = ALLOWED.iter().map(|(name, _, _)| *name);
    Err(format!(
        "`{key}` is not a Kafka consumer property Gamay passes to librdkafka{}; allowed are connection, socket and fetch tuning, isolation.level, client.rack, security.protocol, TLS settings with PEM text (ssl.ca.pem, ssl.certificate.pem, ssl.key.pem, ssl.key.password) and SASL PLAIN/SCRAM (sasl.mechanism, sasl.username, sasl.password)",
        did_you_mean(key, names)
    ))
}

/// Whether a passed property also configures a producer (the dead-letter
/// producer takes the connection, TLS and SASL settings, not fetch ones).
pub fn applies_to_producer(key: &str) -> bool {
    ALLOWED
        .iter()
        .any(|(name, _, scope)| *name == key && *scope == Client)
}

/// Whether a property's value is a secret (never logged or shown).
pub fn is_secret(key: &str) -> bool {
    ALLOWED
        .iter()
        .any(|(name, kind, _)| *name == key && matches!(kind, Secret))
}

fn check_value(key: &str, value: &str, kind: Kind) -> Result<(), String> {
    let trimmed = value.trim();
    match kind {
        Int(min, max) => match trimmed.parse::<i64>() {
            Ok(number) if (min..=max).contains(&number) => Ok(()),
            Ok(number) => Err(format!(
                "{key} is {number}; librdkafka takes {min} to {max}"
            )),
            Err(_) => Err(format!("{key}: `{value}` is not an integer")),
        },
        Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(()),
            _ => Err(format!("{key}: `{value}` is not true or false")),
        },
        Choice(choices) => {
            if choices
                .iter()
                .any(|choice| choice.eq_ignore_ascii_case(trimmed))
            {
                return Ok(());
            }
            let mut message = format!("{key}: `{value}` is not one of {}", choices.join(", "));
            if choices == SASL_MECHANISMS {
                message.push_str(" (GSSAPI runs kinit, a shell command, and OAUTHBEARER fetches tokens from a URL; neither is offered)");
            }
            Err(message)
        }
        Text | Secret => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_tls_and_sasl_pass() {
        for (key, value) in [
            ("fetch.min.bytes", "1"),
            ("isolation.level", "read_uncommitted"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
            ("ssl.ca.pem", "-----BEGIN CERTIFICATE-----"),
            ("ssl.endpoint.identification.algorithm", "none"),
            ("client.rack", "use1-az1"),
        ] {
            assert_eq!(check(key, value), Ok(Verdict::Pass), "{key}");
        }
        assert_eq!(check("enable.auto.commit", "true"), Ok(Verdict::Owned));
        assert!(applies_to_producer("sasl.password"));
        assert!(!applies_to_producer("fetch.min.bytes"));
    }

    #[test]
    fn code_loading_commands_and_files_are_refused_with_the_reason() {
        for (key, reason) in [
            ("plugin.library.paths", "native code"),
            ("ssl.engine.location", "native code"),
            ("ssl.engine.id", "native code"),
            ("ssl.providers", "native code"),
            ("interceptors", "native code"),
            ("plugin.something.new", "native code"),
            ("sasl.kerberos.kinit.cmd", "shell command"),
            ("sasl.kerberos.keytab", "keytab"),
            ("sasl.kerberos.principal", "shell command"),
            ("sasl.oauthbearer.method", "URL"),
            ("sasl.oauthbearer.token.endpoint.url", "URL"),
            ("sasl.oauthbearer.assertion.private.key.file", "URL"),
            ("ssl.ca.location", "ssl.ca.pem"),
            ("ssl.certificate.location", "ssl.certificate.pem"),
            ("ssl.key.location", "ssl.key.pem"),
            ("ssl.keystore.location", "PEM"),
            ("ssl.crl.location", "file"),
            ("offset.store.path", "write files"),
            ("some.future.location", "file"),
        ] {
            let err = check(key, "/tmp/x").unwrap_err();
            assert!(err.contains(key) && err.contains(reason), "{key}: {err}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let err = check("fetch.wait.max.mz", "20").unwrap_err();
        assert!(err.contains("did you mean `fetch.wait.max.ms`"), "{err}");
        let err = check("fetch.min.bytes", "0").unwrap_err();
        assert!(err.contains("1 to 100000000"), "{err}");
        let err = check("security.protocol", "tls").unwrap_err();
        assert!(err.contains("sasl_ssl"), "{err}");
        let err = check("sasl.mechanism", "GSSAPI").unwrap_err();
        assert!(err.contains("PLAIN") && err.contains("kinit"), "{err}");
        assert!(check("check.crcs", "yes").is_err());
        // Names are matched exactly, as librdkafka spells them.
        assert!(check("PLUGIN.LIBRARY.PATHS", "x").is_err());
    }
}

//! A reachability probe for Kafka bootstrap servers: a TCP connect to each,
//! in parallel, bounded by a timeout. It answers "could a consumer start now?"
//! when a table is created; it does not speak the Kafka protocol.

use std::time::Duration;

use tokio::net::{lookup_host, TcpStream};
use tokio::task::JoinSet;

/// Returns one description per broker that could not be reached within
/// `timeout`, e.g. "localhost:9092: connection refused".
pub async fn probe_brokers(brokers: &[String], timeout: Duration) -> Vec<String> {
    let mut probes = JoinSet::new();
    for (index, broker) in brokers.iter().enumerate() {
        let broker = broker.clone();
        probes.spawn(async move {
            let outcome = tokio::time::timeout(timeout, connect(&broker)).await;
            let failure = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(reason)) => Some(format!("{broker}: {reason}")),
                Err(_) => Some(format!(
                    "{broker}: no answer within {} ms",
                    timeout.as_millis()
                )),
            };
            (index, failure)
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = probes.join_next().await {
        if let Ok((index, Some(failure))) = joined {
            failures.push((index, failure));
        }
    }
    failures.sort();
    failures.into_iter().map(|(_, failure)| failure).collect()
}

/// Why a broker could not be reached.
#[derive(Debug, thiserror::Error)]
enum Unreachable {
    #[error("cannot resolve host ({0})")]
    Resolve(#[source] std::io::Error),
    #[error("no address")]
    NoAddress,
    #[error("{}", describe(.0))]
    Connect(#[source] std::io::Error),
}

async fn connect(broker: &str) -> Result<(), Unreachable> {
    let addrs: Vec<_> = lookup_host(broker)
        .await
        .map_err(Unreachable::Resolve)?
        .collect();
    let mut last = Unreachable::NoAddress;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(_) => return Ok(()),
            Err(err) => last = Unreachable::Connect(err),
        }
    }
    Err(last)
}

/// "connection refused" rather than "Connection refused (os error 111)".
fn describe(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_only_unreachable_brokers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().to_string();
        // A port that was free a moment ago: nothing listens there.
        let closed = {
            let spare = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            spare.local_addr().unwrap().to_string()
        };
        let failures = probe_brokers(&[open, closed.clone()], Duration::from_secs(2)).await;
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].starts_with(&closed), "{failures:?}");
        assert!(failures[0].contains("refused"), "{failures:?}");
    }
}

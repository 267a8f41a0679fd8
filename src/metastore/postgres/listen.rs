//! The change counter on PostgreSQL: every write that changes what the
//! metastore's reads return sends `NOTIFY gamay_changes` inside its
//! transaction (so the notice goes out only if it commits), and one
//! connection per [`super::PgMetastore`] listens and moves a
//! `tokio::sync::watch` counter.
//!
//! Notifications are per database, not per schema, so the payload is the
//! writer's schema and a listener counts only its own: two clusters in two
//! schemas of one database (or two tests) do not wake each other.
//!
//! When the listening connection breaks, the listener reconnects with
//! backoff and then moves the counter once, because a notification sent
//! while it was away is lost.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, Client, Transaction};

use super::connect::{Connector, PgConnection};
use super::db;
use crate::metastore::{Error, Result};

/// The channel every writer notifies.
pub(super) const CHANNEL: &str = "gamay_changes";

/// The first wait before reconnecting a broken listener.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between attempts: a restarted database is found
/// within seconds, and a down one is not hammered.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Notifies the listeners (this process's too) that `tx` changed something
/// once it commits.
pub(super) async fn notify(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "SELECT pg_notify($1, coalesce(current_schema(), ''))",
        &[&CHANNEL],
    )
    .await
    .map_err(db("notify other nodes of a change"))?;
    Ok(())
}

/// A connection that listens on [`CHANNEL`].
pub(super) struct Listening {
    /// Kept so the connection stays open; the listener only polls it.
    _client: Client,
    connection: PgConnection,
    /// The schema whose changes count.
    schema: String,
}

impl Listening {
    /// Connects and listens; returns once `LISTEN` is in effect, so every
    /// write that commits afterwards is heard.
    pub async fn open(connector: &Connector) -> Result<Listening> {
        let (client, mut connection) = connector.open("listener").await?;
        let schema = {
            let setup = async {
                let row = client
                    .query_one("SELECT coalesce(current_schema(), '')", &[])
                    .await?;
                client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
                Ok::<String, tokio_postgres::Error>(row.get(0))
            };
            tokio::pin!(setup);
            loop {
                tokio::select! {
                    result = &mut setup => break result.map_err(db("listen for changes"))?,
                    message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                        // Notices, and nothing to count before LISTEN is in effect.
                        Some(Ok(_)) => {}
                        Some(Err(err)) => return Err(db("listen for changes")(err)),
                        None => return Err(closed()),
                    },
                }
            }
        };
        Ok(Listening {
            _client: client,
            connection,
            schema,
        })
    }

    /// Counts this schema's notifications until the connection breaks.
    async fn run(&mut self, counter: &watch::Sender<u64>) -> Error {
        loop {
            match poll_fn(|cx| self.connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(notice)))
                    if notice.channel() == CHANNEL && notice.payload() == self.schema =>
                {
                    bump(counter);
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return db("listen for changes")(err),
                None => return closed(),
            }
        }
    }
}

fn closed() -> Error {
    Error::Connect("the server closed the listening connection".into())
}

fn bump(counter: &watch::Sender<u64>) {
    counter.send_modify(|count| *count = count.wrapping_add(1));
}

/// Listens until the task is aborted (when its metastore is dropped),
/// reconnecting whenever the connection breaks.
pub(super) async fn listen(
    connector: Connector,
    mut listening: Listening,
    counter: Arc<watch::Sender<u64>>,
) {
    loop {
        let err = listening.run(&counter).await;
        tracing::warn!(error = %err, "the metastore's change listener lost its connection; reconnecting");
        let mut backoff = FIRST_BACKOFF;
        listening = loop {
            tokio::time::sleep(backoff).await;
            match Listening::open(&connector).await {
                Ok(listening) => break listening,
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "cannot reconnect the metastore's change listener");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        tracing::info!("the metastore's change listener reconnected");
        // Whatever changed while it was away went unheard.
        bump(&counter);
    }
}

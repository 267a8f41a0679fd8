//! What servers report loaded (`gamay_loaded`), in SQL: reports are
//! incremental (a server writes only what it loaded or dropped), and the
//! external view is one read joined with the live nodes, so reports of a
//! silent server drop out of it at once, whether or not the leader has
//! pruned them yet.

use std::time::Duration;

use tokio_postgres::{Client, Transaction};

use super::db;
use crate::metastore::{Loaded, Result, Routing};

/// Adds and removes one server's reports of one table; whether any row
/// changed.
pub(super) async fn report(
    tx: &Transaction<'_>,
    server: &str,
    table: &str,
    loaded: &[String],
    dropped: &[String],
) -> Result<bool> {
    let added = tx
        .execute(
            "INSERT INTO gamay_loaded (server_id, table_name, segment_name)
             SELECT $1, $2, unnest($3::text[])
             ON CONFLICT DO NOTHING",
            &[&server, &table, &loaded],
        )
        .await
        .map_err(db("record loaded segments"))?;
    let removed = tx
        .execute(
            "DELETE FROM gamay_loaded
             WHERE server_id = $1 AND table_name = $2 AND segment_name = ANY($3)",
            &[&server, &table, &dropped],
        )
        .await
        .map_err(db("record dropped segments"))?;
    Ok(added + removed > 0)
}

/// Makes `held` all of one server's reports; whether any row changed.
pub(super) async fn replace(tx: &Transaction<'_>, server: &str, held: &Loaded) -> Result<bool> {
    let mut tables: Vec<&str> = Vec::new();
    let mut segments: Vec<&str> = Vec::new();
    for (table, names) in held {
        for segment in names {
            tables.push(table);
            segments.push(segment);
        }
    }
    let removed = tx
        .execute(
            "DELETE FROM gamay_loaded
             WHERE server_id = $1
               AND (table_name, segment_name) NOT IN
                   (SELECT * FROM unnest($2::text[], $3::text[]))",
            &[&server, &tables, &segments],
        )
        .await
        .map_err(db("replace loaded segments"))?;
    let added = tx
        .execute(
            "INSERT INTO gamay_loaded (server_id, table_name, segment_name)
             SELECT $1, t, s FROM unnest($2::text[], $3::text[]) AS held(t, s)
             ON CONFLICT DO NOTHING",
            &[&server, &tables, &segments],
        )
        .await
        .map_err(db("replace loaded segments"))?;
    Ok(added + removed > 0)
}

/// Removes the reports of servers not in `keep`; how many.
pub(super) async fn prune(tx: &Transaction<'_>, keep: &[String]) -> Result<u64> {
    tx.execute(
        "DELETE FROM gamay_loaded WHERE NOT (server_id = ANY($1))",
        &[&keep],
    )
    .await
    .map_err(db("prune loaded-segment reports"))
}

/// Table → segment → the live servers that report it loaded, sorted.
pub(super) async fn external_view(client: &Client, timeout: Duration) -> Result<Routing> {
    let rows = client
        .query(
            "SELECT l.table_name, l.segment_name, l.server_id
             FROM gamay_loaded l JOIN gamay_servers s ON s.server_id = l.server_id
             WHERE s.heartbeat_at > now() - make_interval(secs => $1)",
            &[&timeout.as_secs_f64()],
        )
        .await
        .map_err(db("read the external view"))?;
    Ok(super::cluster::group_servers(&rows))
}

//! Partition leases, nodes and assignments in SQL, on the database's clock
//! (`now()`), so expiry does not depend on the nodes' clocks agreeing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Transaction};

use super::db;
use crate::metastore::{Error, Lease, Node, PartitionRouting, Result, Routing};

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// Grants `owner` the lease of a partition for `ttl` if nobody else holds
/// an unexpired one, at an epoch above every earlier grant. `None` when
/// another owner holds it.
pub(super) async fn acquire_lease(
    tx: &Transaction<'_>,
    table: &str,
    partition: i32,
    owner: &str,
    ttl: Duration,
) -> Result<Option<Lease>> {
    let row = tx
        .query_opt(
            "INSERT INTO gamay_leases (table_name, partition_id, owner, epoch, expires_at, ttl_us)
             VALUES ($1, $2, $3, 1, now() + make_interval(secs => $4), $5)
             ON CONFLICT (table_name, partition_id) DO UPDATE
               SET owner = EXCLUDED.owner,
                   epoch = gamay_leases.epoch + 1,
                   expires_at = EXCLUDED.expires_at,
                   ttl_us = EXCLUDED.ttl_us
               WHERE gamay_leases.expires_at <= now() OR gamay_leases.owner = EXCLUDED.owner
             RETURNING epoch",
            &[&table, &partition, &owner, &ttl.as_secs_f64(), &micros(ttl)],
        )
        .await
        .map_err(db("grant a partition lease"))?;
    Ok(row.map(|row| Lease {
        table: table.to_string(),
        partition,
        owner: owner.to_string(),
        epoch: row.get(0),
        ttl,
    }))
}

/// Extends a lease by its ttl from now; `false` when it is no longer held
/// at its epoch. A renewal changes no read's answer (only the expiry),
/// so it needs no transaction and notifies nobody.
pub(super) async fn renew_lease(client: &Client, lease: &Lease) -> Result<bool> {
    let renewed = client
        .execute(
            "UPDATE gamay_leases
             SET expires_at = now() + make_interval(secs => $5), ttl_us = $6
             WHERE table_name = $1 AND partition_id = $2 AND owner = $3 AND epoch = $4",
            &[
                &lease.table,
                &lease.partition,
                &lease.owner,
                &lease.epoch,
                &lease.ttl.as_secs_f64(),
                &micros(lease.ttl),
            ],
        )
        .await
        .map_err(db("renew a partition lease"))?;
    Ok(renewed == 1)
}

/// Expires a lease still held at its epoch now; whether it was.
pub(super) async fn release_lease(tx: &Transaction<'_>, lease: &Lease) -> Result<bool> {
    let released = tx
        .execute(
            "UPDATE gamay_leases SET expires_at = now()
             WHERE table_name = $1 AND partition_id = $2 AND owner = $3 AND epoch = $4
               AND expires_at > now()",
            &[&lease.table, &lease.partition, &lease.owner, &lease.epoch],
        )
        .await
        .map_err(db("release a partition lease"))?;
    Ok(released == 1)
}

/// A table's unexpired leases, by partition.
pub(super) async fn leases(client: &Client, table: &str) -> Result<Vec<Lease>> {
    let rows = client
        .query(
            "SELECT partition_id, owner, epoch, ttl_us FROM gamay_leases
             WHERE table_name = $1 AND expires_at > now() ORDER BY partition_id",
            &[&table],
        )
        .await
        .map_err(db("read the partition leases"))?;
    Ok(rows
        .iter()
        .map(|row| Lease {
            table: table.to_string(),
            partition: row.get(0),
            owner: row.get(1),
            epoch: row.get(2),
            ttl: Duration::from_micros(u64::try_from(row.get::<_, i64>(3)).unwrap_or(0)),
        })
        .collect())
}

/// A heartbeat of a node already known as it is: `false` when the node is
/// new or changed its address or roles (then [`register`] it, which is a
/// change the other nodes hear of).
pub(super) async fn refresh(client: &Client, node: &Node) -> Result<bool> {
    let refreshed = client
        .execute(
            "UPDATE gamay_servers SET heartbeat_at = now()
             WHERE server_id = $1 AND url = $2 AND roles = $3",
            &[&node.id, &node.url, &node.roles.join(",")],
        )
        .await
        .map_err(db("record a heartbeat"))?;
    Ok(refreshed == 1)
}

/// Records `node` as it is now, alive now.
pub(super) async fn register(tx: &Transaction<'_>, node: &Node) -> Result<()> {
    tx.execute(
        "INSERT INTO gamay_servers (server_id, url, roles) VALUES ($1, $2, $3)
         ON CONFLICT (server_id) DO UPDATE
           SET url = EXCLUDED.url, roles = EXCLUDED.roles, heartbeat_at = now()",
        &[&node.id, &node.url, &node.roles.join(",")],
    )
    .await
    .map_err(db("record a heartbeat"))?;
    Ok(())
}

/// The nodes whose last heartbeat is less than `timeout` old, by id.
pub(super) async fn live_nodes(client: &Client, timeout: Duration) -> Result<Vec<Node>> {
    let rows = client
        .query(
            "SELECT server_id, url, roles FROM gamay_servers
             WHERE heartbeat_at > now() - make_interval(secs => $1)
             ORDER BY server_id COLLATE \"C\"",
            &[&timeout.as_secs_f64()],
        )
        .await
        .map_err(db("read the live nodes"))?;
    Ok(rows
        .iter()
        .map(|row| Node {
            id: row.get(0),
            url: row.get(1),
            roles: row
                .get::<_, String>(2)
                .split(',')
                .filter(|role| !role.is_empty())
                .map(String::from)
                .collect(),
        })
        .collect())
}

/// How long ago each live node last beat.
pub(super) async fn heartbeat_ages(
    client: &Client,
    timeout: Duration,
) -> Result<std::collections::BTreeMap<String, Duration>> {
    let rows = client
        .query(
            "SELECT server_id, extract(epoch FROM now() - heartbeat_at)::float8 FROM gamay_servers
             WHERE heartbeat_at > now() - make_interval(secs => $1)",
            &[&timeout.as_secs_f64()],
        )
        .await
        .map_err(db("read the heartbeats"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let seconds: f64 = row.get(1);
            (row.get(0), Duration::from_secs_f64(seconds.max(0.0)))
        })
        .collect())
}

/// Whether the node was known.
pub(super) async fn leave(tx: &Transaction<'_>, id: &str) -> Result<bool> {
    let removed = tx
        .execute("DELETE FROM gamay_servers WHERE server_id = $1", &[&id])
        .await
        .map_err(db("remove a node"))?;
    Ok(removed == 1)
}

/// Makes `servers` the holders of a recorded segment, replacing the
/// earlier ones.
pub(super) async fn assign(
    tx: &Transaction<'_>,
    table: &str,
    segment: &str,
    servers: &[String],
) -> Result<()> {
    tx.execute(
        "DELETE FROM gamay_assignments WHERE table_name = $1 AND segment_name = $2",
        &[&table, &segment],
    )
    .await
    .map_err(db("clear an assignment"))?;
    let unrecorded = || Error::Unrecorded {
        table: table.to_string(),
        segment: segment.to_string(),
    };
    if servers.is_empty() {
        // No insert meets the foreign key: check the record itself.
        let recorded = tx
            .query_opt(
                "SELECT 1 FROM gamay_segments WHERE table_name = $1 AND segment_name = $2",
                &[&table, &segment],
            )
            .await
            .map_err(db("read a segment record"))?;
        return recorded.map(|_| ()).ok_or_else(unrecorded);
    }
    for server in servers {
        let inserted = tx
            .execute(
                "INSERT INTO gamay_assignments (table_name, segment_name, server_id)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&table, &segment, server],
            )
            .await;
        if let Err(err) = inserted {
            if err.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
                return Err(unrecorded());
            }
            return Err(db("assign a segment")(err));
        }
    }
    Ok(())
}

/// Which servers hold each segment of every table, in one read: what a
/// broker's routing table is built from.
pub(super) async fn routing(client: &Client) -> Result<Routing> {
    let rows = client
        .query(
            "SELECT table_name, segment_name, server_id FROM gamay_assignments",
            &[],
        )
        .await
        .map_err(db("read the routing"))?;
    Ok(group_servers(&rows))
}

/// Rows of (table, key, server) as table → key → servers, the servers
/// sorted here rather than by the database, whose collation may not be
/// byte order (and a sort of every row costs it more).
pub(super) fn group_servers<'a, K>(
    rows: &'a [tokio_postgres::Row],
) -> BTreeMap<String, BTreeMap<K, Vec<String>>>
where
    K: Ord + tokio_postgres::types::FromSql<'a>,
{
    let mut out: BTreeMap<String, BTreeMap<K, Vec<String>>> = BTreeMap::new();
    for row in rows {
        out.entry(row.get(0))
            .or_default()
            .entry(row.get(1))
            .or_default()
            .push(row.get(2));
    }
    for keys in out.values_mut() {
        for servers in keys.values_mut() {
            servers.sort_unstable();
        }
    }
    out
}

/// Replaces `table`'s partition assignment; whether it changed (an
/// unchanged one is left alone, so the change counter does not move).
pub(super) async fn assign_partitions(
    tx: &Transaction<'_>,
    table: &str,
    partitions: &BTreeMap<i32, Vec<String>>,
) -> Result<bool> {
    let rows = tx
        .query(
            "SELECT partition_id, server_id FROM gamay_partition_assignments
             WHERE table_name = $1 FOR UPDATE",
            &[&table],
        )
        .await
        .map_err(db("read a partition assignment"))?;
    let mut before: BTreeSet<(i32, String)> = BTreeSet::new();
    for row in rows {
        before.insert((row.get(0), row.get(1)));
    }
    let mut next: BTreeSet<(i32, String)> = BTreeSet::new();
    for (partition, servers) in partitions {
        for server in servers {
            next.insert((*partition, server.clone()));
        }
    }
    if before == next {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM gamay_partition_assignments WHERE table_name = $1",
        &[&table],
    )
    .await
    .map_err(db("clear a partition assignment"))?;
    for (partition, server) in &next {
        tx.execute(
            "INSERT INTO gamay_partition_assignments (table_name, partition_id, server_id)
             VALUES ($1, $2, $3)",
            &[&table, partition, server],
        )
        .await
        .map_err(db("assign a stream partition"))?;
    }
    Ok(true)
}

/// Which servers consume each stream partition of every table.
pub(super) async fn partition_assignments(client: &Client) -> Result<PartitionRouting> {
    let rows = client
        .query(
            "SELECT table_name, partition_id, server_id FROM gamay_partition_assignments",
            &[],
        )
        .await
        .map_err(db("read the partition assignments"))?;
    Ok(group_servers(&rows))
}

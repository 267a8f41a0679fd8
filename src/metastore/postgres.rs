//! The metastore on PostgreSQL. Time is the database's (`now()`), so lease
//! expiry does not depend on the nodes' clocks agreeing.

use std::time::Duration;

use tokio_postgres::{Client, NoTls, Row};

use super::migrations::{self, LOCK_KEY, STEPS};
use std::collections::BTreeMap;

use super::{Commit, Error, Lease, Node, Result, SegmentRecord, SegmentState};

/// A connection to the metastore's database.
pub struct PgMetastore {
    client: Client,
}

fn db(action: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
    move |source| Error::Database { action, source }
}

impl PgMetastore {
    /// Connects to `url` (`postgres://user:password@host:port/database`)
    /// and brings the schema to this build's version.
    pub async fn connect(url: &str) -> Result<PgMetastore> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|err: tokio_postgres::Error| Error::Url(err.to_string()))?;
        PgMetastore::connect_with(config).await
    }

    /// As [`Self::connect`], with the connection's settings given.
    pub async fn connect_with(config: tokio_postgres::Config) -> Result<PgMetastore> {
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|err| Error::Connect(err.to_string()))?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::warn!(error = %err, "the metastore connection closed");
            }
        });
        let mut store = PgMetastore { client };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the schema steps the database lacks, once, whichever node
    /// gets there first.
    async fn migrate(&mut self) -> Result<()> {
        let tx = self
            .client
            .transaction()
            .await
            .map_err(db("start a migration"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .await
            .map_err(db("lock the schema for migration"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS gamay_metastore_version (version INTEGER NOT NULL)",
        )
        .await
        .map_err(db("create the version table"))?;
        let found: Option<i32> = tx
            .query_opt("SELECT version FROM gamay_metastore_version", &[])
            .await
            .map_err(db("read the schema version"))?
            .map(|row| row.get(0));
        let found = match found {
            Some(version) => version,
            None => {
                tx.execute("INSERT INTO gamay_metastore_version VALUES (0)", &[])
                    .await
                    .map_err(db("record the schema version"))?;
                0
            }
        };
        let known = migrations::latest();
        if found > known {
            return Err(Error::NewerSchema { found, known });
        }
        for step in &STEPS[found as usize..] {
            tx.batch_execute(step)
                .await
                .map_err(db("migrate the schema"))?;
        }
        tx.execute("UPDATE gamay_metastore_version SET version = $1", &[&known])
            .await
            .map_err(db("record the schema version"))?;
        tx.commit().await.map_err(db("commit a migration"))
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i32> {
        let row = self
            .client
            .query_one("SELECT version FROM gamay_metastore_version", &[])
            .await
            .map_err(db("read the schema version"))?;
        Ok(row.get(0))
    }

    /// Grants `owner` the lease of a partition for `ttl` if nobody else
    /// holds an unexpired one, at an epoch above every earlier grant.
    /// `None` when another owner holds it.
    pub async fn acquire_lease(
        &self,
        table: &str,
        partition: i32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let row = self
            .client
            .query_opt(
                "INSERT INTO gamay_leases (table_name, partition_id, owner, epoch, expires_at)
                 VALUES ($1, $2, $3, 1, now() + make_interval(secs => $4))
                 ON CONFLICT (table_name, partition_id) DO UPDATE
                   SET owner = EXCLUDED.owner,
                       epoch = gamay_leases.epoch + 1,
                       expires_at = EXCLUDED.expires_at
                   WHERE gamay_leases.expires_at <= now() OR gamay_leases.owner = EXCLUDED.owner
                 RETURNING epoch",
                &[&table, &partition, &owner, &ttl.as_secs_f64()],
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

    /// Extends a lease by its ttl from now; `false` when it is no longer
    /// held at its epoch.
    pub async fn renew_lease(&self, lease: &Lease) -> Result<bool> {
        let renewed = self
            .client
            .execute(
                "UPDATE gamay_leases SET expires_at = now() + make_interval(secs => $5)
                 WHERE table_name = $1 AND partition_id = $2 AND owner = $3 AND epoch = $4",
                &[
                    &lease.table,
                    &lease.partition,
                    &lease.owner,
                    &lease.epoch,
                    &lease.ttl.as_secs_f64(),
                ],
            )
            .await
            .map_err(db("renew a partition lease"))?;
        Ok(renewed == 1)
    }

    /// Records a real-time segment and moves its partition's checkpoint to
    /// the segment's end offset, in one transaction, if `lease` is still
    /// held at its epoch; else changes nothing and answers
    /// [`Commit::Fenced`]. The segment must start at the checkpoint.
    pub async fn commit_segment(
        &mut self,
        lease: &Lease,
        record: &SegmentRecord,
    ) -> Result<Commit> {
        let (Some(partition), Some((start, end))) = (record.partition, record.offsets) else {
            return Err(Error::NotRealtime(record.segment.clone()));
        };
        if partition != lease.partition || record.table != lease.table {
            return Err(Error::OtherLease {
                segment: record.segment.clone(),
                table: record.table.clone(),
                partition,
                lease_table: lease.table.clone(),
                lease_partition: lease.partition,
            });
        }
        let tx = self
            .client
            .transaction()
            .await
            .map_err(db("start a segment commit"))?;
        let held = tx
            .query_opt(
                "SELECT 1 FROM gamay_leases
                 WHERE table_name = $1 AND partition_id = $2 AND owner = $3 AND epoch = $4
                 FOR UPDATE",
                &[&lease.table, &lease.partition, &lease.owner, &lease.epoch],
            )
            .await
            .map_err(db("check the partition lease"))?;
        if held.is_none() {
            return Ok(Commit::Fenced);
        }
        let checkpoint: Option<i64> = tx
            .query_opt(
                "SELECT next_offset FROM gamay_checkpoints
                 WHERE table_name = $1 AND partition_id = $2 FOR UPDATE",
                &[&record.table, &partition],
            )
            .await
            .map_err(db("read the partition checkpoint"))?
            .map(|row| row.get(0));
        if let Some(checkpoint) = checkpoint.filter(|checkpoint| *checkpoint != start) {
            return Err(Error::OutOfOrder {
                table: record.table.clone(),
                segment: record.segment.clone(),
                partition,
                start,
                checkpoint,
            });
        }
        let inserted = tx
            .execute(
                "INSERT INTO gamay_segments (table_name, segment_name, partition_id, start_offset,
                     end_offset, start_time_ms, end_time_ms, num_rows, size_bytes, crc, uri, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (table_name, segment_name) DO NOTHING",
                &[
                    &record.table,
                    &record.segment,
                    &partition,
                    &start,
                    &end,
                    &record.time_range.map(|(low, _)| low),
                    &record.time_range.map(|(_, high)| high),
                    &record.rows,
                    &record.size_bytes,
                    &record.crc,
                    &record.uri,
                    &record.state.as_str(),
                ],
            )
            .await
            .map_err(db("record a segment"))?;
        if inserted == 0 {
            return Err(Error::Duplicate {
                table: record.table.clone(),
                segment: record.segment.clone(),
            });
        }
        tx.execute(
            "INSERT INTO gamay_checkpoints (table_name, partition_id, next_offset)
             VALUES ($1, $2, $3)
             ON CONFLICT (table_name, partition_id) DO UPDATE SET next_offset = EXCLUDED.next_offset",
            &[&record.table, &partition, &end],
        )
        .await
        .map_err(db("advance the partition checkpoint"))?;
        tx.commit().await.map_err(db("commit a segment"))?;
        Ok(Commit::Committed)
    }

    /// The next offset to consume of a partition, if a segment of it was
    /// committed.
    pub async fn checkpoint(&self, table: &str, partition: i32) -> Result<Option<i64>> {
        let row = self
            .client
            .query_opt(
                "SELECT next_offset FROM gamay_checkpoints WHERE table_name = $1 AND partition_id = $2",
                &[&table, &partition],
            )
            .await
            .map_err(db("read the partition checkpoint"))?;
        Ok(row.map(|row| row.get(0)))
    }

    /// A table's recorded segments, by name.
    pub async fn segments(&self, table: &str) -> Result<Vec<SegmentRecord>> {
        let rows = self
            .client
            .query(
                "SELECT table_name, segment_name, partition_id, start_offset, end_offset,
                        start_time_ms, end_time_ms, num_rows, size_bytes, crc, uri, state
                 FROM gamay_segments WHERE table_name = $1 ORDER BY segment_name",
                &[&table],
            )
            .await
            .map_err(db("read segment records"))?;
        rows.iter().map(record_of).collect()
    }
}

impl PgMetastore {
    /// Records that `node` is alive now (registering it the first time).
    pub async fn heartbeat(&self, node: &Node) -> Result<()> {
        self.client
            .execute(
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
    pub async fn live_nodes(&self, timeout: Duration) -> Result<Vec<Node>> {
        let rows = self
            .client
            .query(
                "SELECT server_id, url, roles FROM gamay_servers
                 WHERE heartbeat_at > now() - make_interval(secs => $1)
                 ORDER BY server_id",
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

    /// Removes a node that leaves on purpose.
    pub async fn leave(&self, id: &str) -> Result<()> {
        self.client
            .execute("DELETE FROM gamay_servers WHERE server_id = $1", &[&id])
            .await
            .map_err(db("remove a node"))?;
        Ok(())
    }

    /// Makes `servers` the holders of a recorded segment, replacing the
    /// earlier ones, in one transaction.
    pub async fn assign(&mut self, table: &str, segment: &str, servers: &[String]) -> Result<()> {
        let tx = self
            .client
            .transaction()
            .await
            .map_err(db("start an assignment"))?;
        tx.execute(
            "DELETE FROM gamay_assignments WHERE table_name = $1 AND segment_name = $2",
            &[&table, &segment],
        )
        .await
        .map_err(db("clear an assignment"))?;
        for server in servers {
            let inserted = tx
                .execute(
                    "INSERT INTO gamay_assignments (table_name, segment_name, server_id)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&table, &segment, server],
                )
                .await;
            if let Err(err) = inserted {
                if err.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) {
                    return Err(Error::Unrecorded {
                        table: table.to_string(),
                        segment: segment.to_string(),
                    });
                }
                return Err(db("assign a segment")(err));
            }
        }
        tx.commit().await.map_err(db("commit an assignment"))
    }

    /// Which servers hold each segment of every table, in one read: what a
    /// broker's routing table is built from.
    pub async fn routing(&self) -> Result<BTreeMap<String, BTreeMap<String, Vec<String>>>> {
        let rows = self
            .client
            .query(
                "SELECT table_name, segment_name, server_id FROM gamay_assignments
                 ORDER BY table_name, segment_name, server_id",
                &[],
            )
            .await
            .map_err(db("read the routing"))?;
        let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for row in rows {
            out.entry(row.get(0))
                .or_default()
                .entry(row.get(1))
                .or_default()
                .push(row.get(2));
        }
        Ok(out)
    }

    /// Which servers hold each of a table's segments (only segments with
    /// at least one holder appear).
    pub async fn assignments(&self, table: &str) -> Result<BTreeMap<String, Vec<String>>> {
        let rows = self
            .client
            .query(
                "SELECT segment_name, server_id FROM gamay_assignments
                 WHERE table_name = $1 ORDER BY segment_name, server_id",
                &[&table],
            )
            .await
            .map_err(db("read assignments"))?;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in rows {
            out.entry(row.get(0)).or_default().push(row.get(1));
        }
        Ok(out)
    }
}

fn record_of(row: &Row) -> Result<SegmentRecord> {
    let state: String = row.get(11);
    let pair = |a: Option<i64>, b: Option<i64>| a.zip(b);
    Ok(SegmentRecord {
        table: row.get(0),
        segment: row.get(1),
        partition: row.get(2),
        offsets: pair(row.get(3), row.get(4)),
        time_range: pair(row.get(5), row.get(6)),
        rows: row.get(7),
        size_bytes: row.get(8),
        crc: row.get(9),
        uri: row.get(10),
        state: SegmentState::parse(&state).ok_or(Error::UnknownState(state))?,
    })
}

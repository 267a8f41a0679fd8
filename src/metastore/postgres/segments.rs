//! Segment records and checkpoints in SQL. Writes run inside the caller's
//! transaction (which notifies and commits); reads take the reader connection.

use std::collections::BTreeMap;

use tokio_postgres::{Client, Row, Transaction};

use super::db;
use crate::metastore::{
    commit_position, skip_position, Commit, Error, Lease, Result, SegmentRecord, SegmentState,
};

const COLUMNS: &str = "table_name, segment_name, partition_id, start_offset, end_offset,
    start_time_ms, end_time_ms, num_rows, size_bytes, crc, uri, state";

/// Inserts `record`; a name already recorded is [`Error::Duplicate`].
pub(super) async fn insert(tx: &Transaction<'_>, record: &SegmentRecord) -> Result<()> {
    let inserted = tx
        .execute(
            &format!(
                "INSERT INTO gamay_segments ({COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (table_name, segment_name) DO NOTHING"
            ),
            &[
                &record.table,
                &record.segment,
                &record.partition,
                &record.offsets.map(|(start, _)| start),
                &record.offsets.map(|(_, end)| end),
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
    Ok(())
}

/// Records a real-time segment and moves its partition's checkpoint to
/// the segment's end offset if `lease` is still held at its epoch; else
/// changes nothing and answers [`Commit::Fenced`]. The segment must start
/// at the checkpoint. The lease row is locked first, so a grant to another
/// owner waits for this commit or fences it.
pub(super) async fn commit(
    tx: &Transaction<'_>,
    lease: &Lease,
    record: &SegmentRecord,
) -> Result<Commit> {
    let (partition, start, end) = commit_position(lease, record)?;
    if !holds(tx, lease).await? {
        return Ok(Commit::Fenced);
    }
    let checkpoint = locked_checkpoint(tx, &record.table, partition).await?;
    if let Some(checkpoint) = checkpoint.filter(|checkpoint| *checkpoint != start) {
        return Err(Error::OutOfOrder {
            table: record.table.clone(),
            segment: record.segment.clone(),
            partition,
            start,
            checkpoint,
        });
    }
    insert(tx, record).await?;
    set_checkpoint(tx, &record.table, partition, end).await?;
    Ok(Commit::Committed)
}

/// Whether `lease` is still the partition's grant at its epoch, locking it
/// for the transaction.
pub(super) async fn holds(tx: &Transaction<'_>, lease: &Lease) -> Result<bool> {
    let held = tx
        .query_opt(
            "SELECT 1 FROM gamay_leases
             WHERE table_name = $1 AND partition_id = $2 AND owner = $3 AND epoch = $4
             FOR UPDATE",
            &[&lease.table, &lease.partition, &lease.owner, &lease.epoch],
        )
        .await
        .map_err(db("check the partition lease"))?;
    Ok(held.is_some())
}

/// A partition's checkpoint, locked for the transaction.
async fn locked_checkpoint(
    tx: &Transaction<'_>,
    table: &str,
    partition: i32,
) -> Result<Option<i64>> {
    Ok(tx
        .query_opt(
            "SELECT next_offset FROM gamay_checkpoints
             WHERE table_name = $1 AND partition_id = $2 FOR UPDATE",
            &[&table, &partition],
        )
        .await
        .map_err(db("read the partition checkpoint"))?
        .map(|row| row.get(0)))
}

async fn set_checkpoint(
    tx: &Transaction<'_>,
    table: &str,
    partition: i32,
    next: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO gamay_checkpoints (table_name, partition_id, next_offset)
         VALUES ($1, $2, $3)
         ON CONFLICT (table_name, partition_id) DO UPDATE SET next_offset = EXCLUDED.next_offset",
        &[&table, &partition, &next],
    )
    .await
    .map_err(db("advance the partition checkpoint"))?;
    Ok(())
}

/// Moves a partition's checkpoint forward with no segment, under the
/// lease; whether the checkpoint changed.
pub(super) async fn skip(
    tx: &Transaction<'_>,
    lease: &Lease,
    from: i64,
    to: i64,
) -> Result<Commit> {
    if !holds(tx, lease).await? {
        return Ok(Commit::Fenced);
    }
    let checkpoint = locked_checkpoint(tx, &lease.table, lease.partition).await?;
    if let Some(next) = skip_position(lease, checkpoint, from, to)? {
        set_checkpoint(tx, &lease.table, lease.partition, next).await?;
    }
    Ok(Commit::Committed)
}

/// Whether a recorded segment's state changed.
pub(super) async fn set_state(
    tx: &Transaction<'_>,
    table: &str,
    segment: &str,
    state: SegmentState,
) -> Result<bool> {
    let changed = tx
        .execute(
            "UPDATE gamay_segments SET state = $3 WHERE table_name = $1 AND segment_name = $2",
            &[&table, &segment, &state.as_str()],
        )
        .await
        .map_err(db("change a segment's state"))?;
    Ok(changed == 1)
}

/// Whether a segment was recorded (its assignments go by the foreign key's
/// cascade).
pub(super) async fn remove(tx: &Transaction<'_>, table: &str, segment: &str) -> Result<bool> {
    let removed = tx
        .execute(
            "DELETE FROM gamay_segments WHERE table_name = $1 AND segment_name = $2",
            &[&table, &segment],
        )
        .await
        .map_err(db("remove a segment"))?;
    Ok(removed == 1)
}

/// One table's records, or every table's, by table and name.
pub(super) async fn records(client: &Client, table: Option<&str>) -> Result<Vec<SegmentRecord>> {
    let rows = match table {
        Some(table) => {
            client
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM gamay_segments
                         WHERE table_name = $1 ORDER BY segment_name COLLATE \"C\""
                    ),
                    &[&table],
                )
                .await
        }
        None => {
            client
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM gamay_segments
                         ORDER BY table_name COLLATE \"C\", segment_name COLLATE \"C\""
                    ),
                    &[],
                )
                .await
        }
    };
    let rows = rows.map_err(db("read segment records"))?;
    rows.iter().map(record_of).collect()
}

pub(super) async fn checkpoint(
    client: &Client,
    table: &str,
    partition: i32,
) -> Result<Option<i64>> {
    let row = client
        .query_opt(
            "SELECT next_offset FROM gamay_checkpoints WHERE table_name = $1 AND partition_id = $2",
            &[&table, &partition],
        )
        .await
        .map_err(db("read the partition checkpoint"))?;
    Ok(row.map(|row| row.get(0)))
}

pub(super) async fn checkpoints(client: &Client, table: &str) -> Result<BTreeMap<i32, i64>> {
    let rows = client
        .query(
            "SELECT partition_id, next_offset FROM gamay_checkpoints WHERE table_name = $1",
            &[&table],
        )
        .await
        .map_err(db("read the partition checkpoints"))?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
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

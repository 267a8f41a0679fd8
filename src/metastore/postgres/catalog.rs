//! Catalog entries, connectors and REALTIME tables' consumption controls
//! in SQL. The JSON is kept as the text it was given (not `jsonb`, which
//! would reorder its keys).

use std::collections::BTreeMap;

use tokio_postgres::{Client, Transaction};

use super::db;
use crate::metastore::{
    CatalogEntry, CatalogKind, ConnectorRecord, Error, Result, StreamChange, StreamControl,
};

/// Every entry, by kind and name.
pub(super) async fn entries(client: &Client) -> Result<Vec<CatalogEntry>> {
    let rows = client
        .query(
            "SELECT kind, name, json FROM gamay_catalog ORDER BY kind, name COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(db("read the catalog"))?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let kind: String = row.get(0);
        entries.push(CatalogEntry {
            kind: CatalogKind::parse(&kind).ok_or(Error::UnknownKind(kind))?,
            name: row.get(1),
            json: row.get(2),
        });
    }
    Ok(entries)
}

pub(super) async fn put(tx: &Transaction<'_>, entry: &CatalogEntry) -> Result<()> {
    tx.execute(
        "INSERT INTO gamay_catalog (kind, name, json) VALUES ($1, $2, $3)
         ON CONFLICT (kind, name) DO UPDATE SET json = EXCLUDED.json, updated_at = now()",
        &[&entry.kind.as_str(), &entry.name, &entry.json],
    )
    .await
    .map_err(db("store a catalog entry"))?;
    Ok(())
}

/// Whether the entry was there.
pub(super) async fn remove(tx: &Transaction<'_>, kind: CatalogKind, name: &str) -> Result<bool> {
    let removed = tx
        .execute(
            "DELETE FROM gamay_catalog WHERE kind = $1 AND name = $2",
            &[&kind.as_str(), &name],
        )
        .await
        .map_err(db("remove a catalog entry"))?;
    Ok(removed == 1)
}

/// Every connector, by name.
pub(super) async fn connectors(client: &Client) -> Result<Vec<ConnectorRecord>> {
    let rows = client
        .query(
            "SELECT name, config, state FROM gamay_connectors ORDER BY name COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(db("read the connectors"))?;
    Ok(rows
        .iter()
        .map(|row| ConnectorRecord {
            name: row.get(0),
            config: row.get(1),
            state: row.get(2),
        })
        .collect())
}

/// Adds a connector or replaces its config, keeping its state.
pub(super) async fn put_connector(tx: &Transaction<'_>, name: &str, config: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO gamay_connectors (name, config) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, updated_at = now()",
        &[&name, &config],
    )
    .await
    .map_err(db("store a connector"))?;
    Ok(())
}

/// Adds a connector unless the name is taken; whether it was added.
pub(super) async fn create_connector(
    tx: &Transaction<'_>,
    name: &str,
    config: &str,
) -> Result<bool> {
    let added = tx
        .execute(
            "INSERT INTO gamay_connectors (name, config) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &config],
        )
        .await
        .map_err(db("store a connector"))?;
    Ok(added == 1)
}

/// Whether the connector was there.
pub(super) async fn remove_connector(tx: &Transaction<'_>, name: &str) -> Result<bool> {
    let removed = tx
        .execute("DELETE FROM gamay_connectors WHERE name = $1", &[&name])
        .await
        .map_err(db("remove a connector"))?;
    Ok(removed == 1)
}

pub(super) async fn put_connector_state(
    tx: &Transaction<'_>,
    name: &str,
    state: &str,
) -> Result<()> {
    let updated = tx
        .execute(
            "UPDATE gamay_connectors SET state = $2, updated_at = now() WHERE name = $1",
            &[&name, &state],
        )
        .await
        .map_err(db("store a connector's state"))?;
    if updated == 0 {
        return Err(Error::UnknownConnector(name.to_string()));
    }
    Ok(())
}

/// Every table's consumption controls.
pub(super) async fn stream_controls(client: &Client) -> Result<BTreeMap<String, StreamControl>> {
    let rows = client
        .query(
            "SELECT table_name, paused, resume_from, resumes, force_commits, force_commit_job
             FROM gamay_stream_controls",
            &[],
        )
        .await
        .map_err(db("read the consumption controls"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let control = StreamControl {
                paused: row.get(1),
                resume_from: row.get(2),
                resumes: row.get(3),
                force_commits: row.get(4),
                force_commit_job: row.get(5),
            };
            (row.get(0), control)
        })
        .collect())
}

/// Applies `change` to a table's controls; the controls after it.
pub(super) async fn control_stream(
    tx: &Transaction<'_>,
    table: &str,
    change: &StreamChange,
) -> Result<StreamControl> {
    // The row first, so concurrent changes queue on its lock and none is lost.
    tx.execute(
        "INSERT INTO gamay_stream_controls (table_name) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&table],
    )
    .await
    .map_err(db("store a table's consumption controls"))?;
    let row = tx
        .query_opt(
            "SELECT paused, resume_from, resumes, force_commits, force_commit_job
             FROM gamay_stream_controls WHERE table_name = $1 FOR UPDATE",
            &[&table],
        )
        .await
        .map_err(db("read a table's consumption controls"))?;
    let current = row.map_or_else(StreamControl::default, |row| StreamControl {
        paused: row.get(0),
        resume_from: row.get(1),
        resumes: row.get(2),
        force_commits: row.get(3),
        force_commit_job: row.get(4),
    });
    let next = current.changed(change);
    tx.execute(
        "UPDATE gamay_stream_controls SET paused = $2, resume_from = $3, resumes = $4,
             force_commits = $5, force_commit_job = $6, updated_at = now() WHERE table_name = $1",
        &[
            &table,
            &next.paused,
            &next.resume_from,
            &next.resumes,
            &next.force_commits,
            &next.force_commit_job,
        ],
    )
    .await
    .map_err(db("store a table's consumption controls"))?;
    Ok(next)
}

//! Catalogs of several nodes over one metastore: what one writes, the
//! others take in on reload.

use std::sync::Arc;

use serde_json::Value;

use super::MetastoreCatalogStore;
use crate::catalog::{parse, Catalog, CatalogChanges, Parsed, Schema, TableConfig};
use crate::metastore::local::LocalMetastore;
use crate::metastore::{CatalogKind, Metastore};

const SCHEMA: &str = include_str!("../../../schemas/stock_transactions.json");
const TABLE: &str = include_str!("../../../tables/stock_transactions_realtime.json");
const TYPED: &str = "stock_transactions_REALTIME";

fn schema() -> Parsed<Schema> {
    parse(SCHEMA.as_bytes(), "schema").unwrap()
}

fn table(inverted: &[&str]) -> Parsed<TableConfig> {
    let mut json: Value = serde_json::from_str(TABLE).unwrap();
    json["tableIndexConfig"]["invertedIndexColumns"] = inverted.into();
    parse(json.to_string().as_bytes(), "table config").unwrap()
}

fn catalog(metastore: &Arc<dyn Metastore>) -> Catalog {
    Catalog::open_with(Box::new(
        MetastoreCatalogStore::new(metastore.clone()).unwrap(),
    ))
    .unwrap()
}

/// Adds, changes and removes a table through `writer`; `reader` follows
/// by reloading.
fn two_nodes_follow_each_other(writer: &Catalog, reader: &Catalog) {
    writer.add_schema(schema(), false, false).unwrap();
    writer.add_table(table(&["id"])).unwrap();
    assert!(reader.table(TYPED).is_none());
    let changes = reader.reload().unwrap();
    assert_eq!(changes.schemas_added, ["stock_transactions"]);
    assert_eq!(changes.tables_added, [TYPED]);
    assert_eq!(
        reader.table(TYPED).unwrap().json,
        writer.table(TYPED).unwrap().json
    );
    assert!(reader.reload().unwrap().is_empty());

    // Either node writes; the other follows.
    reader
        .update_table("stock_transactions", table(&["id", "symbol"]))
        .unwrap();
    let changes = writer.reload().unwrap();
    assert_eq!(
        changes,
        CatalogChanges {
            tables_replaced: vec![TYPED.into()],
            ..CatalogChanges::default()
        }
    );
    assert_eq!(
        writer.table(TYPED).unwrap().json["tableIndexConfig"]["invertedIndexColumns"],
        serde_json::json!(["id", "symbol"])
    );

    writer.delete_table("stock_transactions", None).unwrap();
    let changes = reader.reload().unwrap();
    assert_eq!(changes.tables_removed, [TYPED]);
    assert!(changes.schemas_removed.is_empty());
    assert!(reader.table_names(None).is_empty());
}

#[test]
fn catalogs_over_one_local_metastore_follow_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let metastore: Arc<dyn Metastore> = Arc::new(LocalMetastore::open(dir.path()).unwrap());
    let writer = catalog(&metastore);
    let reader = catalog(&metastore);
    two_nodes_follow_each_other(&writer, &reader);
    // A catalog opened later starts from what is there.
    assert_eq!(catalog(&metastore).schema_names(), ["stock_transactions"]);
}

/// The catalog is called from async tasks too: the adapter never blocks
/// on the caller's runtime (which would panic here).
#[tokio::test]
async fn the_catalog_may_be_called_on_an_async_task() {
    let dir = tempfile::tempdir().unwrap();
    let metastore: Arc<dyn Metastore> = Arc::new(LocalMetastore::open(dir.path()).unwrap());
    let catalog = catalog(&metastore);
    catalog.add_schema(schema(), false, false).unwrap();
    let entries = metastore.catalog().await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].kind, CatalogKind::Schema);
    // Stored as the file store writes it.
    let json: Value = serde_json::from_str(SCHEMA).unwrap();
    let schema = parse::<Schema>(json.to_string().as_bytes(), "schema").unwrap();
    assert_eq!(
        entries[0].json,
        serde_json::to_string_pretty(&schema.json).unwrap()
    );
}

#[test]
fn an_unreadable_entry_is_named_and_a_failed_call_is_the_stores_error() {
    let dir = tempfile::tempdir().unwrap();
    let metastore: Arc<dyn Metastore> = Arc::new(LocalMetastore::open(dir.path()).unwrap());
    let broken = crate::metastore::CatalogEntry {
        kind: CatalogKind::Schema,
        name: "broken".into(),
        json: "{\"schemaName\": \"bro".into(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(metastore.put_catalog(&broken)).unwrap();
    let err = Catalog::open_with(Box::new(MetastoreCatalogStore::new(metastore).unwrap()))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("catalog entry schema `broken` in the metastore is unreadable"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogs_over_one_postgres_metastore_follow_each_other() {
    let Some((url, schema)) = crate::metastore::tests::fresh_schema().await else {
        return;
    };
    let open = crate::metastore::tests::open;
    let first: Arc<dyn Metastore> = Arc::new(open(&url, &schema).await.unwrap());
    let second: Arc<dyn Metastore> = Arc::new(open(&url, &schema).await.unwrap());
    let mut counter = second.changes();
    // As the API calls the catalog: off the async workers.
    tokio::task::spawn_blocking(move || {
        let writer = catalog(&first);
        let reader = catalog(&second);
        two_nodes_follow_each_other(&writer, &reader);
    })
    .await
    .unwrap();
    // The writes told the other node to reload.
    tokio::time::timeout(std::time::Duration::from_secs(10), counter.changed())
        .await
        .expect("the counter did not move")
        .unwrap();
}

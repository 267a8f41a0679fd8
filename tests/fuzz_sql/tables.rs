//! The fuzz server's tables, created and loaded through the API as a user
//! would: `stock_transactions` (two segments of the kit's generated rows,
//! with a star-tree), `trades` (one segment, no star-tree) and `tagged`
//! (the SQL golden files' 60 rows: a multi-value column, a BOOLEAN, a raw
//! FLOAT, a bloom filter).

use std::path::Path;

use serde_json::{json, Value};

const KIT_SCHEMA: &str = include_str!("../../benches/data/stock_transactions.schema.json");
const STAR_TREE_TABLE: &str =
    include_str!("../../benches/data/stock_transactions.startree.offline.json");
const PLAIN_TABLE: &str = include_str!("../../benches/data/stock_transactions.offline.json");
const TAGGED_SCHEMA: &str = include_str!("../sql/data/trades.schema.json");
const TAGGED_TABLE: &str = include_str!("../sql/data/trades.table.json");
const TAGGED_ROWS: [&str; 2] = [
    include_str!("../sql/data/trades_a.jsonl"),
    include_str!("../sql/data/trades_b.jsonl"),
];

/// Rows of each upload to `stock_transactions`, and of `trades`.
const ROWS: usize = 12_000;
const TRADES_ROWS: usize = 6_000;

/// Creates and loads the three tables; `dir` holds the generated files.
pub fn load_all(agent: &ureq::Agent, url: &str, dir: &Path) {
    let kit = |table: &str, name: &str, seeds: &[u64], rows: usize| {
        create(agent, url, name, KIT_SCHEMA, table);
        for seed in seeds {
            let file = dir.join(format!("{name}-{seed}.parquet"));
            let batches = gamay_bench::data::generate(rows, *seed);
            gamay_bench::data::write_parquet(&batches, &file).unwrap();
            upload(agent, url, name, "parquet", &std::fs::read(&file).unwrap());
        }
        assert_eq!(count(agent, url, name), rows * seeds.len());
    };
    kit(STAR_TREE_TABLE, "stock_transactions", &[42, 43], ROWS);
    kit(PLAIN_TABLE, "trades", &[44], TRADES_ROWS);
    create(agent, url, "tagged", TAGGED_SCHEMA, TAGGED_TABLE);
    for rows in TAGGED_ROWS {
        upload(agent, url, "tagged", "json", rows.as_bytes());
    }
    assert_eq!(count(agent, url, "tagged"), 60);
}

/// Creates schema and table `name` from the given configs.
fn create(agent: &ureq::Agent, url: &str, name: &str, schema: &str, table: &str) {
    let mut schema: Value = serde_json::from_str(schema).unwrap();
    schema["schemaName"] = json!(name);
    let mut config: Value = serde_json::from_str(table).unwrap();
    config["tableName"] = json!(name);
    for (path, body) in [("/schemas", schema), ("/tables", config)] {
        let answer = agent
            .post(&format!("{url}{path}"))
            .send_string(&body.to_string());
        assert!(answer.is_ok(), "POST {path}: {answer:?}");
    }
}

fn upload(agent: &ureq::Agent, url: &str, name: &str, format: &str, bytes: &[u8]) {
    let answer = agent
        .post(&format!(
            "{url}/ingestFromFile?tableNameWithType={name}_OFFLINE&batchConfigMapStr=%7B%22inputFormat%22%3A%22{format}%22%7D"
        ))
        .set("Content-Type", "application/octet-stream")
        .send_bytes(bytes);
    assert!(answer.is_ok(), "ingesting into {name}: {answer:?}");
}

fn count(agent: &ureq::Agent, url: &str, name: &str) -> usize {
    let answer = agent
        .post(&format!("{url}/query/sql"))
        .send_string(&json!({ "sql": format!("SELECT COUNT(*) FROM {name}") }).to_string())
        .unwrap()
        .into_string()
        .unwrap();
    let answer: Value = serde_json::from_str(&answer).unwrap();
    answer["resultTable"]["rows"][0][0]
        .as_u64()
        .unwrap_or_else(|| panic!("{answer}")) as usize
}

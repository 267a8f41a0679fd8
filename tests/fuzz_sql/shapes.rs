//! Cases outside the grammar: statements nested or chained to just under,
//! at and just over the server's documented bounds (500 levels of nesting,
//! 10,000 AND/OR conditions, 100,000 IN items), huge literals and
//! identifiers; request bodies that are not Pinot's request; and GETs on
//! the controller's table, schema and segment paths with odd names.

use serde_json::json;

use super::exprs::quote;
use super::{vocab, Case, Dice, Endpoint, Payload};

/// Nesting depths around the 500-level bound.
const DEPTHS: &[usize] = &[10, 100, 250, 498, 499, 500, 501, 502, 750, 2000];
/// AND/OR chain lengths around the 10,000-condition bound.
const TERMS: &[usize] = &[100, 1000, 9_998, 9_999, 10_000, 10_001, 15_000];
/// IN list lengths around the 100,000-item bound.
const ITEMS: &[usize] = &[1000, 99_999, 100_000, 100_001];

const FROM: &str = "FROM stock_transactions";

/// A statement at the edge of one of the bounds.
pub fn shape(dice: &mut Dice) -> Case {
    let depth = dice.pick(DEPTHS);
    let sql = match dice.below(16) {
        0 => format!(
            "SELECT {}price{} {FROM}",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
        1 => format!("SELECT price{} {FROM} LIMIT 1", " + 1".repeat(depth)),
        2 => format!(
            "SELECT {}price{} {FROM}",
            "abs(".repeat(depth),
            ")".repeat(depth)
        ),
        3 => format!(
            "SELECT COUNT(*) {FROM} WHERE {}price > 100",
            "NOT ".repeat(depth)
        ),
        4 => format!(
            "SELECT {}1{} {FROM}",
            "CASE WHEN price > 1 THEN ".repeat(depth),
            " END".repeat(depth)
        ),
        5 => {
            let terms = dice.pick(TERMS);
            let mut parts = Vec::with_capacity(terms);
            for index in 0..terms {
                parts.push(match index % 3 {
                    0 => format!("price > {index}"),
                    1 => format!("symbol = 'S{index:04}'"),
                    _ => format!("shares = {index}"),
                });
            }
            let op = if dice.chance(0.7) { " OR " } else { " AND " };
            format!("SELECT COUNT(*) {FROM} WHERE {}", parts.join(op))
        }
        6 => {
            let terms = dice.pick(TERMS);
            let parts: Vec<String> = (0..terms).map(|i| format!("user_id = {i}")).collect();
            format!("SELECT COUNT(*) {FROM} WHERE {}", parts.join(" OR "))
        }
        7 => {
            let items = dice.pick(ITEMS);
            let list: Vec<String> = if dice.chance(0.5) {
                (0..items).map(|i| i.to_string()).collect()
            } else {
                (0..items).map(|i| format!("'S{i:04}'")).collect()
            };
            let column = if list[0].starts_with('\'') {
                "symbol"
            } else {
                "user_id"
            };
            format!(
                "SELECT COUNT(*) {FROM} WHERE {column} IN ({})",
                list.join(",")
            )
        }
        8 => {
            let depth = depth.min(600);
            format!(
                "SET useMultistageEngine=true; SELECT COUNT(*) FROM {}stock_transactions{}",
                "(SELECT * FROM ".repeat(depth),
                ") t".repeat(depth)
            )
        }
        9 => {
            let unions = vec!["SELECT 1 AS x"; depth.min(600)];
            format!(
                "SET useMultistageEngine=true; {}",
                unions.join(" UNION ALL ")
            )
        }
        10 => format!(
            "SELECT '{}' {FROM} LIMIT 1",
            "x".repeat(dice.pick(&[10_000, 1 << 20]))
        ),
        11 => format!("SELECT {} {FROM}", "a".repeat(dice.pick(&[256, 100_000]))),
        12 => {
            let items = vec!["price"; dice.pick(&[100, 5000])];
            format!("SELECT {} {FROM} LIMIT 1", items.join(", "))
        }
        13 => format!("SELECT CAST(price AS INT{}) {FROM}", "[]".repeat(depth)),
        14 => format!("SELECT {} {FROM}", "(".repeat(depth * 20)),
        _ => format!(
            "SELECT COUNT(*) {FROM} WHERE {}symbol = 'S0001'{}",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
    };
    let endpoint = if dice.chance(0.2) {
        Endpoint::PostQuery
    } else {
        Endpoint::PostSql
    };
    Case::sql("shape", endpoint, sql)
}

/// A request body that is not quite Pinot's `{"sql": ..., "queryOptions": ...}`.
pub fn body(dice: &mut Dice) -> Case {
    let sql = "SELECT COUNT(*) FROM stock_transactions";
    let bytes: Vec<u8> = match dice.below(16) {
        0 => Vec::new(),
        1 => b"{".to_vec(),
        2 => b"[]".to_vec(),
        3 => b"\"SELECT 1\"".to_vec(),
        4 => json!({ "sql": 1 }).to_string().into_bytes(),
        5 => json!({ "sql": null }).to_string().into_bytes(),
        6 => json!({ "sql": [sql] }).to_string().into_bytes(),
        7 => json!({ "SQL": sql }).to_string().into_bytes(),
        8 => json!({ "sql": sql, "queryOptions": 5 })
            .to_string()
            .into_bytes(),
        9 => json!({ "sql": sql, "queryOptions": {"timeoutMs": {"a": [1]}} })
            .to_string()
            .into_bytes(),
        10 => {
            let depth = dice.pick(&[100, 127, 128, 129, 10_000]);
            format!(
                "{{\"sql\": \"{sql}\", \"x\": {}1{}}}",
                "[".repeat(depth),
                "]".repeat(depth)
            )
            .into_bytes()
        }
        11 => {
            let mut bytes = b"{\"sql\": \"SELECT ".to_vec();
            for _ in 0..1 + dice.below(8) {
                bytes.push(dice.byte());
            }
            bytes.extend_from_slice(b" FROM stock_transactions\"}");
            bytes
        }
        12 => {
            let mut bytes = "\u{feff}".as_bytes().to_vec();
            bytes.extend(json!({ "sql": sql }).to_string().into_bytes());
            bytes
        }
        13 => format!("{{\"sql\": \"{sql}\", \"sql\": \"SELECT nope FROM x\"}}").into_bytes(),
        14 => {
            let mut text = json!({ "sql": sql, "trace": true })
                .to_string()
                .into_bytes();
            let cut = dice.below(text.len());
            text.truncate(cut);
            text
        }
        _ => json!({ "sql": "SELECT \\u0000 FROM stock_transactions\u{0}" })
            .to_string()
            .into_bytes(),
    };
    let endpoint = if dice.chance(0.7) {
        Endpoint::PostSql
    } else {
        Endpoint::PostQuery
    };
    Case {
        kind: "body",
        endpoint,
        payload: Payload::Raw(bytes),
    }
}

/// A GET on a read-only controller path, with a table name that may not be one.
pub fn controller(dice: &mut Dice) -> Case {
    let name = match dice.below(4) {
        0 => dice.pick(vocab::TABLES).to_string(),
        1 => dice.pick(vocab::BAD_TABLES).to_string(),
        2 => format!("{}_OFFLINE", dice.pick(vocab::TABLES)),
        _ => (0..1 + dice.below(12)).map(|_| dice.char()).collect(),
    };
    let name = encode(&name);
    let path = match dice.below(10) {
        0 => format!("/tables/{name}"),
        1 => format!("/schemas/{name}"),
        2 => format!("/segments/{name}"),
        3 => format!("/tables/{name}/metadata"),
        4 => format!("/tables/{name}/ingestionStatus"),
        5 => format!("/tables/{name}/consumingSegmentsInfo"),
        6 => format!("/tables/{name}/pauseStatus"),
        7 => format!("/segments/{name}/{name}_0/metadata"),
        8 => format!(
            "/query/sql?sql={}",
            encode(&format!("SELECT * FROM {name}"))
        ),
        _ => format!(
            "/query/sql?sql={}&queryOptions={}",
            encode("SELECT COUNT(*) FROM stock_transactions"),
            encode(&quote(dice.pick(vocab::OPTION_VALUES)))
        ),
    };
    Case {
        kind: "controller",
        endpoint: Endpoint::Controller,
        payload: Payload::Path(path),
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

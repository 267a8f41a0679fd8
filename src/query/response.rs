//! Pinot's broker response JSON (`BrokerResponseNative`), field for field
//! in Pinot's order.

use serde::Serialize;
use serde_json::Value as Json;

use super::broker::ServerResponse;
use super::error::QueryError;
use crate::expr::value::{ColumnType, Value};

/// Result columns and rows.
#[derive(Debug, Clone)]
pub struct ResultTable {
    pub columns: Vec<(String, ColumnType)>,
    pub rows: Vec<Vec<Value>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSchema {
    pub column_names: Vec<String>,
    pub column_data_types: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct JsonTable {
    #[serde(rename = "dataSchema")]
    pub data_schema: DataSchema,
    pub rows: Vec<Vec<Json>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exception {
    pub error_code: i32,
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_table: Option<JsonTable>,
    pub num_rows_result_set: u64,
    pub partial_result: bool,
    pub exceptions: Vec<Exception>,
    pub num_groups_limit_reached: bool,
    pub time_used_ms: u64,
    pub num_docs_scanned: u64,
    pub total_docs: u64,
    pub num_entries_scanned_in_filter: u64,
    pub num_entries_scanned_post_filter: u64,
    pub num_servers_queried: u64,
    pub num_servers_responded: u64,
    pub num_segments_queried: u64,
    pub num_segments_processed: u64,
    pub num_segments_matched: u64,
    pub num_consuming_segments_queried: u64,
    pub min_consuming_freshness_time_ms: i64,
    pub segment_statistics: Vec<Json>,
    pub trace_info: serde_json::Map<String, Json>,
}

impl BrokerResponse {
    fn empty() -> BrokerResponse {
        BrokerResponse {
            result_table: None,
            num_rows_result_set: 0,
            partial_result: false,
            exceptions: Vec::new(),
            num_groups_limit_reached: false,
            time_used_ms: 0,
            num_docs_scanned: 0,
            total_docs: 0,
            num_entries_scanned_in_filter: 0,
            num_entries_scanned_post_filter: 0,
            num_servers_queried: 0,
            num_servers_responded: 0,
            num_segments_queried: 0,
            num_segments_processed: 0,
            num_segments_matched: 0,
            num_consuming_segments_queried: 0,
            min_consuming_freshness_time_ms: 0,
            segment_statistics: Vec::new(),
            trace_info: serde_json::Map::new(),
        }
    }

    pub fn error(error: &QueryError) -> BrokerResponse {
        let mut response = BrokerResponse::empty();
        response.exceptions.push(Exception {
            error_code: error.code,
            message: error.message.clone(),
        });
        response
    }

    fn table(table: &ResultTable) -> JsonTable {
        JsonTable {
            data_schema: DataSchema {
                column_names: table.columns.iter().map(|(name, _)| name.clone()).collect(),
                column_data_types: table.columns.iter().map(|(_, ty)| ty.name()).collect(),
            },
            rows: table
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .zip(&table.columns)
                        .map(|(value, (_, ty))| value.to_json(*ty))
                        .collect()
                })
                .collect(),
        }
    }

    pub fn success(table: ResultTable, stats: &ServerResponse, servers: u64) -> BrokerResponse {
        let mut response = BrokerResponse::empty();
        response.num_rows_result_set = table.rows.len() as u64;
        response.result_table = Some(BrokerResponse::table(&table));
        response.num_groups_limit_reached = stats.groups_limit_reached;
        response.num_docs_scanned = stats.docs_scanned;
        response.total_docs = stats.total_docs;
        response.num_entries_scanned_in_filter = stats.entries_in_filter;
        response.num_entries_scanned_post_filter = stats.entries_post_filter;
        response.num_servers_queried = servers;
        response.num_servers_responded = servers;
        response.num_segments_queried = stats.segments_queried;
        response.num_segments_processed = stats.segments_processed;
        response.num_segments_matched = stats.segments_matched;
        response.num_consuming_segments_queried = stats.consuming_queried;
        response.min_consuming_freshness_time_ms = stats.min_consuming_freshness_ms.unwrap_or(0);
        response
    }

    /// A multi-stage result (DataFusion keeps no per-segment statistics).
    pub fn multistage(table: ResultTable, servers: u64) -> BrokerResponse {
        let mut response = BrokerResponse::empty();
        response.num_rows_result_set = table.rows.len() as u64;
        response.result_table = Some(BrokerResponse::table(&table));
        response.num_servers_queried = servers;
        response.num_servers_responded = servers;
        response
    }

    pub fn explain(table: &ResultTable) -> BrokerResponse {
        let mut response = BrokerResponse::empty();
        response.num_rows_result_set = table.rows.len() as u64;
        response.result_table = Some(BrokerResponse::table(table));
        response
    }
}

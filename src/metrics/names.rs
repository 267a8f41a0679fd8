//! The name, labels and help text of every metric `GET /metrics` shows.
//! Counter names are given without `_total`: the encoder adds it to the
//! samples. The comment above each group names its labels.

/// A metric's name and help text.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    pub name: &'static str,
    pub help: &'static str,
}

const fn def(name: &'static str, help: &'static str) -> Def {
    Def { name, help }
}

// Queries, recorded by the broker endpoints. Labels: engine.
pub const QUERIES: Def = def(
    "gamay_queries",
    "Queries answered, by engine (single-stage, multi-stage), failed ones included",
);
pub const QUERY_SECONDS: Def = def(
    "gamay_query_duration_seconds",
    "Time from receiving a query to its response being ready, by engine",
);
// Labels: code (Pinot's query error code, e.g. 150 SQL parsing, 190 table missing).
pub const QUERY_ERRORS: Def = def(
    "gamay_query_errors",
    "Queries that failed, by Pinot error code",
);
pub const QUERIES_RUNNING: Def = def(
    "gamay_queries_running",
    "Queries with work in flight on any core, including stopped ones still winding down",
);
// Labels: lane (interactive: single-table queries; background: multi-stage and secondary).
pub const QUERIES_QUEUED: Def = def(
    "gamay_queries_queued",
    "Queries waiting for a slot of their lane",
);

// The server's result cache (query::result_cache). No labels.
pub const RESULT_CACHE_HITS: Def = def(
    "gamay_result_cache_hits",
    "Sealed segments whose answer to a query came from the result cache",
);
pub const RESULT_CACHE_MISSES: Def = def(
    "gamay_result_cache_misses",
    "Sealed segments a query ran because the result cache held no answer",
);
pub const RESULT_CACHE_ENTRIES: Def = def(
    "gamay_result_cache_entries",
    "Answers the result cache holds",
);
pub const RESULT_CACHE_BYTES: Def = def(
    "gamay_result_cache_bytes",
    "Bytes the result cache's answers take, estimated (at most --result-cache-bytes)",
);

// Ingestion from Kafka, per REALTIME table and partition. Labels: table, partition.
pub const INGEST_ROWS: Def = def(
    "gamay_ingest_rows",
    "Rows consumed from the partition since the server started; rate() of it is rows/s",
);
pub const INGEST_LAG: Def = def(
    "gamay_ingest_lag_messages",
    "Messages in the partition not consumed yet (high watermark minus next offset)",
);
pub const INGEST_ERRORS: Def = def(
    "gamay_ingest_errors",
    "Consumer errors on the partition: broker retries, offsets lost to retention, a stop",
);
// Labels: table, partition, reason (INVALID_JSON, SCHEMA_VIOLATION, ...).
pub const INGEST_BAD_MESSAGES: Def = def(
    "gamay_ingest_bad_messages",
    "Messages skipped because they could not become rows, by reason",
);
pub const INGEST_LOST_OFFSETS: Def = def(
    "gamay_ingest_lost_offsets",
    "Offsets removed by the broker's retention before they were consumed",
);
pub const INGEST_CONSUMING: Def = def(
    "gamay_ingest_consuming",
    "1 while the partition's consumer is consuming, 0 while it starts, is paused, retries or stopped",
);
pub const INGEST_LAST_CONSUMED: Def = def(
    "gamay_ingest_last_consumed_timestamp_seconds",
    "When the partition's last message was consumed (Unix time)",
);

// Tables. Labels: table.
pub const TABLE_SEGMENTS: Def = def(
    "gamay_table_segments",
    "Segments of the table; label state is sealed or consuming",
);
pub const TABLE_ROWS: Def = def(
    "gamay_table_rows",
    "Rows queries see in the table; label state is sealed or consuming",
);
pub const TABLE_BYTES: Def = def(
    "gamay_table_bytes",
    "Bytes of the table's sealed segment files",
);
// Upsert and dedup tables. Labels: table.
pub const UPSERT_KEYS: Def = def(
    "gamay_upsert_primary_keys",
    "Primary keys in the upsert or dedup table's key maps",
);
pub const UPSERT_KEY_MAP_BYTES: Def = def(
    "gamay_upsert_key_map_bytes",
    "Bytes of the upsert or dedup table's key maps (memory-mapped, off the heap)",
);

// Connectors. Labels: connector, type (s3, jdbc).
pub const CONNECTOR_ROWS: Def = def(
    "gamay_connector_rows",
    "Rows the connector has written (deletes included)",
);
pub const CONNECTOR_FILES: Def = def(
    "gamay_connector_files",
    "Objects the S3 connector has written",
);
pub const CONNECTOR_BYTES: Def = def(
    "gamay_connector_bytes",
    "Bytes the S3 connector has written",
);
pub const CONNECTOR_LAG_ROWS: Def = def(
    "gamay_connector_lag_rows",
    "Rows in sealed segments the connector has not exported yet",
);
pub const CONNECTOR_LAG_SEGMENTS: Def = def(
    "gamay_connector_lag_segments",
    "Sealed segments the connector has not exported yet",
);
pub const CONNECTOR_FAILURES: Def = def(
    "gamay_connector_failures_in_a_row",
    "Attempts that failed since the connector's last success (0 when healthy)",
);
pub const CONNECTOR_MISSED_SEGMENTS: Def = def(
    "gamay_connector_missed_segments",
    "Segments removed (retention, deletes) before the connector exported them",
);
// Labels: connector, type, state (RUNNING, PAUSED, FAILED).
pub const CONNECTOR_STATE: Def = def(
    "gamay_connector_state",
    "1 for the connector's state as GET /connectors/{name}/status reports it",
);

// A cluster node (`gamay serve --metastore`). Labels: role (controller, broker, server).
pub const NODE_ROLE: Def = def("gamay_cluster_node_role", "1 for each role this node runs");
// Servers. Labels: table.
pub const SEGMENTS_HELD: Def = def(
    "gamay_cluster_segments_held",
    "Segments of the table this server holds, as it last reported them",
);
pub const SEGMENTS_LOADING: Def = def(
    "gamay_cluster_segments_loading",
    "Segments of the table placed on this server and not loaded yet",
);
// The deep store, on every node.
pub const DOWNLOADS: Def = def(
    "gamay_deep_store_downloads",
    "Segment files downloaded from the deep store",
);
pub const DOWNLOAD_BYTES: Def = def(
    "gamay_deep_store_download_bytes",
    "Bytes of segment files downloaded from the deep store",
);
pub const DOWNLOAD_FAILURES: Def = def(
    "gamay_deep_store_download_failures",
    "Segment downloads (or loads of a downloaded file) that failed",
);
pub const UPLOADS: Def = def(
    "gamay_deep_store_uploads",
    "Segment files uploaded to the deep store",
);
pub const UPLOAD_BYTES: Def = def(
    "gamay_deep_store_upload_bytes",
    "Bytes of segment files uploaded to the deep store",
);
pub const UPLOAD_FAILURES: Def = def(
    "gamay_deep_store_upload_failures",
    "Segment publications (upload or record) that failed",
);
// Brokers.
pub const SCATTERED: Def = def(
    "gamay_broker_queries_scattered",
    "Queries this broker scattered to servers",
);
pub const SERVERS_PER_QUERY: Def = def(
    "gamay_broker_servers_queried",
    "Servers asked per scattered query, retries included",
);
pub const RETRIES: Def = def(
    "gamay_broker_retries",
    "Segment shares asked of another replica after a server failed or lacked them",
);
pub const SEGMENTS_MISSING: Def = def(
    "gamay_broker_segments_missing",
    "Segments no replica served, reported in a query's exceptions",
);
// Labels: server (its id).
pub const SERVER_REQUEST_SECONDS: Def = def(
    "gamay_broker_server_request_duration_seconds",
    "Time from sending a server its share of a query to its answer (failures included)",
);
// The lead controller.
pub const LEADER: Def = def(
    "gamay_controller_leader",
    "1 while this controller leads, 0 otherwise",
);
pub const SEGMENT_MOVES: Def = def(
    "gamay_controller_segment_assignment_changes",
    "Segment assignments the lead controller changed (each phase of a move counts)",
);

// The process, from /proc/self/status.
pub const PROCESS_RESIDENT: Def = def(
    "process_resident_memory_bytes",
    "Resident memory of the gamay process",
);
pub const PROCESS_PEAK_RESIDENT: Def = def(
    "gamay_process_peak_resident_memory_bytes",
    "Highest resident memory of the gamay process since it started",
);
pub const PROCESS_VIRTUAL: Def = def(
    "process_virtual_memory_bytes",
    "Virtual memory of the gamay process",
);
pub const PROCESS_THREADS: Def = def("process_threads", "Threads of the gamay process");

/// Every definition, for checks that names are unique and well formed.
pub const ALL: [Def; 49] = [
    QUERIES,
    QUERY_SECONDS,
    QUERY_ERRORS,
    QUERIES_RUNNING,
    QUERIES_QUEUED,
    RESULT_CACHE_HITS,
    RESULT_CACHE_MISSES,
    RESULT_CACHE_ENTRIES,
    RESULT_CACHE_BYTES,
    INGEST_ROWS,
    INGEST_LAG,
    INGEST_ERRORS,
    INGEST_BAD_MESSAGES,
    INGEST_LOST_OFFSETS,
    INGEST_CONSUMING,
    INGEST_LAST_CONSUMED,
    TABLE_SEGMENTS,
    TABLE_ROWS,
    TABLE_BYTES,
    UPSERT_KEYS,
    UPSERT_KEY_MAP_BYTES,
    CONNECTOR_ROWS,
    CONNECTOR_FILES,
    CONNECTOR_BYTES,
    CONNECTOR_LAG_ROWS,
    CONNECTOR_LAG_SEGMENTS,
    CONNECTOR_FAILURES,
    CONNECTOR_MISSED_SEGMENTS,
    CONNECTOR_STATE,
    PROCESS_RESIDENT,
    PROCESS_PEAK_RESIDENT,
    PROCESS_VIRTUAL,
    PROCESS_THREADS,
    NODE_ROLE,
    SEGMENTS_HELD,
    SEGMENTS_LOADING,
    DOWNLOADS,
    DOWNLOAD_BYTES,
    DOWNLOAD_FAILURES,
    UPLOADS,
    UPLOAD_BYTES,
    UPLOAD_FAILURES,
    SCATTERED,
    SERVERS_PER_QUERY,
    RETRIES,
    SEGMENTS_MISSING,
    SERVER_REQUEST_SECONDS,
    LEADER,
    SEGMENT_MOVES,
];

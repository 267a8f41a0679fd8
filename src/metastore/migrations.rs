//! The metastore's schema, as versioned steps. Gamay applies the steps a
//! database lacks when it connects, in one transaction under an advisory
//! lock (so nodes starting together apply each step once), and records
//! the version reached in `gamay_metastore_version`. A database at a newer
//! version than this build knows is refused rather than written to.

/// Step `i` takes the schema from version `i` to `i + 1`.
pub const STEPS: &[&str] = &[
    // 1: segment records, checkpoints and partition leases.
    "CREATE TABLE gamay_segments (
        table_name    TEXT NOT NULL,
        segment_name  TEXT NOT NULL,
        partition_id  INTEGER,
        start_offset  BIGINT,
        end_offset    BIGINT,
        start_time_ms BIGINT,
        end_time_ms   BIGINT,
        num_rows      BIGINT NOT NULL,
        size_bytes    BIGINT NOT NULL,
        crc           BIGINT NOT NULL,
        uri           TEXT NOT NULL,
        state         TEXT NOT NULL,
        created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (table_name, segment_name)
    );
    CREATE TABLE gamay_checkpoints (
        table_name   TEXT NOT NULL,
        partition_id INTEGER NOT NULL,
        next_offset  BIGINT NOT NULL,
        PRIMARY KEY (table_name, partition_id)
    );
    CREATE TABLE gamay_leases (
        table_name   TEXT NOT NULL,
        partition_id INTEGER NOT NULL,
        owner        TEXT NOT NULL,
        epoch        BIGINT NOT NULL,
        expires_at   TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (table_name, partition_id)
    );",
    // 2: live nodes and which servers hold which sealed segments.
    "CREATE TABLE gamay_servers (
        server_id    TEXT PRIMARY KEY,
        url          TEXT NOT NULL,
        roles        TEXT NOT NULL,
        started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE gamay_assignments (
        table_name   TEXT NOT NULL,
        segment_name TEXT NOT NULL,
        server_id    TEXT NOT NULL,
        PRIMARY KEY (table_name, segment_name, server_id),
        FOREIGN KEY (table_name, segment_name)
            REFERENCES gamay_segments (table_name, segment_name) ON DELETE CASCADE
    );",
    // 3: the catalog, connectors, and each lease's length (so a lease read
    // back is the lease as granted; one granted before this step reads
    // back as zero-length until its holder renews it).
    "CREATE TABLE gamay_catalog (
        kind       TEXT NOT NULL CHECK (kind IN ('schema', 'table')),
        name       TEXT NOT NULL,
        json       TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, name)
    );
    CREATE TABLE gamay_connectors (
        name       TEXT PRIMARY KEY,
        config     TEXT NOT NULL,
        state      TEXT,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    ALTER TABLE gamay_leases ADD COLUMN ttl_us BIGINT NOT NULL DEFAULT 0;",
    // 4: the segments each server reports loaded (the external view). No
    // foreign keys: a report outlives neither its server (readers join
    // with live nodes, the leader prunes the dead) nor, for long, its
    // segment's record (the record goes only once no server reports it).
    "CREATE TABLE gamay_loaded (
        server_id    TEXT NOT NULL,
        table_name   TEXT NOT NULL,
        segment_name TEXT NOT NULL,
        PRIMARY KEY (server_id, table_name, segment_name)
    );",
    // 5: which servers consume each stream partition of a REALTIME table.
    "CREATE TABLE gamay_partition_assignments (
        table_name   TEXT NOT NULL,
        partition_id INTEGER NOT NULL,
        server_id    TEXT NOT NULL,
        PRIMARY KEY (table_name, partition_id, server_id)
    );",
    // 6: REALTIME tables' consumption controls (pause, resume, force commit).
    "CREATE TABLE gamay_stream_controls (
        table_name    TEXT PRIMARY KEY,
        paused        BOOLEAN NOT NULL DEFAULT false,
        resume_from   TEXT,
        resumes       BIGINT NOT NULL DEFAULT 0,
        force_commits BIGINT NOT NULL DEFAULT 0,
        force_commit_job TEXT,
        updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
    );",
];

/// The version this build migrates to.
pub fn latest() -> i32 {
    STEPS.len() as i32
}

/// The advisory lock key migrations hold (`gamay` in ASCII).
pub const LOCK_KEY: i64 = 0x67_61_6d_61_79;

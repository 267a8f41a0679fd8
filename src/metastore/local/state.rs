//! The local metastore's state and the rules it keeps, the same as the
//! PostgreSQL implementation's statements keep: every method either
//! changes what it says or fails having changed nothing (the caller works
//! on a copy for changes that reach the file). Time is a monotonic
//! `Instant` passed in by the caller.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::metastore::{
    check_unordered, commit_position, skip_position, CatalogEntry, CatalogKind, Commit,
    ConnectorRecord, Error, Lease, Loaded, Node, PartitionRouting, Result, Routing, SegmentRecord,
    SegmentState, StreamControl,
};

/// A partition's lease as granted: the file keeps all but its expiry.
#[derive(Debug, Clone)]
pub(super) struct Held {
    pub owner: String,
    pub epoch: i64,
    pub ttl: Duration,
    pub expires_at: Instant,
}

/// Everything the local metastore holds. Nodes and lease expiry live in
/// memory only: after a restart no node is alive until it beats again, and
/// every lease is expired (its epoch kept, so the next grant fences it).
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    pub catalog: BTreeMap<(CatalogKind, String), String>,
    /// By table and segment name.
    pub segments: BTreeMap<(String, String), SegmentRecord>,
    pub checkpoints: BTreeMap<(String, i32), i64>,
    pub leases: BTreeMap<(String, i32), Held>,
    /// By table and segment name; never an empty set.
    pub assignments: BTreeMap<(String, String), BTreeSet<String>>,
    /// (table, partition) → the servers consuming it.
    pub partition_assignments: BTreeMap<(String, i32), BTreeSet<String>>,
    /// By name: the config and the state.
    pub connectors: BTreeMap<String, (String, Option<String>)>,
    /// By table: its consumption controls.
    pub stream_controls: BTreeMap<String, StreamControl>,
    /// By id: the node and its last heartbeat.
    pub nodes: BTreeMap<String, (Node, Instant)>,
    /// Server → table → the segments it reports loaded; never an empty
    /// set. In memory only: servers report again when they start.
    pub loaded: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

fn key(table: &str, name: &str) -> (String, String) {
    (table.to_string(), name.to_string())
}

impl State {
    // ---- the catalog ----

    pub fn catalog(&self) -> Vec<CatalogEntry> {
        self.catalog
            .iter()
            .map(|((kind, name), json)| CatalogEntry {
                kind: *kind,
                name: name.clone(),
                json: json.clone(),
            })
            .collect()
    }

    pub fn put_catalog(&mut self, entry: &CatalogEntry) {
        self.catalog
            .insert((entry.kind, entry.name.clone()), entry.json.clone());
    }

    pub fn remove_catalog(&mut self, kind: CatalogKind, name: &str) -> bool {
        self.catalog.remove(&(kind, name.to_string())).is_some()
    }

    // ---- segments and checkpoints ----

    fn insert(&mut self, record: &SegmentRecord) -> Result<()> {
        let at = key(&record.table, &record.segment);
        if self.segments.contains_key(&at) {
            return Err(Error::Duplicate {
                table: record.table.clone(),
                segment: record.segment.clone(),
            });
        }
        self.segments.insert(at, record.clone());
        Ok(())
    }

    pub fn record_segment(&mut self, record: &SegmentRecord) -> Result<()> {
        check_unordered(record)?;
        self.insert(record)
    }

    /// The checks in the order the PostgreSQL commit makes them: the
    /// record, the lease, the checkpoint, the name.
    pub fn commit_segment(&mut self, lease: &Lease, record: &SegmentRecord) -> Result<Commit> {
        let (partition, start, end) = commit_position(lease, record)?;
        let held = self
            .leases
            .get(&(lease.table.clone(), lease.partition))
            .is_some_and(|held| held.owner == lease.owner && held.epoch == lease.epoch);
        if !held {
            return Ok(Commit::Fenced);
        }
        let at = (record.table.clone(), partition);
        if let Some(&checkpoint) = self.checkpoints.get(&at) {
            if checkpoint != start {
                return Err(Error::OutOfOrder {
                    table: record.table.clone(),
                    segment: record.segment.clone(),
                    partition,
                    start,
                    checkpoint,
                });
            }
        }
        self.insert(record)?;
        self.checkpoints.insert(at, end);
        Ok(Commit::Committed)
    }

    /// Whether `lease` is still its partition's grant at its epoch.
    pub fn holds(&self, lease: &Lease) -> bool {
        self.leases
            .get(&(lease.table.clone(), lease.partition))
            .is_some_and(|held| held.owner == lease.owner && held.epoch == lease.epoch)
    }

    pub fn skip_offsets(&mut self, lease: &Lease, from: i64, to: i64) -> Result<Commit> {
        let at = (lease.table.clone(), lease.partition);
        if !self.holds(lease) {
            return Ok(Commit::Fenced);
        }
        let checkpoint = self.checkpoints.get(&at).copied();
        if let Some(next) = skip_position(lease, checkpoint, from, to)? {
            self.checkpoints.insert(at, next);
        }
        Ok(Commit::Committed)
    }

    pub fn set_segment_state(&mut self, table: &str, segment: &str, state: SegmentState) -> bool {
        match self.segments.get_mut(&key(table, segment)) {
            Some(record) => {
                record.state = state;
                true
            }
            None => false,
        }
    }

    pub fn remove_segment(&mut self, table: &str, segment: &str) -> bool {
        let at = key(table, segment);
        self.assignments.remove(&at);
        self.segments.remove(&at).is_some()
    }

    pub fn segments(&self, table: &str) -> Vec<SegmentRecord> {
        self.segments
            .range(key(table, "")..)
            .take_while(|((of, _), _)| of == table)
            .map(|(_, record)| record.clone())
            .collect()
    }

    pub fn checkpoints(&self, table: &str) -> BTreeMap<i32, i64> {
        self.checkpoints
            .range((table.to_string(), i32::MIN)..)
            .take_while(|((of, _), _)| of == table)
            .map(|((_, partition), offset)| (*partition, *offset))
            .collect()
    }

    // ---- partition leases ----

    pub fn acquire_lease(
        &mut self,
        table: &str,
        partition: i32,
        owner: &str,
        ttl: Duration,
        now: Instant,
    ) -> Option<Lease> {
        let at = (table.to_string(), partition);
        let epoch = match self.leases.get(&at) {
            None => 1,
            Some(held) if held.expires_at <= now || held.owner == owner => held.epoch + 1,
            Some(_) => return None,
        };
        self.leases.insert(
            at,
            Held {
                owner: owner.to_string(),
                epoch,
                ttl,
                expires_at: now + ttl,
            },
        );
        Some(Lease {
            table: table.to_string(),
            partition,
            owner: owner.to_string(),
            epoch,
            ttl,
        })
    }

    fn held_mut(&mut self, lease: &Lease) -> Option<&mut Held> {
        self.leases
            .get_mut(&(lease.table.clone(), lease.partition))
            .filter(|held| held.owner == lease.owner && held.epoch == lease.epoch)
    }

    pub fn renew_lease(&mut self, lease: &Lease, now: Instant) -> bool {
        match self.held_mut(lease) {
            Some(held) => {
                held.ttl = lease.ttl;
                held.expires_at = now + lease.ttl;
                true
            }
            None => false,
        }
    }

    pub fn release_lease(&mut self, lease: &Lease, now: Instant) -> bool {
        match self.held_mut(lease) {
            Some(held) if held.expires_at > now => {
                held.expires_at = now;
                true
            }
            _ => false,
        }
    }

    pub fn leases(&self, table: &str, now: Instant) -> Vec<Lease> {
        self.leases
            .range((table.to_string(), i32::MIN)..)
            .take_while(|((of, _), _)| of == table)
            .filter(|(_, held)| held.expires_at > now)
            .map(|((table, partition), held)| Lease {
                table: table.clone(),
                partition: *partition,
                owner: held.owner.clone(),
                epoch: held.epoch,
                ttl: held.ttl,
            })
            .collect()
    }

    // ---- nodes and assignments ----

    /// Whether the node is new or changed its address or roles.
    pub fn heartbeat(&mut self, node: &Node, now: Instant) -> bool {
        let changed = self
            .nodes
            .get(&node.id)
            .is_none_or(|(known, _)| known != node);
        self.nodes.insert(node.id.clone(), (node.clone(), now));
        changed
    }

    pub fn live_nodes(&self, timeout: Duration, now: Instant) -> Vec<Node> {
        self.nodes
            .values()
            .filter(|(_, beat)| now.duration_since(*beat) < timeout)
            .map(|(node, _)| node.clone())
            .collect()
    }

    pub fn leave(&mut self, id: &str) -> bool {
        self.nodes.remove(id).is_some()
    }

    pub fn assign(&mut self, table: &str, segment: &str, servers: &[String]) -> Result<()> {
        let at = key(table, segment);
        if !self.segments.contains_key(&at) {
            return Err(Error::Unrecorded {
                table: table.to_string(),
                segment: segment.to_string(),
            });
        }
        let holders: BTreeSet<String> = servers.iter().cloned().collect();
        if holders.is_empty() {
            self.assignments.remove(&at);
        } else {
            self.assignments.insert(at, holders);
        }
        Ok(())
    }

    pub fn routing(&self) -> Routing {
        let mut out = Routing::new();
        for ((table, segment), holders) in &self.assignments {
            out.entry(table.clone())
                .or_default()
                .insert(segment.clone(), holders.iter().cloned().collect());
        }
        out
    }

    /// Replaces `table`'s partition assignment; whether anything changed.
    pub fn assign_partitions(
        &mut self,
        table: &str,
        partitions: &BTreeMap<i32, Vec<String>>,
    ) -> bool {
        let mut next: BTreeMap<(String, i32), BTreeSet<String>> = BTreeMap::new();
        for (partition, servers) in partitions {
            let servers: BTreeSet<String> = servers.iter().cloned().collect();
            if !servers.is_empty() {
                next.insert((table.to_string(), *partition), servers);
            }
        }
        let before: BTreeMap<(String, i32), BTreeSet<String>> = self
            .partition_assignments
            .iter()
            .filter(|((held, _), _)| held == table)
            .map(|(at, servers)| (at.clone(), servers.clone()))
            .collect();
        if before == next {
            return false;
        }
        self.partition_assignments
            .retain(|(held, _), _| held != table);
        self.partition_assignments.extend(next);
        true
    }

    pub fn partition_assignments(&self) -> PartitionRouting {
        let mut out = PartitionRouting::new();
        for ((table, partition), servers) in &self.partition_assignments {
            out.entry(table.clone())
                .or_default()
                .insert(*partition, servers.iter().cloned().collect());
        }
        out
    }

    // ---- what servers really hold ----

    /// Whether anything changed.
    pub fn report_loaded(
        &mut self,
        server: &str,
        table: &str,
        loaded: &[String],
        dropped: &[String],
    ) -> bool {
        let tables = self.loaded.entry(server.to_string()).or_default();
        let held = tables.entry(table.to_string()).or_default();
        let mut changed = false;
        for segment in loaded {
            changed |= held.insert(segment.clone());
        }
        for segment in dropped {
            changed |= held.remove(segment);
        }
        if held.is_empty() {
            tables.remove(table);
        }
        if tables.is_empty() {
            self.loaded.remove(server);
        }
        changed
    }

    /// Whether anything changed.
    pub fn replace_loaded(&mut self, server: &str, held: &Loaded) -> bool {
        let mut next: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (table, segments) in held {
            if !segments.is_empty() {
                next.insert(table.clone(), segments.iter().cloned().collect());
            }
        }
        let before = if next.is_empty() {
            self.loaded.remove(server)
        } else {
            self.loaded.insert(server.to_string(), next.clone())
        };
        before.unwrap_or_default() != next
    }

    /// How many reports went.
    pub fn prune_loaded(&mut self, keep: &[String]) -> u64 {
        let mut pruned = 0;
        self.loaded.retain(|server, tables| {
            if keep.contains(server) {
                return true;
            }
            pruned += tables.values().map(|held| held.len() as u64).sum::<u64>();
            false
        });
        pruned
    }

    pub fn external_view(&self, timeout: Duration, now: Instant) -> Routing {
        let mut out = Routing::new();
        for (server, tables) in &self.loaded {
            let live = self
                .nodes
                .get(server)
                .is_some_and(|(_, beat)| now.duration_since(*beat) < timeout);
            if !live {
                continue;
            }
            for (table, segments) in tables {
                let table_view = out.entry(table.clone()).or_default();
                for segment in segments {
                    table_view
                        .entry(segment.clone())
                        .or_default()
                        .push(server.clone());
                }
            }
        }
        // Servers were visited in order, so each list is sorted.
        out
    }

    // ---- connectors ----

    pub fn connectors(&self) -> Vec<ConnectorRecord> {
        self.connectors
            .iter()
            .map(|(name, (config, state))| ConnectorRecord {
                name: name.clone(),
                config: config.clone(),
                state: state.clone(),
            })
            .collect()
    }

    /// Adds a connector or replaces its config, keeping its state.
    pub fn put_connector(&mut self, name: &str, config: &str) {
        let state = self.connectors.remove(name).and_then(|(_, state)| state);
        self.connectors
            .insert(name.to_string(), (config.to_string(), state));
    }

    pub fn remove_connector(&mut self, name: &str) -> bool {
        self.connectors.remove(name).is_some()
    }

    pub fn put_connector_state(&mut self, name: &str, state: &str) -> Result<()> {
        match self.connectors.get_mut(name) {
            Some((_, kept)) => {
                *kept = Some(state.to_string());
                Ok(())
            }
            None => Err(Error::UnknownConnector(name.to_string())),
        }
    }
}

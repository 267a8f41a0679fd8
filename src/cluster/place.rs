//! Where sealed segments live: which servers should hold each one, given
//! who holds it now, which servers are alive, and the table's replication.
//!
//! Placement keeps what it can (a live holder stays a holder, so a server
//! that joins or dies moves only the segments it must), fills each segment
//! up to its replication from the least-loaded servers, then evens the
//! servers' loads out by moving segments from the most loaded to the least
//! loaded until they differ by at most one. Ties are broken by a hash of
//! the segment and server names, so every controller computes the same
//! placement from the same inputs.

use std::collections::{BTreeMap, BTreeSet};

/// Segment → the servers that hold it (or should).
pub type Holders = BTreeMap<String, Vec<String>>;

/// How many segments each server holds, over every table placed so far:
/// tables placed one after another share it, so they spread together.
pub type Load = BTreeMap<String, usize>;

/// The holders every segment of one table should have. `current` is who
/// holds them now (servers no longer alive are ignored), `servers` the
/// live servers, `load` the other tables' placement so far (updated with
/// this table's). A replication above the number of servers places a
/// segment on every server.
pub fn place(
    segments: &[String],
    current: &Holders,
    servers: &[String],
    replication: usize,
    load: &mut Load,
) -> Holders {
    let live: BTreeSet<&str> = servers.iter().map(String::as_str).collect();
    let replication = replication.max(1).min(live.len());
    for server in servers {
        load.entry(server.clone()).or_insert(0);
    }
    let mut out = Holders::new();
    if replication == 0 {
        return out;
    }
    // Keep live holders; drop the most loaded beyond the replication.
    for segment in segments {
        let mut holders: Vec<String> = current
            .get(segment)
            .into_iter()
            .flatten()
            .filter(|server| live.contains(server.as_str()))
            .cloned()
            .collect();
        holders.sort();
        holders.dedup();
        while holders.len() > replication {
            let most = most_loaded(&holders, load, segment);
            holders.retain(|server| server != &most);
        }
        for server in &holders {
            *load.entry(server.clone()).or_insert(0) += 1;
        }
        out.insert(segment.clone(), holders);
    }
    // Fill up to the replication from the least loaded.
    for segment in segments {
        let holders = out.get_mut(segment).expect("every segment was placed");
        while holders.len() < replication {
            let candidates: Vec<String> = servers
                .iter()
                .filter(|server| !holders.contains(server))
                .cloned()
                .collect();
            let Some(least) = least_loaded(&candidates, load, segment) else {
                break;
            };
            *load.entry(least.clone()).or_insert(0) += 1;
            holders.push(least);
        }
    }
    balance(&mut out, servers, load);
    for holders in out.values_mut() {
        holders.sort();
    }
    out
}

/// Moves segments from the most loaded server to the least loaded one (that
/// does not hold them yet) until loads differ by at most one or no move
/// helps.
fn balance(out: &mut Holders, servers: &[String], load: &mut Load) {
    let mut server_names: Vec<&String> = servers.iter().collect();
    server_names.sort();
    loop {
        let Some(max) = server_names
            .iter()
            .max_by_key(|server| {
                (
                    load.get(**server).copied().unwrap_or(0),
                    std::cmp::Reverse(**server),
                )
            })
            .map(|server| (*server).clone())
        else {
            return;
        };
        let Some(min) = server_names
            .iter()
            .min_by_key(|server| (load.get(**server).copied().unwrap_or(0), **server))
            .map(|server| (*server).clone())
        else {
            return;
        };
        let (high, low) = (load[&max], load[&min]);
        if high <= low + 1 {
            return;
        }
        // The segment of this table to move: held by `max`, not by `min`;
        // the same one whichever controller computes it.
        let movable = out
            .iter()
            .filter(|(_, holders)| holders.contains(&max) && !holders.contains(&min))
            .min_by_key(|(segment, _)| spread(segment, &min))
            .map(|(segment, _)| segment.clone());
        let Some(segment) = movable else {
            // This table has nothing to move between the two; the loads of
            // other tables decide the rest.
            return;
        };
        let holders = out.get_mut(&segment).expect("found above");
        holders.retain(|server| server != &max);
        holders.push(min.clone());
        *load.get_mut(&max).expect("counted") -= 1;
        *load.get_mut(&min).expect("counted") += 1;
    }
}

fn least_loaded(candidates: &[String], load: &Load, segment: &str) -> Option<String> {
    candidates
        .iter()
        .min_by_key(|server| {
            (
                load.get(*server).copied().unwrap_or(0),
                spread(segment, server),
            )
        })
        .cloned()
}

fn most_loaded(candidates: &[String], load: &Load, segment: &str) -> String {
    candidates
        .iter()
        .max_by_key(|server| {
            (
                load.get(*server).copied().unwrap_or(0),
                spread(segment, server),
            )
        })
        .cloned()
        .expect("called with holders")
}

/// A stable pseudo-random order of servers per segment, so equal loads do
/// not all pick the same server.
fn spread(segment: &str, server: &str) -> u64 {
    let mut key = Vec::with_capacity(segment.len() + server.len() + 1);
    key.extend_from_slice(segment.as_bytes());
    key.push(0);
    key.extend_from_slice(server.as_bytes());
    xxhash_rust::xxh3::xxh3_64(&key)
}

/// The moves between two placements: for each segment whose holders
/// change, the servers that gain it and those that lose it.
pub fn moves(before: &Holders, after: &Holders) -> Vec<Move> {
    let mut out = Vec::new();
    let segments: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for segment in segments {
        let old: BTreeSet<&String> = before.get(segment).into_iter().flatten().collect();
        let new: BTreeSet<&String> = after.get(segment).into_iter().flatten().collect();
        let gain: Vec<String> = new.difference(&old).map(|s| (*s).clone()).collect();
        let lose: Vec<String> = old.difference(&new).map(|s| (*s).clone()).collect();
        if !gain.is_empty() || !lose.is_empty() {
            out.push(Move {
                segment: segment.clone(),
                gain,
                lose,
            });
        }
    }
    out
}

/// One segment's change of holders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub segment: String,
    pub gain: Vec<String>,
    pub lose: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(prefix: &str, count: usize) -> Vec<String> {
        (0..count).map(|i| format!("{prefix}{i}")).collect()
    }

    fn loads(holders: &Holders, servers: &[String]) -> Vec<usize> {
        servers
            .iter()
            .map(|server| holders.values().filter(|h| h.contains(server)).count())
            .collect()
    }

    #[test]
    fn every_segment_gets_its_replicas_on_distinct_servers() {
        let segments = names("s", 10);
        let servers = names("server-", 3);
        let placed = place(&segments, &Holders::new(), &servers, 2, &mut Load::new());
        for holders in placed.values() {
            assert_eq!(holders.len(), 2);
            assert_ne!(holders[0], holders[1]);
        }
        let per_server = loads(&placed, &servers);
        assert!(per_server.iter().max().unwrap() - per_server.iter().min().unwrap() <= 1);
        assert_eq!(per_server.iter().sum::<usize>(), 20);
    }

    #[test]
    fn a_dead_server_moves_only_its_segments() {
        let segments = names("s", 12);
        let servers = names("server-", 3);
        let before = place(&segments, &Holders::new(), &servers, 2, &mut Load::new());
        let survivors = vec![servers[0].clone(), servers[1].clone()];
        let after = place(&segments, &before, &survivors, 2, &mut Load::new());
        for (segment, holders) in &after {
            assert_eq!(holders, &survivors, "{segment}");
            for kept in before[segment].iter().filter(|s| survivors.contains(s)) {
                assert!(holders.contains(kept), "{segment} lost a live holder");
            }
        }
    }

    #[test]
    fn a_new_server_takes_its_share_and_nothing_else_moves() {
        let segments = names("s", 12);
        let servers = names("server-", 3);
        let before = place(&segments, &Holders::new(), &servers, 1, &mut Load::new());
        let mut grown = servers.clone();
        grown.push("server-3".to_string());
        let after = place(&segments, &before, &grown, 1, &mut Load::new());
        assert_eq!(loads(&after, &grown), vec![3, 3, 3, 3]);
        let changed = moves(&before, &after);
        assert_eq!(changed.len(), 3, "{changed:?}");
        for one in &changed {
            assert_eq!(one.gain, vec!["server-3".to_string()]);
        }
    }

    #[test]
    fn replication_beyond_the_servers_places_everywhere() {
        let placed = place(
            &names("s", 2),
            &Holders::new(),
            &names("server-", 2),
            3,
            &mut Load::new(),
        );
        assert!(placed.values().all(|holders| holders.len() == 2));
        assert!(place(&names("s", 2), &Holders::new(), &[], 3, &mut Load::new()).is_empty());
    }

    proptest! {
        #[test]
        fn placement_is_stable_balanced_and_complete(
            segment_count in 0usize..40,
            server_count in 1usize..7,
            replication in 1usize..4,
            dead in proptest::collection::vec(any::<bool>(), 7),
        ) {
            let segments = names("seg", segment_count);
            let servers = names("srv", server_count);
            let first = place(&segments, &Holders::new(), &servers, replication, &mut Load::new());
            // The same inputs give the same placement, and placing again
            // changes nothing.
            prop_assert_eq!(&first, &place(&segments, &Holders::new(), &servers, replication, &mut Load::new()));
            prop_assert_eq!(&first, &place(&segments, &first, &servers, replication, &mut Load::new()));
            let alive: Vec<String> = servers.iter().zip(&dead).filter(|(_, d)| !**d).map(|(s, _)| s.clone()).collect();
            let after = place(&segments, &first, &alive, replication, &mut Load::new());
            let want = replication.min(alive.len());
            for segment in &segments {
                let holders = after.get(segment).cloned().unwrap_or_default();
                prop_assert_eq!(holders.len(), want);
                prop_assert!(holders.iter().all(|h| alive.contains(h)));
            }
            if !alive.is_empty() {
                let per = loads(&after, &alive);
                prop_assert!(per.iter().max().unwrap() - per.iter().min().unwrap() <= 1, "{:?}", per);
            }
        }
    }
}

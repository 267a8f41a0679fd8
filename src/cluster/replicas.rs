//! Which replica a broker asks for each segment of a query: the order in
//! which each segment's holders are tried. Pure, so it is tested alone.
//!
//! - [`Selector::FewestServers`] (the default; Pinot's `replicaGroup` and
//!   `strictReplicaGroup`): the first choices cover every segment with as
//!   few servers as a greedy cover finds, so a query costs as few network
//!   exchanges as the placement allows; among equally good servers, the
//!   query's turn decides, which spreads queries over the replicas.
//! - [`Selector::Balanced`] (Pinot's `balanced`): each segment starts at
//!   its own replica, so one query's segments spread over every replica.
//!
//! Either way, servers that failed lately (suspects) come last, and the
//! remaining holders follow in turn for retries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How a query's segments are spread over their replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    FewestServers,
    Balanced,
}

impl Selector {
    /// The selector a table's `routing.instanceSelectorType` names; the
    /// default asks the fewest servers.
    pub fn of(instance_selector_type: Option<&str>) -> Selector {
        match instance_selector_type {
            Some(name) if name.eq_ignore_ascii_case("balanced") => Selector::Balanced,
            _ => Selector::FewestServers,
        }
    }
}

/// Each segment's holders in the order to ask them, for the query's
/// `turn`. `holders` lists each segment's servers (any order; an empty
/// list stays empty).
pub fn order(
    holders: BTreeMap<String, Vec<String>>,
    suspects: &BTreeSet<String>,
    turn: usize,
    selector: Selector,
) -> BTreeMap<String, Vec<String>> {
    let mut ordered: BTreeMap<String, Vec<String>> = holders
        .into_iter()
        .map(|(segment, mut servers)| {
            servers.sort();
            servers.dedup();
            if !servers.is_empty() {
                let offset = match selector {
                    Selector::Balanced => spread(&segment),
                    Selector::FewestServers => 0,
                };
                let shift = (turn + offset) % servers.len();
                servers.rotate_left(shift);
                // Stable: the rotation's order holds within each group.
                servers.sort_by_key(|server| suspects.contains(server));
            }
            (segment, servers)
        })
        .collect();
    if selector == Selector::FewestServers {
        cover(&mut ordered, suspects, turn);
    }
    ordered
}

/// Puts first, for every segment, one server of a small set that holds
/// them all: greedily the server holding the most segments not covered
/// yet (ties to the query's turn). A segment's healthy holders are
/// preferred; one held by suspects only is covered by them.
fn cover(ordered: &mut BTreeMap<String, Vec<String>>, suspects: &BTreeSet<String>, turn: usize) {
    let mut servers: Vec<&str> = ordered
        .values()
        .flatten()
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if servers.len() < 2 {
        return;
    }
    let shift = turn % servers.len();
    servers.rotate_left(shift);
    let rank: HashMap<&str, usize> = servers
        .iter()
        .enumerate()
        .map(|(rank, server)| (*server, rank))
        .collect();
    // The candidates of each segment: its healthy holders, or all of them.
    let candidates: Vec<Vec<&str>> = ordered
        .values()
        .map(|holders| {
            let healthy: Vec<&str> = holders
                .iter()
                .map(String::as_str)
                .filter(|server| !suspects.contains(*server))
                .collect();
            if healthy.is_empty() {
                holders.iter().map(String::as_str).collect()
            } else {
                healthy
            }
        })
        .collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    let mut held: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, candidates) in candidates.iter().enumerate() {
        for server in candidates {
            *count.entry(server).or_default() += 1;
            held.entry(server).or_default().push(index);
        }
    }
    let mut chosen: Vec<Option<&str>> = vec![None; candidates.len()];
    loop {
        let best = count
            .iter()
            .filter(|(_, count)| **count > 0)
            .max_by(|(a, count_a), (b, count_b)| count_a.cmp(count_b).then(rank[*b].cmp(&rank[*a])))
            .map(|(server, _)| *server);
        let Some(best) = best else {
            break;
        };
        for &index in held.get(best).into_iter().flatten() {
            if chosen[index].is_some() {
                continue;
            }
            chosen[index] = Some(best);
            for server in &candidates[index] {
                if let Some(count) = count.get_mut(server) {
                    *count -= 1;
                }
            }
        }
    }
    let chosen: Vec<Option<String>> = chosen
        .into_iter()
        .map(|server| server.map(str::to_string))
        .collect();
    for (holders, chosen) in ordered.values_mut().zip(chosen) {
        if let Some(chosen) = chosen {
            if let Some(at) = holders.iter().position(|server| *server == chosen) {
                let server = holders.remove(at);
                holders.insert(0, server);
            }
        }
    }
}

/// A stable per-segment offset, so segments of one query spread over
/// their replicas rather than all starting at the same one.
fn spread(segment: &str) -> usize {
    xxhash_rust::xxh3::xxh3_64(segment.as_bytes()) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn placement(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(segment, servers)| {
                (
                    segment.to_string(),
                    servers.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect()
    }

    fn first_choices(ordered: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
        ordered
            .values()
            .filter_map(|h| h.first().cloned())
            .collect()
    }

    #[test]
    fn fully_replicated_segments_go_to_one_server_in_turn() {
        let all: &[&str] = &["a", "b", "c"];
        let segments = placement(&[("s1", all), ("s2", all), ("s3", all), ("s4", all)]);
        let none = BTreeSet::new();
        let mut asked = Vec::new();
        for turn in 0..6 {
            let ordered = order(segments.clone(), &none, turn, Selector::FewestServers);
            let first = first_choices(&ordered);
            assert_eq!(first.len(), 1, "{ordered:?}");
            asked.extend(first);
            // Every holder stays, for retries.
            assert!(ordered.values().all(|holders| holders.len() == 3));
        }
        for server in all {
            assert_eq!(asked.iter().filter(|s| s == server).count(), 2, "{asked:?}");
        }
        // Balanced spreads one query over the replicas instead.
        let ordered = order(segments, &none, 0, Selector::Balanced);
        assert!(first_choices(&ordered).len() > 1, "{ordered:?}");
    }

    #[test]
    fn pairs_of_three_servers_take_two_and_suspects_go_last() {
        let segments = placement(&[
            ("s1", &["a", "b"]),
            ("s2", &["a", "c"]),
            ("s3", &["b", "c"]),
            ("s4", &["a", "b"]),
            ("s5", &["a", "c"]),
            ("s6", &["b", "c"]),
        ]);
        for turn in 0..3 {
            let ordered = order(
                segments.clone(),
                &BTreeSet::new(),
                turn,
                Selector::FewestServers,
            );
            assert_eq!(first_choices(&ordered).len(), 2, "{ordered:?}");
        }
        let suspects: BTreeSet<String> = ["a".to_string()].into();
        for turn in 0..3 {
            let ordered = order(segments.clone(), &suspects, turn, Selector::FewestServers);
            assert!(!first_choices(&ordered).contains("a"), "{ordered:?}");
            assert!(ordered.values().all(|holders| holders.len() == 2));
        }
        // Held by a suspect only: asked of it all the same.
        let alone = placement(&[("s1", &["a"]), ("s2", &["b", "a"])]);
        let ordered = order(alone, &suspects, 0, Selector::FewestServers);
        assert_eq!(ordered["s1"], vec!["a".to_string()]);
        assert_eq!(ordered["s2"][0], "b");
    }

    proptest! {
        #[test]
        fn every_segment_keeps_its_holders_healthy_ones_first(
            placed in proptest::collection::btree_map(
                "s[0-9]{1,3}",
                proptest::collection::btree_set(0usize..6, 0..4),
                0..40,
            ),
            suspect in proptest::collection::btree_set(0usize..6, 0..3),
            turn in 0usize..10,
        ) {
            let name = |i: &usize| format!("n{i}");
            let holders: BTreeMap<String, Vec<String>> = placed
                .iter()
                .map(|(segment, servers)| (segment.clone(), servers.iter().map(name).collect()))
                .collect();
            let suspects: BTreeSet<String> = suspect.iter().map(name).collect();
            let fewest = order(holders.clone(), &suspects, turn, Selector::FewestServers);
            let balanced = order(holders.clone(), &suspects, turn, Selector::Balanced);
            for (segment, servers) in &holders {
                let mut want = servers.clone();
                want.sort();
                for ordered in [&fewest, &balanced] {
                    let mut got = ordered[segment].clone();
                    got.sort();
                    prop_assert_eq!(&got, &want);
                    // A healthy holder comes first whenever there is one.
                    let healthy = servers.iter().any(|s| !suspects.contains(s));
                    if healthy {
                        prop_assert!(!suspects.contains(&ordered[segment][0]));
                    }
                }
            }
            let servers: BTreeSet<&String> = holders.values().flatten().collect();
            prop_assert!(first_choices(&fewest).len() <= servers.len());
        }
    }
}

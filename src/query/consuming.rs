//! How a cluster's broker asks for a stream partition's rows that no
//! committed segment holds yet: not by segment name (each replica names
//! its consuming segments its own way and rolls them at its own time) but
//! as "partition `p` of `table` from offset `c`", `c` the end of the
//! partition's committed segments as the broker's routing knows it. The
//! request travels in the list of segment names as a token no segment
//! name can be (a deep-store name never holds `/`).
//!
//! A server answers the token with the chain of its segments of the
//! partition that starts exactly at `c` and runs on without a gap: its
//! sealed segments of the partition from `c` (committed here, not yet in
//! the broker's routing), then its consuming segments. A server whose
//! chain does not start at `c` answers the token as missing, so the broker
//! asks another replica: every offset is counted once, by one replica.

use crate::server::Live;

const PREFIX: &str = "consuming/";

/// The token for partition `partition` of `table` from offset `from`
/// (`None`: no segment of the partition is committed yet).
pub fn token(table: &str, partition: i32, from: Option<i64>) -> String {
    match from {
        Some(offset) => format!("{PREFIX}{table}/{partition}/{offset}"),
        None => format!("{PREFIX}{table}/{partition}/start"),
    }
}

/// A token's table, partition and offset; `None` for a segment name.
pub fn parse(name: &str) -> Option<(&str, i32, Option<i64>)> {
    let rest = name.strip_prefix(PREFIX)?;
    let mut parts = rest.rsplitn(3, '/');
    let from = parts.next()?;
    let partition = parts.next()?.parse().ok()?;
    let table = parts.next()?;
    let from = match from {
        "start" => None,
        offset => Some(offset.parse().ok()?),
    };
    Some((table, partition, from))
}

/// The names of the segments of `live` that answer the token for
/// `partition` from `from`, or `None` when this server's segments do not
/// start there.
pub fn resolve(live: &Live, partition: i32, from: Option<i64>) -> Option<Vec<String>> {
    let mut sealed: Vec<(i64, i64, &str)> = Vec::new();
    for segment in live.sealed.iter() {
        if let Some(range) = &segment.meta().stream {
            if range.partition == partition {
                sealed.push((range.start_offset, range.end_offset, segment.name()));
            }
        }
    }
    let mut consuming: Vec<(i64, &str)> = live
        .consuming
        .iter()
        .filter(|segment| segment.partition == partition)
        .map(|segment| (segment.start_offset, segment.name.as_str()))
        .collect();
    consuming.sort();
    let mut out = Vec::new();
    let Some(mut at) = from else {
        // Nothing committed as the broker knows: only a server that has
        // committed nothing either can tell where the partition starts.
        if !sealed.is_empty() {
            return None;
        }
        return Some(consuming.iter().map(|(_, name)| name.to_string()).collect());
    };
    while let Some(&(_, end, name)) = sealed.iter().find(|(start, _, _)| *start == at) {
        out.push(name.to_string());
        at = end;
    }
    if !consuming.iter().any(|(start, _)| *start == at) {
        return None;
    }
    for (start, name) in consuming {
        if start >= at {
            out.push(name.to_string());
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_segment_names_are_not_tokens() {
        let made = token("trades_REALTIME", 3, Some(1500));
        assert_eq!(parse(&made), Some(("trades_REALTIME", 3, Some(1500))));
        let made = token("trades_REALTIME", 0, None);
        assert_eq!(parse(&made), Some(("trades_REALTIME", 0, None)));
        assert_eq!(parse("trades__0__1__20261207T0431Z"), None);
        assert_eq!(parse("consuming/t/x/1"), None);
        assert_eq!(parse("consuming/t/1/y"), None);
    }
}

//! A server's answer: its statistics and [`Partial`] result, or the
//! [`QueryError`] it failed with.
//!
//! ```text
//! answer  = 0 stats option(partial)
//!         | 1 code:zigzag message:bytes
//! stats   = segments_queried segments_processed segments_matched consuming_queried
//!           option(zigzag min_consuming_freshness_ms) total_docs docs_scanned
//!           entries_in_filter entries_post_filter groups_limit_reached:bool
//!           missing:(count bytes*)     named segments the server does not hold
//! partial = 0 arity len sorted:bool value{arity × len} count acc*   groups
//!         | 1 count (count value* count value*)*                  rows: values, ORDER BY values
//! ```
//!
//! Groups are checked whole: `arity × len` keys, and `len` states in
//! every [`Acc`](crate::query::agg::Acc). Whether they fit the plan they
//! answer is [`check_response`](super::check_response)'s to say.

use super::acc::{get_acc, put_acc};
use super::buf::{Reader, Writer, MAX_LEN, RESERVE};
use super::error::WireError;
use super::value::{get_value, put_value};
use crate::query::broker::ServerResponse;
use crate::query::error::QueryError;
use crate::query::exec::{Groups, Partial, Row};

pub fn put_answer(w: &mut Writer, answer: &Result<ServerResponse, QueryError>) {
    match answer {
        Ok(response) => {
            w.u8(0);
            put_stats(w, response);
            w.option(response.partial.as_ref(), put_partial);
        }
        Err(error) => {
            w.u8(1);
            w.zigzag(i64::from(error.code));
            w.str(&error.message);
        }
    }
}

pub fn get_answer(r: &mut Reader<'_>) -> Result<Result<ServerResponse, QueryError>, WireError> {
    let tag = r.tag("answer")?;
    match tag.0 {
        0 => {
            let mut response = get_stats(r)?;
            response.partial = r.option("partial result", get_partial)?;
            Ok(Ok(response))
        }
        1 => {
            let at = r.at();
            let code = r.zigzag("error code")?;
            let code = i32::try_from(code)
                .map_err(|_| r.invalid("error code", at, format!("{code} is not a 32-bit code")))?;
            Ok(Err(QueryError::new(code, r.string("error message")?)))
        }
        _ => Err(r.unknown("answer", tag)),
    }
}

fn put_stats(w: &mut Writer, response: &ServerResponse) {
    w.varint(response.segments_queried);
    w.varint(response.segments_processed);
    w.varint(response.segments_matched);
    w.varint(response.consuming_queried);
    w.option(response.min_consuming_freshness_ms.as_ref(), |w, ms| {
        w.zigzag(*ms)
    });
    w.varint(response.total_docs);
    w.varint(response.docs_scanned);
    w.varint(response.entries_in_filter);
    w.varint(response.entries_post_filter);
    w.bool(response.groups_limit_reached);
    w.list(&response.missing, |w, segment| w.str(segment));
}

fn get_stats(r: &mut Reader<'_>) -> Result<ServerResponse, WireError> {
    Ok(ServerResponse {
        partial: None,
        segments_queried: r.varint("segments queried")?,
        segments_processed: r.varint("segments processed")?,
        segments_matched: r.varint("segments matched")?,
        consuming_queried: r.varint("consuming segments queried")?,
        min_consuming_freshness_ms: r.option("freshness", |r| r.zigzag("freshness"))?,
        total_docs: r.varint("total docs")?,
        docs_scanned: r.varint("docs scanned")?,
        entries_in_filter: r.varint("entries scanned in filter")?,
        entries_post_filter: r.varint("entries scanned post filter")?,
        groups_limit_reached: r.bool("groups limit reached")?,
        missing: r.list("missing segments", |r| r.string("missing segment"))?,
    })
}

pub fn put_partial(w: &mut Writer, partial: &Partial) {
    match partial {
        Partial::Groups(groups) => {
            w.u8(0);
            w.usize(groups.arity);
            w.usize(groups.len);
            w.bool(groups.sorted);
            for key in &groups.keys {
                put_value(w, key);
            }
            w.list(&groups.accs, put_acc);
        }
        Partial::Rows(rows) => {
            w.u8(1);
            w.list(rows, |w, row| {
                w.list(&row.values, put_value);
                w.list(&row.order, put_value);
            });
        }
    }
}

pub fn get_partial(r: &mut Reader<'_>) -> Result<Partial, WireError> {
    let tag = r.tag("partial result")?;
    match tag.0 {
        0 => get_groups(r).map(Partial::Groups),
        1 => Ok(Partial::Rows(r.list("rows", |r| {
            Ok(Row {
                values: r.list("row values", get_value)?,
                order: r.list("row ORDER BY values", get_value)?,
            })
        })?)),
        _ => Err(r.unknown("partial result", tag)),
    }
}

fn get_groups(r: &mut Reader<'_>) -> Result<Groups, WireError> {
    let at = r.at();
    let arity = r.usize("group arity")?;
    // Every group takes at least a byte: a key or a state.
    let len = r.len("groups")?;
    let sorted = r.bool("sorted groups")?;
    let keys_at = r.at();
    let count = arity.saturating_mul(len);
    if count as u64 > MAX_LEN {
        return Err(WireError::TooLong {
            len: count as u64,
            at: keys_at,
        });
    }
    if count > r.remaining().len() {
        return Err(r.truncated("group keys"));
    }
    let mut keys = Vec::with_capacity(count.min(RESERVE));
    for _ in 0..count {
        keys.push(get_value(r)?);
    }
    let accs = r.list("aggregation states", get_acc)?;
    if let Some(acc) = accs.iter().find(|acc| acc.len() != len) {
        return Err(r.invalid(
            "groups",
            at,
            format!("{len} groups, but a state holds {}", acc.len()),
        ));
    }
    Ok(Groups {
        arity,
        keys,
        accs,
        len,
        sorted,
    })
}

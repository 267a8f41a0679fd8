//! The broker↔server wire format: a planned single-table query going to a
//! server ([`ServerRequest`]) and the server's answer coming back
//! (`Result<ServerResponse, QueryError>`), in a compact binary form.
//!
//! ```text
//! message  = version:u8 kind:u8 body          version 2; kind 1 request, 2 answer
//! request  = timeout_ms tables:(count bytes*) option(count bytes*) plan
//! answer   = see partial.rs
//! ```
//!
//! Each part has its grammar beside its code: primitives (`buf.rs`),
//! values and types (`value.rs`), expressions (`expr.rs`), filters
//! (`filter.rs`), plans (`plan.rs`), aggregation states (`acc.rs`) and
//! answers (`partial.rs`). Every enum variant is one tag byte; every
//! message starts with [`VERSION`], and a reader refuses any other.
//!
//! Invariants:
//! - **A decoded plan runs exactly as the original.** What the planner
//!   compiles (regular expressions, IN lists' hash sets, the columns a plan
//!   reads) is sent as its source and rebuilt by the planner's own code.
//! - **Hostile bytes are an error, never a panic.** Lengths are bounded by
//!   the bytes left and by 64 MiB, nesting by [`MAX_DEPTH`], every loop by
//!   the bytes it consumes; decoders stop at the first problem and say what
//!   and where ([`WireError`]). A decoded answer is then checked against
//!   the plan it answers ([`check_response`]) before it is merged.
//! - **Encoding is deterministic**: `encode(decode(encode(x))) ==
//!   encode(x)` (distinct sets are written in value order).
//!
//! Encoding and decoding are synchronous and allocate only what the
//! message holds; they share nothing between calls.

mod acc;
mod buf;
mod check;
mod error;
mod expr;
mod filter;
mod partial;
mod plan;
mod value;

pub use buf::{MAX_DEPTH, MAX_LEN};
pub use check::check_response;
pub use error::WireError;

use crate::query::broker::ServerResponse;
use crate::query::error::QueryError;
use crate::query::filter::Filter;
use crate::query::plan::Plan;
use buf::{Reader, Writer};

/// The format's version, the first byte of every message. A change to any
/// grammar in this module bumps it.
pub const VERSION: u8 = 2;

const REQUEST: u8 = 1;
const ANSWER: u8 = 2;

/// What the broker sends a server for one query.
#[derive(Debug, Clone)]
pub struct ServerRequest {
    pub plan: Plan,
    /// The tables to read, names with type (`trades_OFFLINE`).
    pub tables: Vec<String>,
    /// Only these segments, when given.
    pub segments: Option<Vec<String>>,
    /// What is left of the query's time when the request is sent.
    pub timeout_ms: u64,
}

pub fn encode_request(request: &ServerRequest) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(VERSION);
    w.u8(REQUEST);
    w.varint(request.timeout_ms);
    w.list(&request.tables, |w, table| w.str(table));
    w.option(request.segments.as_ref(), |w, segments| {
        w.list(segments, |w, segment| w.str(segment))
    });
    plan::put_plan(&mut w, &request.plan);
    w.finish()
}

/// What identifies `plan`'s answer on a segment: its encoding with the
/// timeout left out (a query that finishes answers the same whatever its
/// timeout). Equal keys are equal plans, since a decoded plan runs exactly
/// as the original.
pub fn plan_key(plan: &Plan) -> Vec<u8> {
    plan_key_with(plan, plan.filter.as_ref())
}

/// [`plan_key`] of `plan` with `filter` in place of its own (the form
/// its filter takes on one segment, [`Filter::on_segment`]).
pub fn plan_key_with(plan: &Plan, filter: Option<&Filter>) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(VERSION);
    plan::put_plan_with(&mut w, plan, filter, 0);
    w.finish()
}

pub fn decode_request(bytes: &[u8]) -> Result<ServerRequest, WireError> {
    let mut r = Reader::new(bytes);
    header(&mut r, REQUEST, "a server request")?;
    let timeout_ms = r.varint("timeout")?;
    let tables = r.list("tables", |r| r.string("table"))?;
    let segments = r.option("segments", |r| r.list("segments", |r| r.string("segment")))?;
    let plan = plan::get_plan(&mut r)?;
    r.end()?;
    Ok(ServerRequest {
        plan,
        tables,
        segments,
        timeout_ms,
    })
}

pub fn encode_response(response: &Result<ServerResponse, QueryError>) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(VERSION);
    w.u8(ANSWER);
    partial::put_answer(&mut w, response);
    w.finish()
}

pub fn decode_response(bytes: &[u8]) -> Result<Result<ServerResponse, QueryError>, WireError> {
    let mut r = Reader::new(bytes);
    header(&mut r, ANSWER, "a server answer")?;
    let answer = partial::get_answer(&mut r)?;
    r.end()?;
    Ok(answer)
}

fn header(r: &mut Reader<'_>, kind: u8, what: &'static str) -> Result<(), WireError> {
    let version = r.u8("version")?;
    if version != VERSION {
        return Err(WireError::Version {
            found: version,
            expected: VERSION,
        });
    }
    let found = r.u8("message kind")?;
    if found != kind {
        return Err(WireError::Kind {
            expected: what,
            expected_kind: kind,
            found,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;

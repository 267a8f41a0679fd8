//! The SQL fuzzer of `tests/fuzz_sql.rs`: what it sends and how it judges
//! the answers.
//!
//! - [`vocab`] and [`functions`]: tables, columns, edge literals, options
//!   and the function names of Gamay, Pinot and DataFusion.
//! - [`grammar`] and [`exprs`]: random statements over the fuzz tables,
//!   single-stage and multi-stage, valid and subtly wrong.
//! - [`edges`]: function calls whose arguments are all edge values.
//! - [`mutate`]: token-level damage to generated text.
//! - [`shapes`]: statements nested or chained up to and past the server's
//!   documented limits, and request bodies that are not what the API expects.
//! - [`oracle`]: the verdict on each answer and the run's tally.
//! - [`corpus`]: the regression cases of `regressions.sql`.
//! - [`tables`]: the tables the cases run on, loaded through the API.
//!
//! Every case comes from one seeded [`Dice`], so a seed and a case number
//! name a case exactly.

pub mod corpus;
pub mod edges;
pub mod exprs;
pub mod functions;
pub mod grammar;
pub mod mutate;
pub mod oracle;
pub mod shapes;
pub mod tables;
pub mod vocab;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// The seeded source of every choice.
pub struct Dice(StdRng);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(StdRng::seed_from_u64(seed))
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.0.random_bool(p.clamp(0.0, 1.0))
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    pub fn byte(&mut self) -> u8 {
        self.0.random()
    }

    pub fn char(&mut self) -> char {
        loop {
            let code = match self.below(4) {
                0 => self.0.random_range(0..0x80),
                1 => self.0.random_range(0x80..0x800),
                2 => self.0.random_range(0x800..0x1_0000),
                _ => self.0.random_range(0x1_0000..0x11_0000),
            };
            if let Some(c) = char::from_u32(code) {
                return c;
            }
        }
    }
}

/// Where a case is sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Endpoint {
    /// `POST /query/sql`, Pinot's broker endpoint.
    PostSql,
    /// `GET /query/sql?sql=...`.
    GetSql,
    /// `POST /query`, Pinot's controller endpoint (multi-stage).
    PostQuery,
    /// A GET on a controller path (the body is the path).
    Controller,
}

impl Endpoint {
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::PostSql => "POST /query/sql",
            Endpoint::GetSql => "GET /query/sql",
            Endpoint::PostQuery => "POST /query",
            Endpoint::Controller => "GET",
        }
    }
}

/// What a case sends.
#[derive(Clone, Debug)]
pub enum Payload {
    /// A statement and the request's `queryOptions` field, if any.
    Sql { sql: String, options: Option<Value> },
    /// A request body as it is (not necessarily JSON or UTF-8).
    Raw(Vec<u8>),
    /// A path (with its query string) to GET.
    Path(String),
}

/// One request of the campaign.
#[derive(Clone, Debug)]
pub struct Case {
    /// Which generator made it: `grammar`, `edges`, `mutated`, `shape`, `body`,
    /// `controller` or `regression`.
    pub kind: &'static str,
    pub endpoint: Endpoint,
    pub payload: Payload,
}

impl Case {
    pub fn sql(kind: &'static str, endpoint: Endpoint, sql: String) -> Case {
        Case {
            kind,
            endpoint,
            payload: Payload::Sql { sql, options: None },
        }
    }

    /// The case as text for a report: the statement, body or path.
    pub fn describe(&self) -> String {
        match &self.payload {
            Payload::Sql { sql, options } => match options {
                Some(options) => format!("{sql}\n  queryOptions: {options}"),
                None => sql.clone(),
            },
            Payload::Raw(bytes) => format!("raw body {:?}", String::from_utf8_lossy(bytes)),
            Payload::Path(path) => path.clone(),
        }
    }
}

/// The next random case: mostly grammar statements, then their mutations,
/// edge-value calls, shapes at the limits, odd bodies and controller paths.
pub fn next_case(dice: &mut Dice) -> Case {
    let roll = dice.below(1000);
    let mut case = if roll < 550 {
        grammar::Grammar::new(dice).case()
    } else if roll < 600 {
        edges::edge_call(dice)
    } else if roll < 900 {
        let mut case = grammar::Grammar::new(dice).case();
        if let Payload::Sql { sql, .. } = &mut case.payload {
            *sql = mutate::mutate(dice, sql);
        }
        case.kind = "mutated";
        case
    } else if roll < 930 {
        shapes::shape(dice)
    } else if roll < 970 {
        shapes::body(dice)
    } else {
        shapes::controller(dice)
    };
    // GET carries the statement in the URL: only short ones.
    if case.endpoint == Endpoint::PostSql && dice.chance(0.08) {
        if let Payload::Sql { sql, .. } = &case.payload {
            if sql.len() < 2000 {
                case.endpoint = Endpoint::GetSql;
            }
        }
    }
    case
}

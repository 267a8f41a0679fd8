//! How long a fuzz target runs and with which randomness: a case budget
//! for CI, a time budget for longer runs, and one seed printed so a run
//! can be replayed.
//!
//! - `GAMAY_FUZZ_SEED`: the run's seed (default: from the clock).
//! - `GAMAY_FUZZ_CASES`: cases per target (default: each target's CI figure).
//! - `GAMAY_FUZZ_SECONDS`: a time budget per target; without
//!   `GAMAY_FUZZ_CASES` the target runs until it is spent.
//! - `GAMAY_FUZZ_CASE`: run that one case of the seed (a finding's replay).
//! - `GAMAY_FUZZ_SAVE`: a directory where the inputs of findings are
//!   written, to keep in `corpus/`.
//!
//! Each case draws from its own generator, seeded from the run's seed, the
//! target's name and the case number, so a case replays alone.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

pub struct Budget {
    target: &'static str,
    seed: u64,
    cases: Option<u64>,
    time: Option<Duration>,
    only: Option<u64>,
    next: u64,
    started: Instant,
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    match text.trim().parse() {
        Ok(value) => Some(value),
        Err(_) => panic!("{name}=`{text}` is not a whole number"),
    }
}

impl Budget {
    /// The budget of `target`, `ci_cases` cases unless the environment
    /// says otherwise. Prints the seed and the budget.
    pub fn from_env(target: &'static str, ci_cases: u64) -> Budget {
        let seed = env_u64("GAMAY_FUZZ_SEED").unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos() as u64)
        });
        let time = std::env::var("GAMAY_FUZZ_SECONDS").ok().map(|text| {
            let seconds: f64 = text
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("GAMAY_FUZZ_SECONDS=`{text}` is not a number"));
            Duration::from_secs_f64(seconds)
        });
        let cases = match (env_u64("GAMAY_FUZZ_CASES"), time) {
            (Some(cases), _) => Some(cases),
            (None, Some(_)) => None,
            (None, None) => Some(ci_cases),
        };
        let only = env_u64("GAMAY_FUZZ_CASE");
        eprintln!(
            "fuzz {target}: GAMAY_FUZZ_SEED={seed} cases={} seconds={}{}",
            cases.map_or("unbounded".into(), |n| n.to_string()),
            time.map_or("unbounded".into(), |t| format!("{}", t.as_secs_f64())),
            only.map_or(String::new(), |case| format!(" only case {case}")),
        );
        Budget {
            target,
            seed,
            cases,
            time,
            only,
            next: 0,
            started: Instant::now(),
        }
    }

    /// The next case's number and generator, or `None` when the budget is spent.
    pub fn next_case(&mut self) -> Option<(u64, StdRng)> {
        let case = match self.only {
            Some(_) if self.next > 0 => return None,
            Some(only) => only,
            None => {
                if self.cases.is_some_and(|cases| self.next >= cases)
                    || self.time.is_some_and(|time| self.started.elapsed() >= time)
                {
                    return None;
                }
                self.next
            }
        };
        self.next += 1;
        Some((case, self.rng(case)))
    }

    /// Case `case`'s generator.
    pub fn rng(&self, case: u64) -> StdRng {
        let mut mixed = self.seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for byte in self.target.bytes() {
            mixed = (mixed ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
        }
        StdRng::seed_from_u64(mixed)
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// How to run case `case` again.
    pub fn replay(&self, case: u64) -> String {
        format!(
            "GAMAY_FUZZ_SEED={} GAMAY_FUZZ_CASE={case} cargo test --test fuzz {}",
            self.seed, self.target
        )
    }
}

/// Problems found by a target; the test fails at the end if there are any.
#[derive(Default)]
pub struct Findings {
    found: Vec<String>,
}

impl Findings {
    pub fn add(&mut self, budget: &Budget, case: u64, what: impl Into<String>) {
        let what = what.into();
        eprintln!(
            "FINDING case {case}: {what}\n  replay: {}",
            budget.replay(case)
        );
        self.found.push(format!("case {case}: {what}"));
    }

    pub fn len(&self) -> usize {
        self.found.len()
    }

    /// Writes a finding's input to `GAMAY_FUZZ_SAVE`, if set.
    pub fn save(&self, case: u64, extension: &str, bytes: &[u8]) {
        let Some(dir) = std::env::var_os("GAMAY_FUZZ_SAVE") else {
            return;
        };
        let path = std::path::Path::new(&dir).join(format!("case-{case}.{extension}"));
        match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, bytes)) {
            Ok(()) => eprintln!("  input saved to {}", path.display()),
            Err(err) => eprintln!("  cannot save the input to {}: {err}", path.display()),
        }
    }

    /// Fails the test with every finding listed.
    pub fn assert_none(&self, budget: &Budget) {
        assert!(
            self.found.is_empty(),
            "{} finding(s) with GAMAY_FUZZ_SEED={}:\n{}",
            self.found.len(),
            budget.seed(),
            self.found.join("\n")
        );
    }
}

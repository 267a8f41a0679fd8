//! Fuzzing of what Gamay reads from outside: configs over HTTP, segment
//! files, and Kafka messages. Each target runs a fixed budget of seeded
//! cases in CI and longer on demand (see `budget.rs` for the environment
//! variables and docs/security.md's Fuzzing section for the commands); every
//! finding fails the test with the seed and case that replay it. Inputs
//! that once found a bug stay in `corpus/` and run every time.

#[path = "../kafka/mod.rs"]
mod kafka;
#[path = "../process/mod.rs"]
mod process;

mod alloc;
mod budget;
mod bytes;
mod configs;
mod http;
mod messages;
mod mutate;
mod odd;
mod panics;
mod segments;
mod stream;
mod uploads;

#[global_allocator]
static ALLOCATOR: alloc::Watching = alloc::Watching;

/// Mutated configs on every config endpoint of the real server.
#[test]
fn configs() {
    let dir = tempfile::tempdir().unwrap();
    configs::run(&dir.path().join("data"), 500);
}

/// Mutated segment files, opened and queried.
#[test]
fn segments() {
    segments::run_target(800);
}

/// Mutated Kafka messages through decoding, keys and consuming segments.
#[test]
fn messages() {
    messages::run_target(3000);
}

/// Mutated file uploads, then damaged segment files under a restart.
#[test]
fn uploads() {
    let dir = tempfile::tempdir().unwrap();
    let restarts = std::env::var("GAMAY_FUZZ_RESTARTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(2);
    uploads::run_target(&dir.path().join("data"), 150, restarts);
}

/// Mutated messages among good ones through the mock cluster and the server.
#[test]
fn stream() {
    stream::run_target(300);
}

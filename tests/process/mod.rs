//! Starting the real `gamay serve` binary for a test: on a free port (or
//! the address given), with stdout read up to its banner.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Spawns `gamay serve --listen LISTEN --data-dir DIR EXTRA...` and returns
/// it with the URL its banner names.
#[allow(dead_code)]
pub fn serve(data_dir: &Path, listen: &str, extra: &[&str]) -> (Child, String) {
    serve_logging(data_dir, listen, extra, "warn", None)
}

/// [`serve`] with the server's log at `level` (`RUST_LOG`), and its
/// stderr (the log and any panic message) appended to `log` if given.
pub fn serve_logging(
    data_dir: &Path,
    listen: &str,
    extra: &[&str],
    level: &str,
    log: Option<&Path>,
) -> (Child, String) {
    let stderr = match log {
        Some(path) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("open the server log"),
        ),
        None => Stdio::inherit(),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_gamay"))
        .args(["serve", "--listen", listen, "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", level)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn gamay");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("gamay listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (child, url)
}

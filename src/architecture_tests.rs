//! The dependency rule of `docs/architecture.md`, checked: every
//! `crate::<module>` path in the library's non-test code is an edge between
//! top-level modules, and those edges must form no cycle. Only `api`
//! speaks HTTP (errors become statuses in `api/error.rs`), and the storage
//! layers never touch an async runtime or Kafka.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules (as `src/<name>.rs` or `src/<name>/`) and, for each,
/// the files of its non-test code with their text.
fn modules() -> BTreeMap<String, Vec<(PathBuf, String)>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: BTreeMap<String, Vec<(PathBuf, String)>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if matches!(name.as_str(), "lib" | "main") {
            continue;
        }
        let mut files = Vec::new();
        collect(&path, &mut files);
        let code = files
            .into_iter()
            .filter(|file| !is_test_file(file))
            .map(|file| {
                let text = std::fs::read_to_string(&file).unwrap();
                (file, without_test_module(&text))
            });
        modules.entry(name).or_default().extend(code);
    }
    modules
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            collect(&entry.unwrap().path(), files);
        }
    } else if path.extension().is_some_and(|ext| ext == "rs") {
        files.push(path.to_path_buf());
    }
}

/// Files that hold only tests: `tests.rs`, `*_tests.rs`, and the modules a
/// parent declares under `#[cfg(test)]`.
fn is_test_file(file: &Path) -> bool {
    let stem = file.file_stem().unwrap().to_string_lossy();
    if stem == "tests" || stem.ends_with("_tests") {
        return true;
    }
    if stem == "mod" {
        return false;
    }
    let parent_dir = file.parent().unwrap();
    let declaring = [parent_dir.join("mod.rs"), parent_dir.with_extension("rs")];
    declaring.iter().any(|parent| {
        std::fs::read_to_string(parent).is_ok_and(|text| {
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            lines.windows(2).any(|pair| {
                pair[0] == "#[cfg(test)]"
                    && (pair[1] == format!("mod {stem};") || pair[1] == format!("pub mod {stem};"))
            })
        })
    })
}

/// The text without its inline `#[cfg(test)] mod ... { ... }` blocks
/// (braces counted; those in the test code's strings come in pairs).
fn without_test_module(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let opens_test_module = line.trim() == "#[cfg(test)]"
            && lines.peek().is_some_and(|next| {
                let next = next.trim_start();
                (next.starts_with("mod ") || next.starts_with("pub mod ")) && next.ends_with('{')
            });
        if !opens_test_module {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut depth = 0i64;
        for inner in lines.by_ref() {
            depth += inner.matches('{').count() as i64 - inner.matches('}').count() as i64;
            if depth <= 0 {
                break;
            }
        }
    }
    out
}

/// The top-level modules a module's code names through `crate::`.
fn edges(modules: &BTreeMap<String, Vec<(PathBuf, String)>>) -> BTreeMap<&str, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for (name, files) in modules {
        let targets: &mut BTreeSet<String> = edges.entry(name.as_str()).or_default();
        for (_, text) in files {
            for line in text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
            {
                for (at, _) in line.match_indices("crate::") {
                    let before = line[..at].chars().last();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue; // `gamay_crate::` and the like
                    }
                    let rest = &line[at + "crate::".len()..];
                    let target: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if target != *name && modules.contains_key(&target) {
                        targets.insert(target);
                    }
                }
            }
        }
    }
    edges
}

/// A cycle through the graph, if there is one, as the modules along it.
fn find_cycle(edges: &BTreeMap<&str, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<&str, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|seen| seen == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn modules_depend_on_each_other_without_cycles() {
    let modules = modules();
    for expected in [
        "api", "catalog", "codec", "query", "segment", "index", "server",
    ] {
        assert!(
            modules.contains_key(expected),
            "no module `{expected}` found"
        );
    }
    let edges = edges(&modules);
    assert!(
        edges["segment"].contains("index") && edges["index"].contains("codec"),
        "the scan finds no edges: {edges:?}"
    );
    if let Some(cycle) = find_cycle(&edges) {
        panic!(
            "modules import each other in a cycle: {} (docs/architecture.md, \"Dependency rule\")",
            cycle.join(" → ")
        );
    }
}

#[test]
fn a_cycle_is_found() {
    let mut edges: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a").or_default().insert("b".into());
    edges.entry("b").or_default().insert("c".into());
    edges.entry("c").or_default().insert("a".into());
    edges.entry("d").or_default().insert("a".into());
    let cycle = find_cycle(&edges).unwrap();
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 4);
    edges.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&edges), None);
}

#[test]
fn http_stays_in_api_and_storage_stays_synchronous() {
    for (name, files) in modules() {
        for (path, text) in files {
            let uses = |prefix: &str| {
                text.lines()
                    .filter(|line| !line.trim_start().starts_with("//"))
                    .any(|line| line.contains(prefix))
            };
            if name != "api" {
                for http in ["axum::", "http::", "StatusCode"] {
                    assert!(
                        !uses(http),
                        "{} names `{http}`: only `api` speaks HTTP",
                        path.display()
                    );
                }
            }
            if matches!(
                name.as_str(),
                "codec" | "segment" | "index" | "sketch" | "sort"
            ) {
                for runtime in ["tokio::", "rdkafka::", "axum::"] {
                    assert!(
                        !uses(runtime),
                        "{} uses `{runtime}`: the storage layers stay synchronous",
                        path.display()
                    );
                }
            }
        }
    }
}

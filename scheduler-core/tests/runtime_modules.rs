//! The modules of `src/runtime` depend on each other without a cycle: each can be read (and
//! changed) knowing only the modules below it (the order is in `src/runtime/mod.rs`).
//!
//! A module's dependencies are the runtime modules its source names, through
//! `super::module`, `super::super::module` or `crate::runtime::module` (also inside
//! `use super::{a::X, b}` groups), outside its `#[cfg(test)]` module. Modules in a folder
//! (`engine/`, `task/`) count as their top-level module: the check is between the parts of
//! the architecture, which `cargo test` now guards.
//!
//! Run it alone with `cargo test -p scheduler-core --test runtime_modules`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, with its module path relative to `src/runtime`
/// (`engine::decide`; `""` for `mod.rs` of the runtime itself).
fn modules(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut inner = prefix.to_vec();
            inner.push(name);
            modules(&path, &inner, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut module = prefix.to_vec();
            if name != "mod" {
                module.push(name);
            }
            out.push((module, path));
        }
    }
}

/// The source without its test module (which may use anything).
fn without_tests(source: &str) -> &str {
    match source.find("#[cfg(test)]\nmod tests") {
        Some(i) => &source[..i],
        None => source,
    }
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first segment of each path in a `{...}` group that starts `text` (after the `{`).
fn group_heads(text: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(text[start..i].trim());
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    heads
        .into_iter()
        .map(identifier)
        .filter(|h| !h.is_empty())
        .collect()
}

/// The top-level runtime modules that `module`'s source refers to.
fn dependencies(module: &[String], source: &str, top: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let source = without_tests(source);
    // (the text that introduces a path, how many levels it climbs from the module's parent)
    let anchors: [(&str, Option<usize>); 3] = [
        ("crate::runtime::", None),
        ("super::super::", Some(2)),
        ("super::", Some(1)),
    ];
    let mut at = 0;
    while at < source.len() {
        let rest = &source[at..];
        let Some((anchor, climb)) = anchors.iter().find(|(a, _)| rest.starts_with(a)) else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let after = &rest[anchor.len()..];
        at += anchor.len();
        // `super::` of `engine::decide` is `engine`; of `session` it is the runtime.
        let base: Vec<String> = match climb {
            None => Vec::new(),
            Some(n) => {
                let parent_depth = module.len().saturating_sub(1);
                module[..parent_depth.saturating_sub(n - 1)].to_vec()
            }
        };
        let heads = match after.strip_prefix('{') {
            Some(group) => group_heads(group),
            None => vec![identifier(after)],
        };
        for head in heads {
            // The first segment below the runtime names the top-level module.
            let target = base.first().map_or(head, |b| b.as_str());
            if top.contains(target) && module.first().map(String::as_str) != Some(target) {
                found.insert(target.to_owned());
            }
        }
    }
    found
}

/// A cycle in `graph`, if any, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn runtime_modules_have_no_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runtime");
    let mut files = Vec::new();
    modules(&root, &[], &mut files);
    let top: BTreeSet<String> = files
        .iter()
        .filter_map(|(m, _)| m.first().cloned())
        .collect();
    assert!(
        top.len() > 10,
        "found only {top:?} under {}",
        root.display()
    );
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in &files {
        let Some(node) = module.first() else {
            continue; // runtime/mod.rs declares and re-exports; it depends on nothing.
        };
        let source = std::fs::read_to_string(path).unwrap();
        graph
            .entry(node.clone())
            .or_default()
            .extend(dependencies(module, &source, &top));
    }
    if let Some(cycle) = find_cycle(&graph) {
        let edges: Vec<String> = graph
            .iter()
            .map(|(m, deps)| format!("{m} -> {deps:?}"))
            .collect();
        panic!(
            "runtime modules depend on each other in a cycle: {}\n{}",
            cycle.join(" -> "),
            edges.join("\n")
        );
    }
}

#[test]
fn the_check_sees_paths_and_groups() {
    let top: BTreeSet<String> = ["engine", "session", "task", "config"]
        .into_iter()
        .map(String::from)
        .collect();
    let module = vec!["engine".to_owned(), "decide".to_owned()];
    let source = "use crate::runtime::config::Config;\nuse super::Engine;\nuse super::super::{session::Event, task::TaskSpec};\n#[cfg(test)]\nmod tests { use crate::runtime::x; }";
    let deps = dependencies(&module, source, &top);
    assert_eq!(
        deps.into_iter().collect::<Vec<_>>(),
        ["config", "session", "task"]
    );
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "a"]);
}

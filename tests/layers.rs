//! The import graph of `src/`: modules point one way (no circles), and
//! `io` is a leaf that imports nothing of the crate but its error type.

mod common;
use common::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its code (not its comments or
/// unit tests) names through `crate::`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let src = root().join("src");
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let module = top_module(&src, &p);
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let uses = g.entry(module.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for part in line.split("crate::").skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if name != module && name.chars().next().is_some_and(char::is_lowercase) {
                        uses.insert(name);
                    }
                }
            }
        }
    }
    g
}

fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn modules_import_one_way_and_io_is_a_leaf() {
    let g = graph();
    assert!(g.len() > 10, "{g:?}");
    // depth-first search for a back edge
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(i) = path.iter().position(|p| p == m) {
            panic!("import circle: {:?} → {m}", &path[i..]);
        }
        if done.contains(m) {
            return;
        }
        path.push(m.to_string());
        for n in g.get(m).into_iter().flatten() {
            visit(n, g, path, done);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        visit(m, &g, &mut Vec::new(), &mut done);
    }
    let io: Vec<&String> = g["io"].iter().filter(|m| *m != "error").collect();
    assert!(io.is_empty(), "io imports {io:?}");
    for low in ["model", "grid", "problem", "error"] {
        let up: Vec<&String> = g[low]
            .iter()
            .filter(|m| !["error", "grid"].contains(&m.as_str()))
            .collect();
        assert!(up.is_empty(), "{low} imports {up:?}");
    }
}

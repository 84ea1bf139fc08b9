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
    let files: Vec<&String> = g["files"].iter().filter(|m| *m != "error").collect();
    assert!(files.is_empty(), "files imports {files:?}");
    assert!(io.is_empty(), "io imports {io:?}");
    for low in ["model", "grid", "problem", "error", "files"] {
        let up: Vec<&String> = g[low]
            .iter()
            .filter(|m| !["error", "grid", "files"].contains(&m.as_str()))
            .collect();
        assert!(up.is_empty(), "{low} imports {up:?}");
    }
}

/// The files of one package (a folder with a `mod.rs`) → the files of the
/// same package their code names, through `super::` or
/// `crate::<package>::`: a name a `pub use` of `mod.rs` re-exports is
/// followed to the file it comes from, any other name of `mod.rs` is
/// `mod.rs` itself. Re-exports are not dependencies.
fn package_graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("src");
    let package = dir
        .strip_prefix(&src)
        .unwrap()
        .to_str()
        .unwrap()
        .replace('/', "::");
    let mut files: Vec<String> = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        if p.extension().and_then(|e| e.to_str()) == Some("rs") || p.join("mod.rs").exists() {
            files.push(stem);
        }
    }
    let code_of = |name: &str| -> String {
        let f = dir.join(format!("{name}.rs"));
        let f = if f.exists() {
            f
        } else {
            dir.join(name).join("mod.rs")
        };
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
        code.lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // names mod.rs re-exports, and from which file
    let mut exported: BTreeMap<String, String> = BTreeMap::new();
    let root_code = code_of("mod");
    for stmt in root_code.split(';') {
        let s = stmt.trim();
        let Some(rest) = s.strip_prefix("pub use ") else {
            continue;
        };
        let Some((from, items)) = rest.split_once("::") else {
            continue;
        };
        if !files.contains(&from.to_string()) {
            continue;
        }
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.trim().rsplit("::").next().unwrap().trim();
            let name = name.split(" as ").last().unwrap().trim();
            exported.insert(name.to_string(), from.to_string());
        }
    }
    let resolve = |first: &str| -> String {
        if files.contains(&first.to_string()) {
            first.to_string()
        } else {
            exported
                .get(first)
                .cloned()
                .unwrap_or_else(|| "mod".to_string())
        }
    };
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let mut code = code_of(f);
        if f == "mod" {
            // its re-exports and module declarations are not dependencies
            code = code
                .split(';')
                .filter(|s| {
                    let s = s.trim();
                    !s.starts_with("pub use ")
                        && !s.starts_with("pub mod ")
                        && !s.starts_with("mod ")
                })
                .collect::<Vec<_>>()
                .join(";");
        }
        let mut uses = BTreeSet::new();
        let prefixes = ["super::".to_string(), format!("crate::{package}::")];
        for prefix in &prefixes {
            if f == "mod" && prefix == "super::" {
                continue;
            }
            for part in code.split(prefix.as_str()).skip(1) {
                // `super::{a, b::c}` names several
                let names: Vec<String> = if let Some(group) = part.strip_prefix('{') {
                    let inner = group.split('}').next().unwrap_or("");
                    inner.split(',').map(|s| s.trim().to_string()).collect()
                } else {
                    vec![part.to_string()]
                };
                for n in names {
                    let first: String = n
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if first.is_empty() {
                        continue;
                    }
                    let to = if f == "mod" {
                        first.clone()
                    } else {
                        resolve(&first)
                    };
                    if &to != f && files.contains(&to) {
                        uses.insert(to);
                    }
                }
            }
        }
        g.insert(f.clone(), uses);
    }
    g
}

#[test]
fn files_inside_a_package_import_one_way() {
    let mut packages = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.join("mod.rs").exists() {
                    packages.push(p.clone());
                }
                stack.push(p);
            }
        }
    }
    assert!(packages.len() > 5, "{packages:?}");
    for dir in packages {
        let g = package_graph(&dir);
        let mut done = BTreeSet::new();
        fn visit(
            m: &str,
            g: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
            dir: &Path,
        ) {
            if let Some(i) = path.iter().position(|p| p == m) {
                panic!("import circle in {}: {:?} → {m}", dir.display(), &path[i..]);
            }
            if done.contains(m) {
                return;
            }
            path.push(m.to_string());
            for n in g.get(m).into_iter().flatten() {
                visit(n, g, path, done, dir);
            }
            path.pop();
            done.insert(m.to_string());
        }
        for m in g.keys() {
            visit(m, &g, &mut Vec::new(), &mut done, &dir);
        }
    }
}

/// One concern per file: no file of `src/` reaches 600 lines (split a file
/// by concern before it does).
#[test]
fn every_source_file_stays_under_600_lines() {
    let mut long = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|e| e.to_str()) == Some("rs") {
                let lines = std::fs::read_to_string(&p).unwrap().lines().count();
                if lines >= 600 {
                    long.push((p.display().to_string(), lines));
                }
            }
        }
    }
    assert!(long.is_empty(), "{long:?}");
}

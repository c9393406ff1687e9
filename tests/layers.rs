//! The layering of `src/`, read off the code: each top-level module may use only the modules
//! below it, so following a command through the code goes one way, downwards. A `use` (or a
//! `crate::` path) that reaches upwards fails here, naming the file and the module it reached.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

/// Each layer and what it may use, top down. `main` and `cli` sit on top of everything.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "app",
        &[
            "cli",
            "ui",
            "resources",
            "model",
            "cost",
            "aws",
            "state",
            "config",
            "progress",
            "interrupt",
            "error",
            "shell",
            "printable",
        ],
    ),
    ("ui", &["model", "cost", "progress", "shell", "printable"]),
    (
        "resources",
        &["model", "aws", "state", "config", "progress", "error"],
    ),
    (
        "model",
        &[
            "aws",
            "state",
            "config",
            "progress",
            "interrupt",
            "error",
            "shell",
        ],
    ),
    // `cost --live` reads the Price List API through the AWS layer.
    ("cost", &["config", "aws", "error", "user_files"]),
    ("aws", &["progress", "interrupt", "error", "printable"]),
    ("state", &["config", "error", "printable", "user_files"]),
    ("config", &["aws", "error", "printable", "user_files"]),
    ("progress", &[]),
    ("interrupt", &[]),
    ("error", &["shell"]),
    ("shell", &[]),
    ("printable", &[]),
    ("user_files", &[]),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file's code names through `crate::`.
fn used(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
        // `use crate::{a, b}`
        if let Some(list) = rest.strip_prefix('{') {
            for part in list.split('}').next().unwrap_or_default().split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = common::root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "main" || top == "cli" {
            continue;
        }
        let (_, allowed) = LAYERS
            .iter()
            .find(|(layer, _)| *layer == top)
            .unwrap_or_else(|| {
                panic!(
                    "{top} (src/{}) is in no layer: add it to LAYERS",
                    relative.display()
                )
            });
        checked += 1;
        for name in used(&std::fs::read_to_string(file).unwrap()) {
            if name != top && !allowed.contains(&name.as_str()) {
                wrong.push(format!("src/{} uses crate::{name}", relative.display()));
            }
        }
    }
    assert!(checked > 40, "the source tree was read: {checked} files");
    assert!(
        wrong.is_empty(),
        "imports that reach upwards:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    let text = "use crate::{model::Env, ui::output};\nfn f() { crate::app::run(); }";
    assert_eq!(
        used(text),
        ["app", "model", "ui"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

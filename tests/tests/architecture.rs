//! docs/architecture.md's code map matches the folders: every module a
//! "Code map: `DIR`" section names (the backticked `name.rs` / `name/` at
//! the head of each bullet) exists in DIR, and every module in DIR (its
//! `.rs` files and folders, tests aside) is named in its section.

use std::collections::BTreeSet;
use std::path::Path;

/// (folder, the section's text) for each code-map section.
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("## ") {
            let dir = rest
                .strip_prefix("Code map: `")
                .and_then(|r| r.split('`').next())
                .map(String::from);
            match dir {
                Some(d) => out.push((d, String::new())),
                None => out.push((String::new(), String::new())),
            }
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    out.retain(|(d, _)| !d.is_empty());
    out
}

/// Backticked tokens of `text` that look like a module (`x.rs`, `x/`).
fn modules(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            let name = t.trim_end_matches('/');
            (t.ends_with(".rs") || t.ends_with('/'))
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
        .map(String::from)
        .collect()
}

/// Bullet heads: the text of each `- ` line up to its ` — `.
fn heads(section: &str) -> String {
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .map(|l| l.split(" — ").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_test_module(name: &str) -> bool {
    name == "tests.rs"
        || name == "tests/"
        || name.ends_with("_tests.rs")
        || name.starts_with("testutil")
}

#[test]
fn the_code_map_names_every_module_and_only_modules_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let secs = sections(&doc);
    assert!(secs.len() >= 4, "code-map sections: {secs:?}");
    let mut problems = Vec::new();
    for (dir, text) in &secs {
        let folder = root.join(dir);
        assert!(folder.is_dir(), "`{dir}` is not a folder");
        for m in modules(&heads(text)) {
            if !folder.join(m.trim_end_matches('/')).exists() {
                problems.push(format!("{dir}: `{m}` is named but does not exist"));
            }
        }
        let named = modules(text);
        for e in std::fs::read_dir(&folder).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let module = if p.is_dir() {
                format!("{name}/")
            } else if name.ends_with(".rs") {
                name.clone()
            } else {
                continue;
            };
            if is_test_module(&module) {
                continue;
            }
            if !named.contains(&module) {
                // A folder `x/` next to `x.rs` holds the latter's submodules.
                let parent = format!("{}.rs", module.trim_end_matches('/'));
                if p.is_dir() && named.contains(&parent) && text.contains(&format!("`{module}`")) {
                    continue;
                }
                // A folder that is itself a mapped section.
                if p.is_dir() && secs.iter().any(|(d, _)| d == &format!("{dir}/{name}")) {
                    continue;
                }
                problems.push(format!(
                    "{dir}: `{module}` exists but the code map does not name it"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/architecture.md is out of date:\n{}",
        problems.join("\n")
    );
}

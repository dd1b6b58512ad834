//! Hourglass: an incremental export provider for iGaming CRMs.
//!
//! The operator's platform writes rows in (`POST /api/<dataset>`); a CRM or an
//! analyst pulls half-open `[from, to)` windows of them out as streaming CSV,
//! JSON or NDJSON (`GET /api/<dataset>?from=…&to=…`), per InTarget's spec.
//!
//! Where to start reading: [`routes`] (the route table) → [`routes`]'s
//! handlers → [`stream`] and [`export`] (pulls) and [`ingest`] (writes) → [`datasets`]
//! (every dataset described once, in `datasets::defs`, and the generic code
//! that reads, stores and writes rows from that description) → [`db`].
//! [`relay`] is a consumer of consecutive windows run in-process: it pushes
//! every change to a points engine or a webhook that cannot pull.
//!
//! The modules stand in layers, and an import only ever points down (or
//! across a layer, without a loop): `docs/architecture.md` draws them, says
//! where each concept lives and how a pull, a write and a relay window flow
//! through them; the test below holds the code to its table.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod datasets;
pub mod db;
pub mod encode;
pub mod error;
pub mod export;
pub mod feeds;
pub mod ingest;
pub mod metrics;
pub mod money;
pub mod relay;
pub mod report;
pub mod retention;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod state;
pub mod stream;
pub mod timestamp;
pub mod visibility;
pub mod window;

#[cfg(test)]
mod layering {
    //! `docs/architecture.md`'s table of layers, held against the code: every
    //! `crate::` path a module names points to its own layer or one below,
    //! and the modules of one layer name each other without a loop.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Module → layer, from the table's rows (`| 5 | \`cli\`, … | … |`).
    fn layers() -> BTreeMap<String, u32> {
        let doc = include_str!("../docs/architecture.md");
        let mut layers = BTreeMap::new();
        for row in doc.lines().filter_map(|line| line.strip_prefix("| ")) {
            let mut cells = row.split('|');
            let Some(Ok(layer)) = cells.next().map(|c| c.trim().parse::<u32>()) else {
                continue;
            };
            for module in cells.next().unwrap_or_default().split(',') {
                layers.insert(module.trim().trim_matches('`').to_string(), layer);
            }
        }
        layers
    }

    /// Each top-level module and the other top-level modules it names
    /// (outside its tests), from the files under `src/`.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in files {
            let relative = file.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap();
            let module = first.as_os_str().to_str().unwrap().trim_end_matches(".rs");
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let named = imports.entry(module.to_string()).or_default();
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if rest[..end] != *module {
                    named.insert(rest[..end].to_string());
                }
            }
        }
        imports
    }

    #[test]
    fn imports_point_down_the_layers() {
        let layers = layers();
        let imports = imports();
        let layer_of = |module: &str| {
            *layers.get(module).unwrap_or_else(|| {
                panic!("module `{module}` is in no layer of docs/architecture.md")
            })
        };
        for (module, named) in &imports {
            if matches!(module.as_str(), "lib" | "main") {
                continue;
            }
            for other in named {
                assert!(
                    layer_of(other) <= layer_of(module),
                    "`{module}` (layer {}) imports `{other}` (layer {}): an arrow pointing up",
                    layer_of(module),
                    layer_of(other)
                );
            }
        }
        // No loop within a layer: take away, again and again, the modules
        // that name none of those left, or that none of those left names; a
        // loop is what can never go.
        let mut left: BTreeMap<&String, BTreeSet<&String>> = imports
            .iter()
            .map(|(module, named)| (module, named.iter().collect()))
            .collect();
        loop {
            let free = left.keys().copied().find(|module| {
                let names_none = left[module].iter().all(|n| !left.contains_key(*n));
                let named_by_none = left.values().all(|named| !named.contains(module));
                names_none || named_by_none
            });
            match free {
                Some(module) => left.remove(module),
                None => break,
            };
        }
        assert!(
            left.is_empty(),
            "modules that import each other in a loop: {left:?}"
        );
    }
}

//! The project index: which file is which Python module, and what a dotted
//! name used in one file (an import, `import x as y`, a relative import, a
//! re-export through a package `__init__`) refers to in another.
//!
//! Module names come from the file's path under the directory it was found in;
//! every dotted suffix is indexed too (`app.core.memory`, `core.memory`,
//! `memory`), so an app checked from its repository root still resolves
//! `from app.core.memory import x` (the way Pysa's search roots do). When a
//! suffix names several files, the one sharing most of the importer's path wins.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

/// Index of a file in the project (its position in the file list).
pub type FileId = usize;

/// What the index knows about one module: its dotted name and its top-level names.
#[derive(Debug, Default, Clone)]
pub struct ModuleInfo {
    /// Dotted name from the path (`app.core.memory`; a package's `__init__.py` is `app.core`).
    pub name: Vec<String>,
    pub is_package: bool,
    /// Names defined at top level (functions, classes, assignments).
    pub defines: Vec<String>,
    /// Imported names and what they refer to (`local -> "module.name"`, relative with dots).
    pub imports: HashMap<String, String>,
}

/// All modules of a run.
#[derive(Debug, Default)]
pub struct Index {
    pub modules: Vec<ModuleInfo>,
    full: HashMap<String, FileId>,
    suffix: HashMap<String, Vec<FileId>>,
}

/// The dotted module name of a file, from its path under `root` (or the path as given).
pub fn module_name(path: &Path, root: Option<&Path>) -> (Vec<String>, bool) {
    let rel = root.and_then(|r| path.strip_prefix(r).ok()).unwrap_or(path);
    let mut parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let Some(last) = parts.pop() else {
        return (Vec::new(), false);
    };
    let stem = last
        .strip_suffix(".pyi")
        .or_else(|| last.strip_suffix(".py"))
        .unwrap_or(&last)
        .to_string();
    let is_package = stem == "__init__";
    if !is_package {
        parts.push(stem);
    }
    (parts, is_package)
}

impl Index {
    pub fn new(modules: Vec<ModuleInfo>) -> Self {
        let mut full = HashMap::default();
        let mut suffix: HashMap<String, Vec<FileId>> = HashMap::default();
        for (id, m) in modules.iter().enumerate() {
            full.entry(m.name.join(".")).or_insert(id);
            for k in 0..m.name.len() {
                suffix.entry(m.name[k..].join(".")).or_default().push(id);
            }
        }
        Index {
            modules,
            full,
            suffix,
        }
    }

    /// The file of an absolute dotted module name as seen from `importer`.
    fn module(&self, importer: FileId, dotted: &str) -> Option<FileId> {
        if let Some(&id) = self.full.get(dotted) {
            return Some(id);
        }
        let ids = self.suffix.get(dotted)?;
        let me = &self.modules[importer].name;
        ids.iter().copied().max_by_key(|&id| {
            let other = &self.modules[id].name;
            let common = me.iter().zip(other).take_while(|(a, b)| a == b).count();
            (common, std::cmp::Reverse(id))
        })
    }

    /// `.x.y` (relative, as recorded by the model) made absolute for `importer`.
    fn absolute(&self, importer: FileId, qual: &str) -> Option<String> {
        let level = qual.chars().take_while(|&c| c == '.').count();
        if level == 0 {
            return Some(qual.to_string());
        }
        let m = &self.modules[importer];
        let mut package: Vec<&str> = m.name.iter().map(String::as_str).collect();
        if !m.is_package {
            package.pop();
        }
        for _ in 1..level {
            package.pop()?;
        }
        let rest = &qual[level..];
        if !rest.is_empty() {
            package.push(rest);
        }
        Some(package.join("."))
    }

    /// What a dotted name used in `importer` refers to: a file and a symbol in it
    /// (`make_backend`, `Service.get_deps`), following re-exports.
    pub fn resolve(&self, importer: FileId, qual: &str) -> Option<(FileId, String)> {
        self.resolve_depth(importer, qual, 0)
    }

    fn resolve_depth(
        &self,
        importer: FileId,
        qual: &str,
        depth: usize,
    ) -> Option<(FileId, String)> {
        if depth > 6 || self.modules.len() < 2 {
            return None;
        }
        let abs = self.absolute(importer, qual)?;
        let parts: Vec<&str> = abs.split('.').collect();
        // Longest module prefix first: `app.agents.make` is module `app.agents`, symbol `make`.
        for k in (1..parts.len()).rev() {
            let Some(file) = self.module(importer, &parts[..k].join(".")) else {
                continue;
            };
            let symbol = parts[k..].join(".");
            let first = parts[k];
            let m = &self.modules[file];
            if m.defines.iter().any(|d| d == first) {
                return Some((file, symbol));
            }
            // A re-export: `from .agents import make` in a package `__init__`.
            if let Some(target) = m.imports.get(first) {
                let rest = &parts[k + 1..];
                let next = if rest.is_empty() {
                    target.clone()
                } else {
                    format!("{target}.{}", rest.join("."))
                };
                return self.resolve_depth(file, &next, depth + 1);
            }
            return None;
        }
        None
    }

    /// A short display name of a file's module, for messages.
    pub fn display(&self, file: FileId) -> String {
        self.modules[file].name.join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, pkg: bool, defines: &[&str], imports: &[(&str, &str)]) -> ModuleInfo {
        ModuleInfo {
            name: name.split('.').map(String::from).collect(),
            is_package: pkg,
            defines: defines.iter().map(|s| s.to_string()).collect(),
            imports: imports
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }
    }

    #[test]
    fn module_names_from_paths() {
        let (n, pkg) = module_name(
            Path::new("root/app/core/memory.py"),
            Some(Path::new("root")),
        );
        assert_eq!(n, ["app", "core", "memory"]);
        assert!(!pkg);
        let (n, pkg) = module_name(Path::new("app/core/__init__.py"), None);
        assert_eq!(n, ["app", "core"]);
        assert!(pkg);
    }

    #[test]
    fn resolves_absolute_relative_suffix_and_reexports() {
        let idx = Index::new(vec![
            info("repo.app.main", false, &["app"], &[]),
            info("repo.app.agents", false, &["make_backend", "Service"], &[]),
            info(
                "repo.app",
                true,
                &[],
                &[("make_backend", ".agents.make_backend")],
            ),
            info("repo.app.core.memory", false, &["helper"], &[]),
        ]);
        assert_eq!(
            idx.resolve(0, "app.agents.make_backend"),
            Some((1, "make_backend".into()))
        );
        assert_eq!(
            idx.resolve(0, ".agents.Service.get"),
            Some((1, "Service.get".into()))
        );
        assert_eq!(
            idx.resolve(3, "..agents.make_backend"),
            Some((1, "make_backend".into()))
        );
        assert_eq!(
            idx.resolve(0, "repo.app.make_backend"),
            Some((1, "make_backend".into()))
        );
        assert_eq!(
            idx.resolve(0, "core.memory.helper"),
            Some((3, "helper".into()))
        );
        assert_eq!(idx.resolve(0, "fastapi.FastAPI"), None);
        assert_eq!(idx.resolve(0, "app.agents.missing"), None);
    }
}

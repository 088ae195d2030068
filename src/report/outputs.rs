//! Where `isocheck run` writes its reports: `--output PATH` (the `--format`
//! report) and `--output FORMAT=PATH` (repeatable), and `--write-baseline`.
//! Every path is checked before the run starts, so that a run of minutes
//! never ends in a report that cannot be written.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::Format;

/// What goes where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outputs {
    /// The `--format` report goes to standard output (no plain `--output`).
    pub stdout: bool,
    /// Reports written to files, in the order given.
    pub files: Vec<(Format, PathBuf)>,
}

impl Outputs {
    /// Parses the `--output` values: `FORMAT=PATH` when the part before the
    /// first `=` is a format name (`text`, `json`, `markdown`, `junit`,
    /// `sarif`, `html`), else a path for the `--format` report.
    pub fn parse(values: &[String], format: Format) -> Result<Self, String> {
        let mut files = Vec::new();
        let mut stdout = true;
        for v in values {
            let spec = v
                .split_once('=')
                .and_then(|(f, p)| Some((Format::from_str(f, false).ok()?, p)));
            let (fmt, path) = match spec {
                Some((f, p)) => (f, p),
                None => {
                    stdout = false;
                    (format, v.as_str())
                }
            };
            if path.is_empty() {
                return Err(format!("--output {v:?} names no file"));
            }
            files.push((fmt, PathBuf::from(path)));
        }
        Ok(Outputs { stdout, files })
    }

    /// Checks every path, and that none is given twice (`baseline`: the
    /// `--write-baseline` file).
    pub fn check(&self, baseline: Option<&Path>) -> Result<(), String> {
        let mut all: Vec<(&Path, &str)> = self
            .files
            .iter()
            .map(|(_, p)| (p.as_path(), "the report"))
            .collect();
        all.extend(baseline.map(|p| (p, "the baseline")));
        for (i, (path, what)) in all.iter().enumerate() {
            if all[..i].iter().any(|(p, _)| p == path) {
                return Err(format!(
                    "cannot write {what} to {}: the file is named twice",
                    path.display()
                ));
            }
            writable(path)
                .map_err(|why| format!("cannot write {what} to {}: {why}", path.display()))?;
        }
        Ok(())
    }
}

/// Whether `path` can be written, without changing it: an existing file is
/// opened for appending; a new one is created and removed again.
pub fn writable(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err("it is a directory".into());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!("the directory {} does not exist", parent.display()));
    }
    if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|e| e.to_string())
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| e.to_string())?;
        std::fs::remove_file(path).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<Outputs, String> {
        let v: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        Outputs::parse(&v, Format::Text)
    }

    #[test]
    fn format_prefixes_and_plain_paths() {
        let o = parse(&["sarif=a.sarif", "r.txt", "junit=x=y.xml", "notaformat=z"]).unwrap();
        assert!(!o.stdout, "a plain path takes the --format report");
        assert_eq!(
            o.files,
            vec![
                (Format::Sarif, PathBuf::from("a.sarif")),
                (Format::Text, PathBuf::from("r.txt")),
                (Format::Junit, PathBuf::from("x=y.xml")),
                (Format::Text, PathBuf::from("notaformat=z")),
            ]
        );
        assert!(parse(&["markdown=s.md"]).unwrap().stdout);
        assert!(parse(&["json="]).unwrap_err().contains("names no file"));
    }

    #[test]
    fn paths_are_checked_without_leaving_files() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        assert_eq!(writable(&new), Ok(()));
        assert!(!new.exists(), "the probe removes what it created");
        std::fs::write(&new, "keep").unwrap();
        assert_eq!(writable(&new), Ok(()));
        assert_eq!(std::fs::read_to_string(&new).unwrap(), "keep");
        let missing = dir.path().join("no-dir").join("r.json");
        assert!(writable(&missing).unwrap_err().contains("does not exist"));
        assert!(writable(dir.path()).unwrap_err().contains("directory"));
        let o = Outputs {
            stdout: true,
            files: vec![(Format::Json, new.clone())],
        };
        assert!(o.check(Some(&new)).unwrap_err().contains("named twice"));
    }
}

//! Pieces shared by the backends: virtual path normalization and the
//! listing/glob/grep semantics of pydantic-ai-backends.

use std::collections::BTreeSet;

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

use crate::subject::{FileInfo, GrepMatch, SubjectError, SubjectResult};

/// Normalizes an agent path to an absolute virtual path: `.` and empty
/// segments are dropped, `..` pops a segment and stops at the root, so the
/// result never leaves `/`. `"a/../b"` becomes `"/b"`.
pub fn normalize(path: &str) -> String {
    if is_normal(path) {
        return path.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Whether `path` is what [`normalize`] makes of it already: absolute,
/// no empty, `.` or `..` segment, no trailing slash (bar the root).
fn is_normal(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    rest.split('/').all(|seg| !matches!(seg, "" | "." | ".."))
}

/// Whether `path` (normalized) lies inside directory `dir` (normalized).
pub fn is_under(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// `path` relative to `dir` (both normalized; `path` under `dir`).
pub fn relative_to<'a>(path: &'a str, dir: &str) -> &'a str {
    if dir == "/" {
        path.trim_start_matches('/')
    } else {
        path[dir.len()..].trim_start_matches('/')
    }
}

/// Directory entries of `dir` given every file path in the store.
pub fn ls_from_files<'a>(files: impl Iterator<Item = (&'a str, u64)>, dir: &str) -> Vec<FileInfo> {
    let dir = normalize(dir);
    let mut dirs = BTreeSet::new();
    let mut out = Vec::new();
    for (path, size) in files {
        if path == dir || !is_under(path, &dir) {
            continue;
        }
        let rel = relative_to(path, &dir);
        match rel.split_once('/') {
            Some((first, _)) => {
                dirs.insert(join(&dir, first));
            }
            None => out.push(FileInfo {
                path: path.to_string(),
                is_dir: false,
                size: Some(size),
            }),
        }
    }
    out.extend(dirs.into_iter().map(|path| FileInfo {
        path,
        is_dir: true,
        size: None,
    }));
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// `dir` joined with a single name.
pub fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Compiles a glob where `*` stays within one segment and `**` crosses them.
pub fn glob_matcher(pattern: &str) -> SubjectResult<GlobMatcher> {
    GlobBuilder::new(pattern.trim_start_matches('/'))
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| SubjectError::Failed(format!("invalid glob {pattern:?}: {e}")))
}

/// Files under `base` whose path relative to `base` matches `pattern`.
pub fn glob_files<'a>(
    files: impl Iterator<Item = (&'a str, u64)>,
    pattern: &str,
    base: &str,
) -> SubjectResult<Vec<FileInfo>> {
    let matcher = glob_matcher(pattern)?;
    let base = normalize(base);
    let mut out: Vec<FileInfo> = files
        .filter(|(p, _)| {
            is_under(p, &base) && *p != base && matcher.is_match(relative_to(p, &base))
        })
        .map(|(p, size)| FileInfo {
            path: p.to_string(),
            is_dir: false,
            size: Some(size),
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Prepared arguments of `grep_raw`.
pub struct GrepQuery {
    regex: Regex,
    base: String,
    glob: Option<GlobMatcher>,
}

impl GrepQuery {
    pub fn new(pattern: &str, path: Option<&str>, glob: Option<&str>) -> SubjectResult<Self> {
        let regex = Regex::new(pattern)
            .map_err(|e| SubjectError::Failed(format!("invalid regex {pattern:?}: {e}")))?;
        let glob = glob.map(glob_matcher).transpose()?;
        Ok(Self {
            regex,
            base: normalize(path.unwrap_or("/")),
            glob,
        })
    }

    /// Whether the file at `path` is searched at all.
    pub fn wants(&self, path: &str) -> bool {
        if !is_under(path, &self.base) {
            return false;
        }
        match &self.glob {
            None => true,
            Some(g) => {
                let name = path.rsplit('/').next().unwrap_or(path);
                g.is_match(name) || g.is_match(relative_to(path, &self.base))
            }
        }
    }

    /// Appends the matching lines of one file.
    pub fn search(&self, path: &str, content: &[u8], out: &mut Vec<GrepMatch>) {
        let text = String::from_utf8_lossy(content);
        for (i, line) in text.lines().enumerate() {
            if self.regex.is_match(line) {
                out.push(GrepMatch {
                    path: path.to_string(),
                    line_number: i as u64 + 1,
                    line: line.to_string(),
                });
            }
        }
    }
}

/// Formats lines `offset..offset+limit` like pydantic-ai-backends (`cat -n`).
pub fn format_read(content: &[u8], offset: usize, limit: usize) -> String {
    let text = String::from_utf8_lossy(content);
    let mut out = String::new();
    for (i, line) in text.lines().enumerate().skip(offset).take(limit) {
        out.push_str(&format!("{:>6}\t{}\n", i + 1, line));
    }
    out
}

/// Applies an edit to `content`; returns the new content and the count.
pub fn apply_edit(
    content: &[u8],
    old: &str,
    new: &str,
    replace_all: bool,
    path: &str,
) -> SubjectResult<(String, usize)> {
    let text = String::from_utf8_lossy(content);
    if old.is_empty() {
        return Err(SubjectError::Failed("edit: old string is empty".into()));
    }
    let count = text.matches(old).count();
    if count == 0 {
        return Err(SubjectError::Failed(format!(
            "edit: string not found in {path}"
        )));
    }
    if count > 1 && !replace_all {
        return Err(SubjectError::Failed(format!(
            "edit: string occurs {count} times in {path}; use replace_all"
        )));
    }
    if replace_all {
        Ok((text.replace(old, new), count))
    } else {
        Ok((text.replacen(old, new, 1), 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_never_leaves_root() {
        assert_eq!(normalize("../../etc/passwd"), "/etc/passwd");
        assert_eq!(normalize("/a/./b/../c"), "/a/c");
        assert_eq!(normalize(""), "/");
        assert_eq!(
            normalize("/.deep/memory/main/MEMORY.md"),
            "/.deep/memory/main/MEMORY.md"
        );
    }

    #[test]
    fn paths_already_normal_are_kept_and_others_rebuilt() {
        for p in ["/", "/a", "/a/b.txt", "/.deep/x", "/a..b/c.", "/ä/b"] {
            assert!(is_normal(p), "{p}");
            assert_eq!(normalize(p), p);
        }
        for (p, n) in [
            ("a", "/a"),
            ("//a", "/a"),
            ("/a/", "/a"),
            ("/a/.", "/a"),
            ("/a/..", "/"),
            ("/./a", "/a"),
            ("/a//b", "/a/b"),
        ] {
            assert!(!is_normal(p), "{p}");
            assert_eq!(normalize(p), n, "{p}");
        }
        assert!(is_under("/a/b", "/a") && is_under("/a", "/a") && is_under("/x", "/"));
        assert!(!is_under("/ab", "/a") && !is_under("/a", "/a/b"));
    }

    #[test]
    fn ls_lists_direct_children_and_dirs() {
        let files = [("/a.txt", 1u64), ("/d/b.txt", 2), ("/d/e/c.txt", 3)];
        let ls = ls_from_files(files.iter().map(|(p, s)| (*p, *s)), "/");
        let paths: Vec<_> = ls.iter().map(|f| (f.path.as_str(), f.is_dir)).collect();
        assert_eq!(paths, vec![("/a.txt", false), ("/d", true)]);
    }

    #[test]
    fn glob_star_stays_in_segment() {
        let files = [("/a.txt", 1u64), ("/d/b.txt", 2)];
        let top = glob_files(files.iter().map(|(p, s)| (*p, *s)), "*.txt", "/").unwrap();
        assert_eq!(top.len(), 1);
        let all = glob_files(files.iter().map(|(p, s)| (*p, *s)), "**/*.txt", "/").unwrap();
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn edit_requires_unique_match_unless_replace_all() {
        assert!(apply_edit(b"x x", "x", "y", false, "/f").is_err());
        assert_eq!(
            apply_edit(b"x x", "x", "y", true, "/f").unwrap(),
            ("y y".to_string(), 2)
        );
    }
}

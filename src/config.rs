//! Project configuration: `isocheck.toml`, or `[tool.isocheck]` in a
//! `pyproject.toml`, holding defaults for `isocheck run` and `isocheck lint`.
//!
//! ```toml
//! [run]                      # [tool.isocheck.run] in pyproject.toml
//! adapter = "python -m isocheck_adapter --factory app.users:for_user"
//! cases = 64
//! scenarios = ["cross-read", "checkpoints"]
//! fail-on = "high"
//! output = ["junit=target/isocheck.xml", "sarif=target/isocheck.sarif"]
//!
//! [lint]                     # [tool.isocheck.lint]
//! select = ["ISO1"]
//! ignore = ["ISO109"]
//! ```
//!
//! A key is the long name of the command's flag, its value what the flag
//! takes: a string or number, `true` for a switch, a list for a flag that
//! may be repeated or takes a comma-separated list. A flag given on the
//! command line replaces the file's value (a list as a whole). An unknown
//! key or table, or a value the flag does not accept, is an error that
//! names the file, and the run does not start. Paths in the file are
//! relative to the directory isocheck runs in.
//!
//! The file is looked for in the current directory: `isocheck.toml` first,
//! then a `pyproject.toml` with a `[tool.isocheck]` table. `--config FILE`
//! names one (either kind); `--no-config` uses none.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};

/// The subcommands a configuration file may hold a table for.
pub const TABLES: &[&str] = &["run", "lint"];

/// Flags that only make sense on the command line.
const NOT_CONFIGURABLE: &[&str] = &["help", "version", "config", "no-config"];

/// A loaded configuration file: one table of flag values per subcommand.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from, as it is named in messages.
    pub path: PathBuf,
    /// `[run]` and `[lint]` (or `[tool.isocheck.run]` ...), as written.
    tables: BTreeMap<String, toml::Table>,
    /// How a table is named in messages: `[run]` or `[tool.isocheck.run]`.
    prefix: &'static str,
}

impl Config {
    /// The configuration isocheck uses in `dir` when none is named:
    /// `isocheck.toml`, else a `pyproject.toml` that has `[tool.isocheck]`.
    pub fn discover(dir: &Path) -> Result<Option<Config>, String> {
        let own = dir.join("isocheck.toml");
        if own.is_file() {
            return Config::load(&own).map(Some);
        }
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() {
            return Config::from_pyproject(&pyproject);
        }
        Ok(None)
    }

    /// Loads a file named by `--config`: a `pyproject.toml` (by its name)
    /// must have a `[tool.isocheck]` table; any other file is read as an
    /// `isocheck.toml`.
    pub fn load(path: &Path) -> Result<Config, String> {
        if path.file_name().and_then(|n| n.to_str()) == Some("pyproject.toml") {
            return Config::from_pyproject(path)?
                .ok_or_else(|| format!("{}: has no [tool.isocheck] table", path.display()));
        }
        let table = read_toml(path)?;
        Config::from_table(path, table, "")
    }

    fn from_pyproject(path: &Path) -> Result<Option<Config>, String> {
        let text = read_text(path)?;
        // A project file that never names isocheck is not ours to judge,
        // even when it does not parse.
        if !text.contains("isocheck") {
            return Ok(None);
        }
        let mut doc = parse_toml(path, &text)?;
        let ours = doc.remove("tool").and_then(|t| match t {
            toml::Value::Table(mut t) => t.remove("isocheck"),
            _ => None,
        });
        match ours {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Config::from_table(path, t, "tool.isocheck.").map(Some),
            Some(_) => Err(format!(
                "{}: [tool.isocheck] must be a table",
                path.display()
            )),
        }
    }

    fn from_table(path: &Path, table: toml::Table, prefix: &'static str) -> Result<Config, String> {
        let mut tables = BTreeMap::new();
        for (key, value) in table {
            if !TABLES.contains(&key.as_str()) {
                return Err(format!(
                    "{}: unknown key `{prefix}{key}` (accepted: {})",
                    path.display(),
                    TABLES
                        .iter()
                        .map(|t| format!("[{prefix}{t}]"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            match value {
                toml::Value::Table(t) => {
                    tables.insert(key, t);
                }
                _ => {
                    return Err(format!(
                        "{}: `{prefix}{key}` must be a table ([{prefix}{key}])",
                        path.display()
                    ))
                }
            }
        }
        Ok(Config {
            path: path.to_path_buf(),
            tables,
            prefix,
        })
    }

    /// The tables the file has.
    pub fn tables(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// How `table` is named in messages, with the file.
    pub fn place(&self, table: &str) -> String {
        format!("{} [{}{table}]", self.path.display(), self.prefix)
    }

    /// The arguments `[table]` adds to `command` (the subcommand's clap
    /// definition), as `--flag=value` words, leaving out every flag that
    /// `given` (the command line's own matches, if this is the subcommand
    /// that runs) set. Errors name the key, the table and the file.
    pub fn args_for(
        &self,
        table: &str,
        command: &Command,
        given: Option<&ArgMatches>,
    ) -> Result<Vec<OsString>, String> {
        let Some(values) = self.tables.get(table) else {
            return Ok(Vec::new());
        };
        let place = self.place(table);
        let configurable: Vec<_> = command
            .get_arguments()
            .filter(|a| !a.is_positional())
            .filter_map(|a| a.get_long().map(|l| (l, a)))
            .filter(|(l, _)| !NOT_CONFIGURABLE.contains(l))
            .collect();
        let mut words = Vec::new();
        for (key, value) in values {
            let Some((long, arg)) = configurable.iter().find(|(l, _)| *l == key.as_str()) else {
                let accepted: Vec<_> = configurable.iter().map(|(l, _)| *l).collect();
                return Err(format!(
                    "{place}: unknown key `{key}` (accepted: {})",
                    accepted.join(", ")
                ));
            };
            let id = arg.get_id().as_str();
            if given.and_then(|g| g.value_source(id)) == Some(ValueSource::CommandLine) {
                continue;
            }
            let many = matches!(arg.get_action(), ArgAction::Append)
                || arg.get_value_delimiter().is_some();
            match (arg.get_action(), value) {
                (ArgAction::SetTrue, toml::Value::Boolean(on)) => {
                    if *on {
                        words.push(OsString::from(format!("--{long}")));
                    }
                }
                (ArgAction::SetTrue, other) => {
                    return Err(format!(
                        "{place}: `{key}` is a switch: true or false, not {}",
                        other.type_str()
                    ))
                }
                (_, toml::Value::Array(items)) if many => {
                    for item in items {
                        words.push(flag_word(long, item, &place, key)?);
                    }
                }
                (_, toml::Value::Array(_)) => {
                    return Err(format!("{place}: `{key}` takes one value, not a list"))
                }
                (_, scalar) => words.push(flag_word(long, scalar, &place, key)?),
            }
        }
        Ok(words)
    }
}

/// `--long=value` for one scalar.
fn flag_word(long: &str, value: &toml::Value, place: &str, key: &str) -> Result<OsString, String> {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => {
            return Err(format!(
                "{place}: `{key}` takes a string or a number, not {}",
                other.type_str()
            ))
        }
    };
    Ok(OsString::from(format!("--{long}={text}")))
}

fn read_toml(path: &Path) -> Result<toml::Table, String> {
    parse_toml(path, &read_text(path)?)
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn parse_toml(path: &Path, text: &str) -> Result<toml::Table, String> {
    text.parse::<toml::Table>().map_err(|e| {
        // toml's message spans several lines (a snippet); keep the first.
        let msg = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string();
        match e.span() {
            Some(span) => {
                let line = text[..span.start].matches('\n').count() + 1;
                format!("{}:{line}: {msg}", path.display())
            }
            None => format!("{}: {msg}", path.display()),
        }
    })
}

//! Framework profiles (`suites/*.toml`): where a framework stores each
//! stateful feature. Scenario families use a profile's paths when a subject
//! offers no feature operations of its own; `--suite NAME|PATH` selects one.

use serde::Deserialize;

/// The profiles shipped in `suites/`, by name.
pub const BUILTIN: [(&str, &str); 3] = [
    (
        "pydantic-deep",
        include_str!("../suites/pydantic-deep.toml"),
    ),
    (
        "pydantic-deep-workspace",
        include_str!("../suites/pydantic-deep-workspace.toml"),
    ),
    ("deepagents", include_str!("../suites/deepagents.toml")),
];

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub paths: Paths,
    pub naming: Naming,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Paths {
    /// `{agent}` is replaced by the agent name.
    pub memory: String,
    /// `{slug}` and `{id}` are replaced.
    pub plan: String,
    /// `{call_id}` is replaced by the tool-call id.
    pub evicted: String,
    /// Files shared by design (read-only context).
    pub context: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Naming {
    pub plan_id_alphabet: String,
    pub plan_id_length: usize,
}

impl Default for Profile {
    fn default() -> Self {
        Profile::builtin("pydantic-deep").expect("the default profile parses")
    }
}

impl Profile {
    pub fn builtin(name: &str) -> Option<Profile> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| toml::from_str(t).expect("built-in profiles parse"))
    }

    /// A built-in name or the path of a TOML file; the error is one line.
    pub fn load(spec: &str) -> Result<Profile, String> {
        if let Some(p) = Profile::builtin(spec) {
            return Ok(p);
        }
        let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        let text = std::fs::read_to_string(spec).map_err(|e| {
            format!(
                "unknown suite '{spec}' (accepted: {} or the path of a TOML profile): {e}",
                names.join(", ")
            )
        })?;
        toml::from_str(&text).map_err(|e| {
            format!(
                "suite file {spec} is invalid: {}",
                e.to_string().replace('\n', " ")
            )
        })
    }

    pub fn memory_path(&self, agent: &str) -> String {
        self.paths.memory.replace("{agent}", agent)
    }

    pub fn evicted_path(&self, call_id: &str) -> String {
        self.paths.evicted.replace("{call_id}", call_id)
    }

    pub fn plan_path(&self, slug: &str, id: &str) -> String {
        self.paths.plan.replace("{slug}", slug).replace("{id}", id)
    }

    /// The directory plans are saved in (the template up to its last `/`).
    pub fn plan_dir(&self) -> &str {
        self.paths
            .plan
            .rsplit_once('/')
            .map(|(d, _)| d)
            .filter(|d| !d.is_empty())
            .unwrap_or("/")
    }
}

/// pydantic-deep's plan slug: lowercase ASCII alphanumerics, runs of
/// anything else become one `-`, trimmed, at most 50 characters; `plan` if
/// nothing is left.
pub fn slugify(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let s: String = out.trim_matches('-').chars().take(50).collect();
    if s.is_empty() {
        "plan".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_and_fill_templates() {
        let p = Profile::default();
        assert_eq!(p.memory_path("main"), "/.deep/memory/main/MEMORY.md");
        assert_eq!(p.plan_path("fix-bug", "ab12"), "/plans/fix-bug-ab12.md");
        assert_eq!(p.plan_dir(), "/plans");
        assert!(Profile::load("deepagents").is_ok());
        assert!(Profile::load("pydantic-deep-workspace").is_ok());
        let err = Profile::load("nope").unwrap_err();
        assert!(
            err.contains("accepted: pydantic-deep, pydantic-deep-workspace, deepagents"),
            "{err}"
        );
    }

    #[test]
    fn slugs_collide_as_pydantic_deep_does() {
        assert_eq!(slugify("Fix bug!"), "fix-bug");
        assert_eq!(slugify("FIX   BUG???"), "fix-bug");
        assert_eq!(slugify("fix-bug"), "fix-bug");
        assert_eq!(slugify("???"), "plan");
        assert_eq!(slugify("Ünïcödé"), "n-c-d");
    }
}

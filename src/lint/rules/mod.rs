//! The rule registry. One file per rule; each rule's doc comment is what
//! `isocheck explain` prints (taken from the doc attributes by [`declare_rule!`]).

use super::diagnostic::{Finding, Severity};
use super::model::Model;

/// Static description of a rule. `doc` is the rule's doc comment, verbatim.
#[derive(Debug)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub checklist: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub doc: &'static str,
}

impl RuleMeta {
    /// The doc comment as plain text (the one space rustdoc keeps after `///` removed).
    pub fn doc_text(&self) -> String {
        let mut out = String::with_capacity(self.doc.len());
        for line in self.doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out.trim_end().to_string() + "\n"
    }
}

/// Declares a rule's metadata; the `///` comment above it becomes `RuleMeta::doc`.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])+
        pub const $id:ident = ($code:literal, $name:literal, $checklist:literal, $sev:ident, $summary:literal);
    ) => {
        $(#[doc = $doc])+
        pub const $id: $crate::lint::rules::RuleMeta = $crate::lint::rules::RuleMeta {
            code: $code,
            name: $name,
            checklist: $checklist,
            severity: $crate::lint::diagnostic::Severity::$sev,
            summary: $summary,
            doc: concat!($($doc, "\n"),+),
        };
    };
}

pub mod iso000_parse_error;
pub mod iso101_shared_backend;
pub mod iso102_shared_deps;
pub mod iso103_shared_checkpoint_store;
pub mod iso104_ephemeral_checkpoint_store;
pub mod iso105_shared_message_history;
pub mod iso106_user_id_in_path;
pub mod iso107_unsandboxed_execute;
pub mod iso108_ephemeral_memory;
pub mod iso109_store_without_user_namespace;

/// Every rule, in code order.
pub static ALL: [&RuleMeta; 10] = [
    &iso000_parse_error::RULE,
    &iso101_shared_backend::RULE,
    &iso102_shared_deps::RULE,
    &iso103_shared_checkpoint_store::RULE,
    &iso104_ephemeral_checkpoint_store::RULE,
    &iso105_shared_message_history::RULE,
    &iso106_user_id_in_path::RULE,
    &iso107_unsandboxed_execute::RULE,
    &iso108_ephemeral_memory::RULE,
    &iso109_store_without_user_namespace::RULE,
];

/// A rule by code (`ISO106`) or name (`user-id-in-path`), case-insensitive.
pub fn lookup(key: &str) -> Option<&'static RuleMeta> {
    let key = key.trim();
    ALL.iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(key) || r.name.eq_ignore_ascii_case(key))
}

/// Runs every AST rule over one file's model.
pub fn check_all(model: &Model, out: &mut Vec<Finding>) {
    iso101_shared_backend::check(model, out);
    iso102_shared_deps::check(model, out);
    iso103_shared_checkpoint_store::check(model, out);
    iso104_ephemeral_checkpoint_store::check(model, out);
    iso105_shared_message_history::check(model, out);
    iso106_user_id_in_path::check(model, out);
    iso107_unsandboxed_execute::check(model, out);
    iso108_ephemeral_memory::check(model, out);
    iso109_store_without_user_namespace::check(model, out);
}

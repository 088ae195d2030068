//! The rule registry. One file per rule; each rule's doc comment is what
//! `isocheck explain` prints (taken from the doc attributes by [`declare_rule!`]).

use super::diagnostic::{Finding, Severity};
use super::program::Ctx;

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
pub mod iso110_shared_docker_container;
pub mod iso111_memory_namespace_without_user;

pub mod iso120_constant_thread_id;
pub mod iso121_request_thread_id;
pub mod iso122_cli_agent_per_chat;
pub mod iso123_shell_true_execute;
pub mod iso124_store_key_without_user;
mod lg_common;

/// Every rule, in code order.
pub static ALL: [&RuleMeta; 17] = [
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
    &iso110_shared_docker_container::RULE,
    &iso111_memory_namespace_without_user::RULE,
    &iso120_constant_thread_id::RULE,
    &iso121_request_thread_id::RULE,
    &iso122_cli_agent_per_chat::RULE,
    &iso123_shell_true_execute::RULE,
    &iso124_store_key_without_user::RULE,
];

/// Taxonomy tags of a rule for code-scanning tools: the CWE
/// (`external/cwe/cwe-22`), the OWASP Top 10 for LLM Applications 2025 and the
/// OWASP Top 10 for Agentic Applications ids, and `security` (or `reliability`
/// for rules about state that is lost rather than leaked).
pub fn tags(code: &str) -> &'static [&'static str] {
    const LEAK: &[&str] = &[
        "security",
        "external/cwe/cwe-668",
        "external/owasp-llm/LLM02:2025",
        "external/owasp-agentic/ASI06",
    ];
    match code {
        "ISO101" | "ISO102" | "ISO103" | "ISO105" | "ISO109" | "ISO110" | "ISO111" | "ISO120"
        | "ISO121" | "ISO124" => LEAK,
        "ISO106" => &[
            "security",
            "external/cwe/cwe-22",
            "external/owasp-llm/LLM02:2025",
            "external/owasp-agentic/ASI03",
        ],
        "ISO107" | "ISO122" | "ISO123" => &[
            "security",
            "external/cwe/cwe-250",
            "external/owasp-llm/LLM06:2025",
            "external/owasp-agentic/ASI05",
        ],
        "ISO104" | "ISO108" => &["reliability"],
        _ => &[],
    }
}

/// GitHub code scanning's `security-severity` (0-10) for a severity.
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.1",
        Severity::High => "7.5",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// A rule by code (`ISO106`) or name (`user-id-in-path`), case-insensitive.
pub fn lookup(key: &str) -> Option<&'static RuleMeta> {
    let key = key.trim();
    ALL.iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(key) || r.name.eq_ignore_ascii_case(key))
}

/// Runs every rule over one file of the program.
pub fn check_all(ctx: &Ctx, out: &mut Vec<Finding>) {
    let model = ctx.model();
    iso101_shared_backend::check(ctx, out);
    iso102_shared_deps::check(ctx, out);
    iso103_shared_checkpoint_store::check(ctx, out);
    iso104_ephemeral_checkpoint_store::check(model, out);
    iso105_shared_message_history::check(model, out);
    iso106_user_id_in_path::check(ctx, out);
    iso107_unsandboxed_execute::check(model, out);
    iso108_ephemeral_memory::check(model, out);
    iso109_store_without_user_namespace::check(model, out);
    iso110_shared_docker_container::check(model, out);
    iso111_memory_namespace_without_user::check(model, out);
    iso120_constant_thread_id::check(model, out);
    iso121_request_thread_id::check(ctx, out);
    iso122_cli_agent_per_chat::check(model, out);
    iso123_shell_true_execute::check(ctx, out);
    iso124_store_key_without_user::check(model, out);
}

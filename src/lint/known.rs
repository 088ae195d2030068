//! What isocheck knows about the frameworks: packages, classes and their semantics.

use ruff_python_ast::{self as ast, Expr};

use super::model::Model;

/// Web and chat-bot frameworks whose handlers are multi-user entry points.
pub const FRAMEWORKS: &[&str] = &[
    "fastapi",
    "starlette",
    "flask",
    "django",
    "aiohttp",
    "litestar",
    "quart",
    "sanic",
    "falcon",
    "tornado",
    "bottle",
    "telegram",
    "slack_bolt",
    "discord",
    "aiogram",
    "chainlit",
    "socketio",
    "wechatbot",
];

/// Decorator attributes (or imported decorator names) that register a handler.
pub const ROUTE_ATTRS: &[&str] = &[
    "get",
    "post",
    "put",
    "delete",
    "patch",
    "head",
    "options",
    "trace",
    "route",
    "api_route",
    "websocket",
    "websocket_route",
    "message",
    "event",
    "command",
    "action",
    "view",
    "shortcut",
    "options_handler",
    "message_handler",
    "callback_query_handler",
    "slash_command",
    "hybrid_command",
    "on_message",
    "on",
    "step",
    "on_chat_start",
];

/// Calls that register a function passed as an argument as a handler.
pub const REGISTER_CALLS: &[&str] = &[
    "Route",
    "WebSocketRoute",
    "Mount",
    "add_api_route",
    "add_api_websocket_route",
    "add_url_rule",
    "add_route",
    "add_websocket_route",
    "add_get",
    "add_post",
    "add_put",
    "add_delete",
    "add_patch",
    "path",
    "re_path",
    "CommandHandler",
    "MessageHandler",
    "CallbackQueryHandler",
    "InlineQueryHandler",
    "ConversationHandler",
    "register_message_handler",
    "on_message",
    "HTTPRoute",
    "get",
    "post",
    "put",
    "delete",
    "patch",
    "websocket",
];

/// Methods of an agent that start a run.
pub const RUN_METHODS: &[&str] = &["run", "run_sync", "run_stream", "iter", "run_stream_events"];

/// Method names of class-based views.
pub const HTTP_METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// pydantic-ai-backends, also re-exported by pydantic-deep.
pub const PAB: &[&str] = &[
    "pydantic_ai_backends",
    "pydantic_ai_backend",
    "pydantic_deep",
];
/// pydantic-ai workspaces (capabilities), re-exported by pydantic-deep and pydantic-ai-backends.
pub const PAI: &[&str] = &["pydantic_ai", "pydantic_ai_backends", "pydantic_deep"];
pub const PD: &[&str] = &["pydantic_deep"];
pub const DA: &[&str] = &["deepagents"];
pub const LG: &[&str] = &["langgraph"];
pub const DACLI: &[&str] = &["deepagents_cli"];

/// The classes and functions the rules care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// pydantic-ai-backends `StateBackend`: files in memory on the instance.
    PabState,
    /// pydantic-ai-backends `LocalBackend`: host directory, executes by default.
    PabLocal,
    /// pydantic-ai-backends `DockerSandbox`: a container.
    PabDocker,
    /// pydantic-ai workspaces: `StateWorkspace` (in memory).
    StateWorkspace,
    /// `LocalWorkspace`: a host directory, runs commands on the host.
    LocalWorkspace,
    /// Docker/Kubernetes/Daytona/sandboxd workspaces: one container per instance.
    ContainerWorkspace,
    /// deepagents `FilesystemBackend`.
    DaFilesystem,
    /// deepagents `LocalShellBackend`: host directory plus a host shell.
    DaLocalShell,
    /// deepagents `CompositeBackend`.
    DaComposite,
    /// deepagents `StoreBackend`.
    DaStore,
    DeepAgentDeps,
    CreateDeepAgent,
    InMemoryCheckpointStore,
    FileCheckpointStore,
    /// LangGraph in-memory checkpointer (`MemorySaver`, `InMemorySaver`).
    LgMemorySaver,
    /// Other LangGraph checkpointers (sqlite, postgres).
    LgSaver,
    /// LangGraph stores (`InMemoryStore`, `PostgresStore`, ...).
    LgStore,
    /// deepagents-cli's `create_cli_agent`: memory under `~/.deepagents/{assistant_id}`, a host shell by default.
    DaCliAgent,
    SessionManager,
}

impl Kind {
    /// A backend or workspace that holds files on the instance or in one place.
    pub fn holds_files(self) -> bool {
        matches!(
            self,
            Kind::PabState
                | Kind::PabLocal
                | Kind::PabDocker
                | Kind::StateWorkspace
                | Kind::LocalWorkspace
                | Kind::ContainerWorkspace
                | Kind::DaFilesystem
                | Kind::DaLocalShell
        )
    }

    /// A backend rooted in a host directory.
    pub fn rooted(self) -> bool {
        matches!(
            self,
            Kind::PabLocal | Kind::LocalWorkspace | Kind::DaFilesystem | Kind::DaLocalShell
        )
    }

    pub fn checkpoint_store(self) -> bool {
        matches!(
            self,
            Kind::InMemoryCheckpointStore
                | Kind::FileCheckpointStore
                | Kind::LgMemorySaver
                | Kind::LgSaver
        )
    }

    pub fn display(self) -> &'static str {
        match self {
            Kind::PabState => "StateBackend",
            Kind::PabLocal => "LocalBackend",
            Kind::PabDocker => "DockerSandbox",
            Kind::StateWorkspace => "StateWorkspace",
            Kind::LocalWorkspace => "LocalWorkspace",
            Kind::ContainerWorkspace => "container workspace",
            Kind::DaFilesystem => "FilesystemBackend",
            Kind::DaLocalShell => "LocalShellBackend",
            Kind::DaComposite => "CompositeBackend",
            Kind::DaStore => "StoreBackend",
            Kind::DeepAgentDeps => "DeepAgentDeps",
            Kind::CreateDeepAgent => "create_deep_agent",
            Kind::InMemoryCheckpointStore => "InMemoryCheckpointStore",
            Kind::FileCheckpointStore => "FileCheckpointStore",
            Kind::LgMemorySaver => "MemorySaver",
            Kind::LgSaver => "LangGraph checkpointer",
            Kind::LgStore => "LangGraph store",
            Kind::DaCliAgent => "create_cli_agent",
            Kind::SessionManager => "SessionManager",
        }
    }
}

/// Classifies a resolved callee name.
pub fn classify(m: &Model, qual: &str) -> Option<Kind> {
    let last = qual.rsplit('.').next().unwrap_or(qual);
    let table: &[(&[&str], &[&str], Kind)] = &[
        (PAB, &["StateBackend"], Kind::PabState),
        (PAB, &["LocalBackend"], Kind::PabLocal),
        (PAB, &["DockerSandbox"], Kind::PabDocker),
        (PAB, &["SessionManager"], Kind::SessionManager),
        (PAI, &["StateWorkspace"], Kind::StateWorkspace),
        (
            PAI,
            &["LocalWorkspace", "LocalWorkspaceBackend"],
            Kind::LocalWorkspace,
        ),
        (
            PAI,
            &[
                "DockerWorkspace",
                "KubernetesWorkspace",
                "DaytonaWorkspace",
                "SandboxdWorkspace",
            ],
            Kind::ContainerWorkspace,
        ),
        (DA, &["FilesystemBackend"], Kind::DaFilesystem),
        (DA, &["LocalShellBackend"], Kind::DaLocalShell),
        (DA, &["CompositeBackend"], Kind::DaComposite),
        (DA, &["StoreBackend"], Kind::DaStore),
        (
            PD,
            &["DeepAgentDeps", "create_default_deps"],
            Kind::DeepAgentDeps,
        ),
        (PD, &["create_deep_agent"], Kind::CreateDeepAgent),
        (
            PD,
            &["InMemoryCheckpointStore"],
            Kind::InMemoryCheckpointStore,
        ),
        (PD, &["FileCheckpointStore"], Kind::FileCheckpointStore),
        (LG, &["MemorySaver", "InMemorySaver"], Kind::LgMemorySaver),
        (
            LG,
            &[
                "InMemoryStore",
                "PostgresStore",
                "AsyncPostgresStore",
                "SqliteStore",
                "AsyncSqliteStore",
            ],
            Kind::LgStore,
        ),
        (DACLI, &["create_cli_agent"], Kind::DaCliAgent),
        (
            LG,
            &[
                "SqliteSaver",
                "AsyncSqliteSaver",
                "PostgresSaver",
                "AsyncPostgresSaver",
                "RedisSaver",
                "AsyncRedisSaver",
            ],
            Kind::LgSaver,
        ),
    ];
    // Cheap pre-filter on the last segment before the package check.
    let mut found = None;
    for (roots, names, kind) in table {
        if names.contains(&last) && m.is_sym(qual, roots, names) {
            found = Some(*kind);
            break;
        }
    }
    // `SqliteSaver.from_conn_string(...)` builds a saver too.
    if found.is_none() && last == "from_conn_string" {
        let base = &qual[..qual.len() - last.len() - 1];
        return classify(m, base).filter(|k| matches!(k, Kind::LgSaver | Kind::LgMemorySaver));
    }
    found
}

/// The value of keyword argument `name`.
pub fn keyword<'a>(call: &'a ast::ExprCall, name: &str) -> Option<&'a Expr> {
    call.arguments
        .keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == name))
        .map(|k| &k.value)
}

/// Positional argument `index` or keyword `name`.
pub fn arg<'a>(call: &'a ast::ExprCall, index: usize, names: &[&str]) -> Option<&'a Expr> {
    call.arguments
        .args
        .get(index)
        .filter(|a| !a.is_starred_expr())
        .or_else(|| names.iter().find_map(|n| keyword(call, n)))
}

/// The interpolated expressions of an f-string.
pub fn fstring_exprs(f: &ast::ExprFString) -> impl Iterator<Item = &Expr> {
    f.value.iter().flat_map(|part| {
        let elems: Option<&ast::InterpolatedStringElements> = match part {
            ast::FStringPart::FString(fs) => Some(&fs.elements),
            ast::FStringPart::Literal(_) => None,
        };
        elems
            .into_iter()
            .flat_map(|e| e.interpolations().map(|i| &*i.expression))
    })
}

/// The root directory argument of a rooted backend.
pub fn root_arg(kind: Kind, call: &ast::ExprCall) -> Option<&Expr> {
    match kind {
        Kind::LocalWorkspace => arg(call, 0, &["root_dir", "path", "working_dir", "root"]),
        Kind::PabLocal | Kind::DaFilesystem | Kind::DaLocalShell => arg(call, 0, &["root_dir"]),
        _ => None,
    }
}

/// Whether a LocalBackend call leaves execution on (its default).
pub fn executes(kind: Kind, call: &ast::ExprCall) -> bool {
    match kind {
        Kind::PabLocal => ![
            "enable_execute",
            "enable_execution",
            "allow_execute",
            "execute",
        ]
        .iter()
        .any(|k| {
            keyword(call, k).is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if !b.value))
        }),
        Kind::DaLocalShell | Kind::LocalWorkspace => true,
        _ => false,
    }
}

/// A short source excerpt for messages.
pub fn snippet(source: &str, expr: &impl ruff_text_size::Ranged) -> String {
    let text = source.get(expr.range().to_std_range()).unwrap_or("");
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        let cut: String = one_line.chars().take(57).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

/// A call that runs a function later with the arguments after it: the
/// function and how many positional arguments come before those.
/// `loop.run_in_executor(executor, f, *args)`, `asyncio.to_thread(f, *args)`,
/// `run_in_threadpool(f, *args)` (Starlette, FastAPI), `anyio`'s
/// `to_thread.run_sync(f, *args)`, `executor.submit(f, *args)`.
pub fn run_later<'a>(m: &Model, c: &'a ast::ExprCall) -> Option<(&'a Expr, usize)> {
    let last = match &*c.func {
        Expr::Name(n) => n.id.as_str(),
        Expr::Attribute(a) => a.attr.id.as_str(),
        _ => return None,
    };
    let at = match last {
        "run_in_executor" => 1,
        "submit" => 0,
        "to_thread" | "run_in_threadpool" => {
            // Only asyncio's, Starlette's or FastAPI's, not a same-name helper.
            let q = m.qualify(&c.func)?;
            let from = ["asyncio", "starlette", "fastapi"];
            if !from.contains(&q.split('.').next().unwrap_or("")) {
                return None;
            }
            0
        }
        "run_sync" => {
            let q = m.qualify(&c.func)?;
            if !q.starts_with("anyio.") {
                return None;
            }
            0
        }
        _ => return None,
    };
    let f = c.arguments.args.get(at)?;
    matches!(f, Expr::Name(_) | Expr::Attribute(_)).then_some((f, at + 1))
}

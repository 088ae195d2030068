"""The current pydantic-deep generation (0.3.50: workspaces, the harness
Memory capability). Files live in a pydantic-ai workspace (`ctx.workspace`),
not in `DeepAgentDeps.backend`; memory is pydantic-ai-harness's `Memory`
over a store and a namespace; checkpoints still come from
`DeepAgentDeps.checkpoint_store` or the agent.

The guide-era generation (0.3.44) stays in the package's top-level modules.
This module imports nothing of pydantic-deep, so `__main__` can name these
factories in either environment."""

READY_NAMES = (
    "ws-shared",
    "ws-local-per-user",
    "ws-confined-per-user",
    "ws-confined-hashed",
    "memory-user-namespace",
    "memory-shared-namespace",
)

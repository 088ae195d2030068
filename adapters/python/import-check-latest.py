"""The current pydantic-deep's pinned set (requirements-latest.lock) imports together."""
import docker  # noqa: F401
import pydantic_ai  # noqa: F401
import pydantic_ai_backends  # noqa: F401
import pydantic_ai_harness  # noqa: F401
import pydantic_deep  # noqa: F401
from pydantic_ai_backends import ConfinedWorkspace, DockerWorkspace  # noqa: F401
from pydantic_ai_harness import Memory  # noqa: F401
from pydantic_deep import DeepAgentDeps, FileCheckpointStore, InMemoryCheckpointStore, create_deep_agent  # noqa: F401

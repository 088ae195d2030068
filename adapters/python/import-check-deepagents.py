"""The deepagents pinned set (requirements-deepagents.lock) imports together."""
import deepagents  # noqa: F401
import langgraph  # noqa: F401
import psycopg  # noqa: F401
from deepagents import create_deep_agent  # noqa: F401
from deepagents.backends import (  # noqa: F401
    CompositeBackend, FilesystemBackend, LocalShellBackend, StateBackend, StoreBackend,
)
from langchain_core.language_models import BaseChatModel  # noqa: F401
from langgraph.checkpoint.memory import InMemorySaver  # noqa: F401
from langgraph.checkpoint.postgres import PostgresSaver  # noqa: F401
from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: F401
from langgraph.graph import StateGraph  # noqa: F401
from langgraph.store.memory import InMemoryStore  # noqa: F401
from langgraph.store.postgres import PostgresStore  # noqa: F401

# ISO101 must fire on every line marked `expect`.
from functools import lru_cache

import pydantic_ai_backends as pab
from deepagents.backends import CompositeBackend, FilesystemBackend
from fastapi import FastAPI
from pydantic_ai_backends import LocalBackend as LB
from pydantic_ai_backends import StateBackend
from pydantic_deep import DeepAgentDeps, StateWorkspace, create_deep_agent

REPO_ROOT = "/srv/repo"
agent = create_deep_agent(include_memory=False)
app = FastAPI()
shared = StateBackend()  # expect: ISO101
workspace_agent = create_deep_agent(include_memory=False, workspace=StateWorkspace())  # expect: ISO101
files = CompositeBackend(default=FilesystemBackend(root_dir="/srv/data", virtual_mode=True), routes={})  # expect: ISO101, ISO101


class Service:
    backend = pab.DockerSandbox(image="python:3.12")  # expect: ISO101


@lru_cache
def get_backend():
    return LB(root_dir="/srv/data", enable_execute=False)  # expect: ISO101


@app.post("/a")
async def a(message: str):
    return await agent.run(message, deps=DeepAgentDeps(backend=shared))


@app.post("/b")
async def b(message: str):
    return await agent.run(message, deps=DeepAgentDeps(backend=Service.backend))


@app.post("/c")
async def c(message: str):
    return await agent.run(message, deps=DeepAgentDeps(backend=get_backend()))


@app.post("/d")
async def d(message: str):
    backend = LB(root_dir=REPO_ROOT, enable_execute=False)  # expect: ISO101
    return await agent.run(message, deps=DeepAgentDeps(backend=backend))


@app.post("/e")
async def e(message: str):
    return await workspace_agent.run(message, backend=files)

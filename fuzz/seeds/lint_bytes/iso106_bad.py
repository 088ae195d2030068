# ISO106 must fire on every line marked `expect`.
import os
import shutil
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket
from pydantic_ai_backends import DockerSandbox, SessionManager
from pydantic_ai_backends import LocalBackend as LB
from pydantic_deep import DeepAgentDeps, FileCheckpointStore, create_deep_agent
from telegram.ext import Application, MessageHandler, filters

app = FastAPI()
agent = create_deep_agent(include_memory=False)
DATA = Path("/srv/data")
manager = SessionManager(workspace_root="/srv/sessions")


def user_dir(name):
    return os.path.join("/srv/users", name)


@app.post("/chat/{user_id}")
async def chat(user_id: str, message: str):
    root = "/srv/ws/" + user_id
    backend = LB(root_dir=root, enable_execute=False)  # expect: ISO106
    store = FileCheckpointStore("/srv/cp/{}".format(user_id))  # expect: ISO106
    return await agent.run(message, deps=DeepAgentDeps(backend=backend, checkpoint_store=store))


@app.delete("/users/{user_id}")
async def delete_user(user_id: str):
    shutil.rmtree(DATA / user_id)  # expect: ISO106
    os.remove(user_dir(user_id) + ".json")  # expect: ISO106


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    session = websocket.query_params["session"]
    sandbox = await manager.get_or_create(session)  # expect: ISO106
    await websocket.send_text(str(sandbox))


@app.get("/export")
async def export(request: Request):
    name = request.query_params.get("file")
    with open(f"/srv/exports/{name}") as fh:  # expect: ISO106
        return fh.read()


async def on_message(update, context):
    who = update.effective_user.username
    notes = Path(f"/srv/notes/{who}.md")  # expect: ISO106
    await update.message.reply_text(notes.read_text())


bot = Application.builder().token("x").build()
bot.add_handler(MessageHandler(filters.TEXT, on_message))

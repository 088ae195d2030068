# ISO000: this file does not parse.
from fastapi import FastAPI

app = FastAPI()


@app.post("/chat/{user_id}"
async def chat(user_id: str):  # expect: ISO000
    return {}

# The floor for any Flask app: one route, no work.
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "ok"

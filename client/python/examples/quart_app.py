"""The callers' shape: an asyncio web application (Quart) that answers
/users/<id>/streak by calling tutoring.v1 through one shared
tutoring_client.aio.Client, created when the application starts and closed
when it stops.

    TUTORING_TARGET=127.0.0.1:50051 python3 quart_app.py --port 8080
    curl 'http://127.0.0.1:8080/users/42/streak?time_zone=Europe/Berlin'
"""

import argparse
import os

from quart import Quart, jsonify, request

import tutoring_client
from tutoring_client import aio

app = Quart(__name__)

# Which tutoring_client errors become which HTTP statuses.
HTTP_STATUS = {
    tutoring_client.NotFound: 404,
    tutoring_client.InvalidArgument: 400,
    tutoring_client.Unavailable: 503,
    tutoring_client.DeadlineExceeded: 504,
}


@app.before_serving
async def connect() -> None:
    app.tutoring = aio.Client(os.environ.get("TUTORING_TARGET", "127.0.0.1:50051"))


@app.after_serving
async def disconnect() -> None:
    await app.tutoring.close()


@app.route("/users/<int:user_id>/streak")
async def streak(user_id: int):
    try:
        s = await app.tutoring.get_streak(user_id, time_zone=request.args.get("time_zone", "UTC"))
    except tutoring_client.RpcError as error:
        return jsonify(error=error.code.name, details=error.details), HTTP_STATUS.get(type(error), 502)
    return jsonify(user_id=s.user_id, current_days=s.current_days, longest_days=s.longest_days,
                   last_active_date=s.last_active_date, active_today=s.active_on_as_of_date)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    app.run(host=args.host, port=args.port)

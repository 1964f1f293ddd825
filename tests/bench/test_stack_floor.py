"""bench/stack_floor.py's floor apps: they answer the seed contract's upload like the seed app."""

from __future__ import annotations

import io
from pathlib import Path

from bench import floor_apps, stack_floor

BENCH = Path(__file__).resolve().parents[2] / "bench"

BODY = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="7.png"\r\n\r\nPNG\r\n--b--\r\n'
)


def test_the_bare_app_reads_the_upload_and_answers_a_digit() -> None:
    stream = io.BytesIO(BODY)
    environ = {"CONTENT_LENGTH": str(len(BODY)), "wsgi.input": stream}
    seen = {}
    out = b"".join(floor_apps.bare(environ, lambda status, headers: seen.update(s=status)))
    assert seen["s"] == "200 OK"
    assert out == b'{"digit": 7}'
    assert stream.tell() == len(BODY)  # the body was read, as a real handler must


def test_the_flask_app_answers_the_seed_route() -> None:
    client = floor_apps.flask_app.test_client()
    reply = client.post("/predict", data=BODY, content_type="multipart/form-data; boundary=b")
    assert reply.status_code == 200
    assert reply.get_json() == {"digit": 7}


def test_every_server_runs_one_thread_per_worker_with_the_same_worker_count() -> None:
    command = stack_floor.gunicorn("floor_apps:bare", "buffered", 8000, 2, BENCH)
    assert command[command.index("-k") + 1] == "serving.worker.BufferingWorker"
    assert command[command.index("--threads") + 1] == "1"
    assert command[command.index("-w") + 1] == "2"

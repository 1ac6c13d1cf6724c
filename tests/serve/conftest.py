"""A real ``softkv serve`` process on loopback, started by the test and stopped by its process id."""

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url: str, method: str = "GET", body=None, token: str | None = None):
    """(status, JSON) of one request to the service."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextlib.contextmanager
def serving(store, *options: str, env=None):
    """``softkv serve STORE`` on a free loopback port: yields (base url, process); stopped by SIGTERM to its pid
    (uvicorn shuts down gracefully, so the service saves unsaved writes) and waited for."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "softkv", "serve", str(store), "--port", str(port), *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise AssertionError(f"softkv serve exited {process.returncode}: {process.stderr.read()[-2000:]}")
            with contextlib.suppress(OSError):
                if call(url + "/health")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("softkv serve did not answer /health within 120 s")
            time.sleep(0.2)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
        process.stderr.close()


@pytest.fixture(scope="session")
def fruit_store(tmp_path_factory, minilm):
    from softkv import SoftDict

    d = SoftDict({"apple": 10, "banana": 5, "cherry": 7, "chair": 2, "sofa": 1, "table": 4, "garden hose": 11})
    d.add("lamp", 8, aliases=["light"])
    return d.save(tmp_path_factory.mktemp("served") / "fruit.softkv")

"""The real server: ``softkv serve`` on loopback, started here and stopped by its process id."""

import os
import signal

import pytest

from softkv import SoftDict
from softkv.cli import main

from .conftest import call, serving

pytestmark = pytest.mark.slow


def test_a_served_store_answers_as_the_dict_and_a_restart_answers_the_same(fruit_store, tmp_path):
    from softkv.read import as_record

    store = tmp_path / "fruit.softkv"
    store.write_bytes(fruit_store.read_bytes())
    d = SoftDict.load(store)
    queries = ["aple", "a seat", "light", "quantum chromodynamics"]
    with serving(store, "--writable", "--token", "s3cret") as (url, process):
        for query in queries:
            status, got = call(f"{url}/lookup?q={query.replace(' ', '+')}")
            assert status == 200 and got == as_record(d.lookup(query, on_miss="ignore"), 5)
        assert call(f"{url}/keys/pear", "PUT", {"value": 3})[0] == 401  # a token was given: writes need it
        assert call(f"{url}/keys/pear", "PUT", {"value": 3}, token="s3cret") == (200, {"key": "pear", "keys": 9})
        before = [call(f"{url}/lookup?q={query.replace(' ', '+')}")[1] for query in [*queries, "pear"]]
        os.kill(process.pid, signal.SIGTERM)  # stopped by its process id: it saves the unsaved write on the way out
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn shuts down, then re-raises the signal
    assert SoftDict.load(store)["pear"] == 3
    with serving(store) as (url, _):
        after = [call(f"{url}/lookup?q={query.replace(' ', '+')}")[1] for query in [*queries, "pear"]]
        assert after == before
        assert call(f"{url}/keys/pear", "DELETE")[0] == 403  # not --writable this time


def test_a_writable_service_beyond_loopback_needs_a_token(fruit_store, capsys, monkeypatch):
    monkeypatch.delenv("SOFTKV_TOKEN", raising=False)
    assert main(["serve", str(fruit_store), "--host", "0.0.0.0", "--writable"]) == 1
    assert "give --token (or set SOFTKV_TOKEN), or bind to 127.0.0.1" in capsys.readouterr().err


def test_serve_takes_a_store_and_says_how_to_make_one(tmp_path, capsys):
    catalog = tmp_path / "fruit.csv"
    catalog.write_text("key,value\napple,1\n")
    assert main(["serve", str(catalog)]) == 1
    assert "softkv build" in capsys.readouterr().err and "fruit.softkv" in str(catalog.with_suffix(".softkv"))
    with pytest.raises(SystemExit):
        main(["serve", str(catalog), "--port", "70000"])
    assert "a port is a whole number from 0 to 65535" in capsys.readouterr().err


def test_the_serve_benchmark_runs_at_tiny_sizes():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "serve.py"
    out = subprocess.run([sys.executable, str(script), "--keys", "100", "--requests", "10", "--mix", "90"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "mix of 90 requests" in out.stdout and ": 0 errors" in out.stdout
    assert "restarted from its store: 41 answers the same" in out.stdout

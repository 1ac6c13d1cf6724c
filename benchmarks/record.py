"""Run one benchmark and keep what it printed in the docs' performance page, with the date and the machine.

``python record.py SCRIPT [ARGS...]`` runs ``SCRIPT`` with this Python,
shows its output as it comes, and, when it succeeds, replaces the section
of ``docs/performance-runs.md`` named after the script with that output,
headed by when and where it ran (CPU, cores, BLAS threads, Python, numpy).
``make bench`` runs every benchmark through it; the page shows the last run
of each, so a table there is always one a run printed, never one typed in.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

RUNS = Path(__file__).resolve().parent.parent / "docs" / "performance-runs.md"
HEAD = """# Benchmark runs

What `make bench` printed, one section per benchmark, each headed by when and where it ran.
A benchmark not run since this page began has no section yet. Compare ratios measured in the
same run, not times across runs: the machine is shared.
"""


def machine() -> str:
    """The CPU model, core count, BLAS threads, Python and numpy this run used."""
    import numpy as np

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    return (f"{model}, {os.cpu_count()} cores, OPENBLAS_NUM_THREADS={threads}, Python {platform.python_version()}, "
            f"numpy {np.__version__}")


def sections(text: str) -> dict[str, str]:
    """The page's sections by benchmark name (text after the head); a "## " line inside a benchmark's printed
    output (a fenced block) is part of that output, not a head."""
    found: dict[str, list[str]] = {}
    current, fenced = None, False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        head = None if fenced else re.fullmatch(r"## `(.+)`", line)
        if head:
            current = head.group(1)
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {name: "\n".join(lines).strip("\n") for name, lines in found.items()}


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    command = [sys.executable, *sys.argv[1:]]
    began = datetime.datetime.now(datetime.timezone.utc)
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1) as process:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            sys.stdout.write(line)
            lines.append(line.rstrip("\n"))
    if process.returncode:
        return process.returncode
    minutes = (datetime.datetime.now(datetime.timezone.utc) - began).total_seconds() / 60
    found = sections(RUNS.read_text(encoding="utf-8")) if RUNS.exists() else {}
    name = " ".join(sys.argv[1:])
    found[name] = (f"Run {began:%Y-%m-%d %H:%M} UTC ({minutes:.1f} min) on {machine()}.\n\n"
                   "```text\n" + "\n".join(lines).strip("\n") + "\n```")
    body = "\n\n".join(f"## `{key}`\n\n{found[key]}" for key in sorted(found))
    RUNS.write_text(HEAD + "\n" + body + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

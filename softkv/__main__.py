"""``python -m softkv``: the softkv command."""

from .cli import run

run()

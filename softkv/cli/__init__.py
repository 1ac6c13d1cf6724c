"""The ``softkv`` command: build a store from a catalog once, then query it from the shell.

:func:`main` runs one command line and returns its exit code (0 done, 1 bad
input, 2 bad usage, 3 a query matched no key); :func:`run` is the console
script; :func:`parser` declares the commands and their options.
"""

from ._commands import main, run
from ._parser import EXIT_INPUT, EXIT_MISS, EXIT_USAGE, parser

__all__ = ["EXIT_INPUT", "EXIT_MISS", "EXIT_USAGE", "main", "parser", "run"]

"""A save killed at any step leaves the old file or the new one, whole: each step killed in turn, by SIGKILL."""

import os
import signal

import pytest

from softkv import LexicalEncoder, SoftDict

pytestmark = pytest.mark.stress

ENCODER = LexicalEncoder(n_features=256)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _file_bytes(d: SoftDict, path) -> bytes:
    """The bytes a save of ``d`` writes (saved beside ``path``, then removed)."""
    other = path.with_name("sizing.softkv")
    data = d.save(other).read_bytes()
    other.unlink()
    return data


def _save_killed(d: SoftDict, path, point: str, member: int = 0) -> None:
    """Fork; in the child, save ``d`` to ``path`` and SIGKILL it at ``point`` of the save (for "writing": after
    ``member`` quarters of its bytes)."""
    pid = os.fork()
    if pid == 0:
        try:
            if point == "writing":  # once ``member`` quarters of the new file's bytes are written
                real_fdopen, limit = os.fdopen, member * len(_file_bytes(d, path)) // 4

                class DyingFile:
                    def __init__(self, handle):
                        self.handle, self.written = handle, 0

                    def write(self, data):
                        if self.written + len(data) > limit:
                            self.handle.write(bytes(data)[: max(limit - self.written, 0)])
                            self.handle.flush()
                            _die()
                        self.written += len(data)
                        return self.handle.write(data)

                    def __getattr__(self, name):
                        return getattr(self.handle, name)

                    def __enter__(self):
                        return self

                    def __exit__(self, *exc):
                        return self.handle.__exit__(*exc)

                os.fdopen = lambda *args, **kwargs: DyingFile(real_fdopen(*args, **kwargs))
            elif point == "fsync":  # written, not yet on disk for sure
                os.fsync = lambda fd: _die()
            elif point == "before rename":
                os.replace = lambda *args: _die()
            elif point == "after rename":  # renamed; the folder's entry not yet fsynced
                real_replace = os.replace

                def replace_then_die(*args):
                    real_replace(*args)
                    _die()

                os.replace = replace_then_die
            d.save(path)
        finally:
            os._exit(0)  # the kill did not land: a failure the parent sees
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"{point}: the child was not killed"


POINTS = [("writing", quarter) for quarter in range(4)] + [("fsync", 0), ("before rename", 0), ("after rename", 0)]


@pytest.mark.parametrize("point, member", POINTS, ids=[f"writing {m}/4" if p == "writing" else p for p, m in POINTS])
def test_a_save_killed_at_each_step_leaves_the_old_file_or_the_new_one(tmp_path, point, member):
    old = SoftDict({f"key {i}": float(i) for i in range(300)}, encoder=ENCODER)
    new = SoftDict({f"other {i}": [float(i), 1.0] for i in range(200)}, encoder=ENCODER)
    path = old.save(tmp_path / "target.softkv")
    _save_killed(new, path, point, member)
    loaded = SoftDict.load(path, encoder=ENCODER)  # raises if the file were damaged
    assert loaded == (new if point == "after rename" else old)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "target.softkv"]
    if point == "after rename":
        assert leftovers == []
    else:  # the killed save's temporary file, which the next save of that name removes once it is stale
        assert len(leftovers) == 1 and leftovers[0].startswith(".target.softkv.") and leftovers[0].endswith(".tmp")

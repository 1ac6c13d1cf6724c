"""The package as users get it: a wheel that installs with every subpackage, a light import, a command that
answers --help and --version, and a public API that a user's type checker accepts."""

import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

import softkv

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_PACKAGES = ["softkv", "softkv.attention", "softkv.spelling", "softkv.params", "softkv.errors", "softkv.store",
                   "softkv.encoders", "softkv.read", "softkv.io", "softkv.tools", "softkv.tools.plot", "softkv.nn",
                   "softkv.cli", "softkv.datasets"]


def run(*command: str, **options):
    return subprocess.run(list(command), capture_output=True, text=True, timeout=600, **options)


def test_import_softkv_loads_no_tool_no_file_code_and_no_heavy_library():
    code = ("import sys, softkv; print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('softkv', 'torch', 'sentence_transformers', 'transformers', 'sklearn', 'scipy', 'matplotlib', 'fastapi', "
            "'uvicorn'))))")
    loaded = run(sys.executable, "-c", code).stdout.split()
    assert "softkv.softdict" in loaded and "softkv.read" in loaded
    for lazy in ("softkv.io", "softkv.tools", "softkv.nn", "softkv.cli", "softkv.datasets", "softkv.serve"):
        assert not any(name == lazy or name.startswith(lazy + ".") for name in loaded), lazy
    assert not [name for name in loaded if not name.startswith("softkv")]


def test_the_lazy_subpackages_load_when_first_named():
    code = "import softkv; softkv.tools.compare; softkv.io.save; import sys; print('softkv.tools' in sys.modules)"
    assert run(sys.executable, "-c", code).stdout.split() == ["True"]


def test_python_m_softkv_and_the_console_script_answer_help_and_version():
    out = run(sys.executable, "-m", "softkv", "--help")
    assert out.returncode == 0 and "query" in out.stdout and "build" in out.stdout
    script = Path(sysconfig.get_path("scripts")) / "softkv"
    out = run(str(script), "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"softkv {softkv.__version__}"


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A venv holding only softkv, installed from a wheel built from the tree (its dependencies, from this
    environment, through a path entry: not a site dir, so this environment's editable install is not seen)."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    out = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
              str(tmp_path / "dist"), str(ROOT))
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("softkv-*.whl")
    venv = tmp_path / "fresh"
    assert run(sys.executable, "-m", "venv", "--without-pip", str(venv)).returncode == 0
    python = venv / "bin" / "python"
    out = run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel))
    assert out.returncode == 0, out.stderr[-2000:]
    site = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return wheel, venv


@pytest.mark.slow
def test_a_wheel_built_from_the_tree_installs_in_a_fresh_venv_and_imports_every_public_package(fresh_venv, tmp_path):
    wheel, venv = fresh_venv
    names = zipfile.ZipFile(wheel).namelist()
    assert "softkv/py.typed" in names and "softkv/read/_scoring.py" in names and "softkv/__main__.py" in names
    assert all(f"{package.replace('.', '/')}/__init__.py" in names
               for package in ("softkv.store", "softkv.encoders", "softkv.read", "softkv.io", "softkv.tools",
                               "softkv.nn", "softkv.cli"))
    code = (f"import importlib; mods = [importlib.import_module(n) for n in {PUBLIC_PACKAGES!r}]; "
            "print(mods[0].__file__, mods[0].__version__)")
    out = run(str(venv / "bin" / "python"), "-c", code, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    location, version = out.stdout.split()
    assert location.startswith(str(venv)) and version == softkv.__version__


USER_FILE = '''
from pathlib import Path

from softkv import LookupResult, SoftDict


def read_fruit(path: Path) -> dict[str, float]:
    d = SoftDict({"apple": 10.0, "banana": 5.0, "chair": 2.0})
    d.temperature = 0.05
    d.top_k = None
    d.threshold = "auto"
    report = d.calibrate()
    chosen: dict[str, object] = report.chosen
    saved: Path = d.save(path)
    loaded: SoftDict = SoftDict.load(saved)
    result: LookupResult = loaded.lookup("fruit")
    return result.weights
'''


@pytest.mark.slow
def test_a_users_file_using_the_documented_api_type_checks_under_mypy_strict(fresh_venv, tmp_path):
    _, venv = fresh_venv
    user = tmp_path / "user.py"
    user.write_text(textwrap.dedent(USER_FILE))
    out = run(sys.executable, "-m", "mypy", "--strict", "--python-executable", str(venv / "bin" / "python"),
              "--cache-dir", str(tmp_path / "cache"), str(user), cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:]

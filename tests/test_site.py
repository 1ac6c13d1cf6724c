"""The documentation site builds with warnings as errors, and its pages render in a browser.

The build runs wherever the ``[docs]`` extra is installed (``make install`` installs it), and runs every example
(sphinx-gallery). The browser checks open the start page, a guide, the API reference and an executed example in
headless Chromium (Debian's ``chromium``, which ``make docs``
installs when it can), read the DOM after the page's scripts ran, and take a screenshot of each; they skip
where no Chromium is installed.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"index.html": "softkv", "guide/command.html": "Catalogs, the command", "api.html": "API reference",
         "examples/hard_vs_soft.html": "Hard (nearest key) against soft"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("sphinx")
    pytest.importorskip("pydata_sphinx_theme")
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
                            str(ROOT / "docs"), str(out)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    return out


DOCUMENTED = ["softkv.params", "softkv.errors", "softkv.encoders", "softkv.read", "softkv.io", "softkv.tools",
              "softkv.nn", "softkv.attention", "softkv.spelling", "softkv.store", "softkv.datasets", "softkv.serve"]


def test_the_site_builds_with_warnings_as_errors_and_documents_every_public_name(site):
    import importlib
    import inspect

    api = (site / "api.html").read_text(encoding="utf-8")
    missing = []
    for name in DOCUMENTED:
        module = importlib.import_module(name)
        for member in module.__all__:
            value = getattr(module, member)
            if (inspect.isclass(value) or inspect.isfunction(value)) and f'id="{name}.{member}"' not in api:
                missing.append(f"{name}.{member}")
    assert not missing and 'id="softkv.SoftDict.lookup"' in api and 'id="softkv.SoftDict.calibrate"' in api, missing


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.parametrize("page, title", PAGES.items())
def test_pages_render_in_headless_chromium(site, page, title, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium installed (make docs installs it where apt can)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1000"]
    url = (site / page).as_uri()
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert f"<title>{title}" in dom or title in dom.split("<h1", 1)[1][:300]
    assert 'class="bd-header' in dom and "navbar" in dom  # the theme's header and navigation ran
    assert "<pre" in dom  # a code block
    if page == "index.html":
        assert "<img" in dom and "fruit_weights.png" in dom
    if page.startswith("examples/"):  # run when the site was built: its figure and what it printed
        assert "<img" in dom and "sphx-glr-script-out" in dom and "304 cars" in dom
    shot = tmp_path / (page.replace("/", "-") + ".png")
    subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, timeout=120)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one

"""The service's page in headless Chromium (Debian's chromium and chromium-driver, through selenium): type a
query, see the answer and the bars, move the temperature slider, see the weights change; screenshots of each
step go to $SOFTKV_SCREENSHOTS when it is set (else the test's temporary folder)."""

import os
import shutil
from pathlib import Path

import pytest

from .conftest import serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("no chromium and chromium-driver installed (make docs installs them where apt can)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,900"):
        options.add_argument(flag)
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    yield driver
    driver.quit()


def weights(driver):
    return {row.find_elements("css selector", "td")[0].text: float(row.find_element("css selector", "td.weight").text)
            for row in driver.find_elements("css selector", "#bars tr.key")}


def test_the_page_reads_a_query_shows_the_bars_and_rereads_with_the_slider(browser, fruit_store, tmp_path):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("SOFTKV_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, 60)
    with serving(fruit_store) as (url, _):
        browser.get(url + "/")
        wait.until(lambda b: "keys" in b.find_element("id", "info").text)
        assert "8 keys (scalar), encoder MiniLMEncoder" in browser.find_element("id", "info").text
        browser.find_element("id", "q").send_keys("a sweet fruit", Keys.ENTER)
        wait.until(lambda b: len(b.find_elements("css selector", "#bars tr.key")) >= 3)
        before = weights(browser)
        assert max(before, key=before.get) in ("apple", "banana", "cherry")
        assert browser.find_element("id", "answer").text not in ("", "no match")
        hard = browser.find_element("id", "hard").text
        assert " → " in hard and hard.split(" → ")[0] == max(before, key=before.get)
        bar = browser.find_element("css selector", "#bars tr.key .bar")
        assert bar.size["width"] > 0
        browser.save_screenshot(str(shots / "page-1-query.png"))

        slider = browser.find_element("id", "temperature")
        assert slider.is_enabled()
        shown = browser.find_element("id", "tvalue").text
        for _ in range(60):  # the arrow keys move a range input and fire its input event, as a user's do
            slider.send_keys(Keys.ARROW_RIGHT)
        wait.until(lambda b: b.find_element("id", "tvalue").text != shown and weights(b) != before)
        wait.until(lambda b: max(weights(b).values()) < max(before.values()) - 0.05)  # warmer: flatter weights
        browser.save_screenshot(str(shots / "page-2-warmer.png"))

        query = browser.find_element("id", "q")
        query.clear()
        query.send_keys("<b>quantum</b> chromodynamics", Keys.ENTER)
        wait.until(lambda b: b.find_element("id", "answer").text == "no match")
        assert "threshold" in browser.find_element("id", "reason").text
        assert browser.find_elements("css selector", "#answer b, #bars b") == []  # text, never markup
        browser.save_screenshot(str(shots / "page-3-miss.png"))
    assert all((shots / name).stat().st_size > 10_000 for name in ("page-1-query.png", "page-2-warmer.png",
                                                                    "page-3-miss.png"))

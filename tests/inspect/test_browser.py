"""The report opens in headless Chromium: every view is drawn and a discovered unit is clickable."""

import shutil

import pytest

from recur.inspect.report import write_report
from tests.conftest import tiny_text

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (CHROMIUM and DRIVER):
        pytest.skip("headless Chromium is not installed (chromium and chromedriver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=DRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


def test_the_report_opens_and_its_units_are_clickable(browser, char_run, tmp_path):
    from selenium.webdriver.common.by import By

    out = tmp_path / "report.html"
    text = tiny_text(10, seed=5) + "a </script><!-- b\n"  # must not end the page's data block
    findings = write_report(char_run, text, str(out))
    browser.get(out.as_uri())
    surprise = browser.find_elements(By.CSS_SELECTOR, "#surprise span")
    assert len(surprise) == len(findings["tokens"])
    cards = browser.find_elements(By.CSS_SELECTOR, "#discovery .card")
    assert len(cards) == len(findings["discovery"]) > 0
    assert browser.find_elements(By.CSS_SELECTOR, "#gates svg circle")
    second = findings["discovery"][0]["units"][1]["unit"]
    browser.find_element(By.CSS_SELECTOR, f'#discovery a[data-unit="{second}"]').click()
    assert browser.find_element(By.ID, "unitname").text.startswith(second)
    assert browser.find_element(By.ID, "unit").get_attribute("value") == second
    assert len(browser.find_elements(By.CSS_SELECTOR, "#units span")) == len(findings["tokens"])
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors

"""A real uvicorn server on 127.0.0.1 (a free port, in a thread): the official ``openai`` client's
completions, streaming and not; a client that disconnects frees its slot at once; a request past
its time ends; and the playground page in headless Chromium shows a generated sample."""

import shutil
import time

import httpx
import pytest

from recur.serve.launch import Background

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def url(app):
    with Background(app) as address:
        yield address


def test_the_openai_client_completes_streaming_and_not(url):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    assert "lm" in [m.id for m in client.models.list().data]
    whole = client.completions.create(model="lm", prompt="the cat", max_tokens=20, seed=4)
    assert len(whole.choices[0].text) == 20 and whole.choices[0].finish_reason == "length"
    chunks = list(
        client.completions.create(model="lm", prompt="the cat", max_tokens=20, seed=4, stream=True)
    )
    pieces = [c.choices[0].text for c in chunks]
    assert "".join(pieces) == whole.choices[0].text and len(chunks) >= 20
    assert chunks[-1].choices[0].finish_reason == "length"
    with pytest.raises(openai.NotFoundError, match="unknown model"):
        client.completions.create(model="nothing", prompt="x", max_tokens=2)


def test_a_client_that_disconnects_frees_its_slot_at_once(url, models, monkeypatch):
    engine = models["lm"].engine
    step = engine._step

    def slow_step():  # 1400 tokens take 28 s: a request not cancelled outlives the deadline
        time.sleep(0.02)
        step()

    monkeypatch.setattr(engine, "_step", slow_step)
    body = {"model": "lm", "length": 1400, "stream": True}
    with httpx.Client(timeout=10) as client:
        with client.stream("POST", url + "/v1/generate", json=body) as response:
            next(response.iter_lines())
            assert engine.load == 1
    deadline = time.monotonic() + 5
    while engine.load and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.load == 0 and time.monotonic() < deadline
    assert httpx.get(url + "/v1/models").status_code == 200


def test_a_request_past_its_time_ends_with_reason_time(models, url):
    engine = models["lm"].engine
    engine.request_seconds, saved = 0.05, engine.request_seconds
    try:
        body = {"model": "lm", "length": 1400}
        result = httpx.post(url + "/v1/generate", json=body, timeout=10).json()
    finally:
        engine.request_seconds = saved
    assert result["finish_reasons"] == ["time"] and len(result["samples"][0]) < 1400


def test_the_page_shows_a_sample_growing_in_headless_chromium(url):
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip(
            "no chromium + chromedriver installed (apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        browser.get(url)
        WebDriverWait(browser, 15).until(lambda b: "lm" in b.find_element(By.ID, "facts").text)
        browser.find_element(By.ID, "prime").send_keys("the cat")
        length = browser.find_element(By.ID, "length")
        length.clear()
        length.send_keys("1200")
        # every length the sample's text passes through, recorded in the page as it changes
        browser.execute_script(
            "window.seen = []; new MutationObserver(() => window.seen.push("
            "document.getElementById('sample-0').textContent.length)).observe("
            "document.getElementById('output'), {childList: true, subtree: true, "
            "characterData: true});"
        )
        browser.find_element(By.ID, "generate").click()
        WebDriverWait(browser, 20).until(
            lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "done"
        )
        text = browser.find_element(By.ID, "sample-0").text
        seen = browser.execute_script("return window.seen")
    finally:
        browser.quit()
    assert text.startswith("the cat") and len(text) >= 1200
    assert len(set(seen)) > 5 and seen == sorted(seen)  # it grew, piece by piece

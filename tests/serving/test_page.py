"""The draw-a-digit page in headless Debian Chromium (Playwright) against a real Gunicorn.

Chromium comes from Debian's ``chromium`` package (``make browser-deps``), never from
``playwright install``; if it is missing this test fails and says how to install it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .auth_files import write_credentials
from .conftest import png_bytes
from .live import running_server

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--no-first-run",
]
# A "7": a top bar, then a long diagonal down to the left (canvas pixels of the 280x280 pad).
SEVEN = [[(70, 55), (215, 55)], [(215, 55), (120, 235)]]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (Debian package chromium)")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(_session_store, tmp_path_factory):
    directory = tmp_path_factory.mktemp("page")
    creds = write_credentials(directory / "creds")
    env = {
        "SERVING_MODEL_STORE": str(_session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(_session_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "WEB_CONCURRENCY": "1",
        **creds.env(),
    }
    with running_server(env, directory / "server.log") as base:
        yield base, creds


@pytest.fixture
def page(browser, site):
    base, creds = site
    context = browser.new_context(viewport={"width": 900, "height": 700}, has_touch=True)
    page = context.new_page()
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    page.goto(base + "/")
    page.fill("#api-key", creds.api_key)  # /status lists the models to authenticated callers
    page.dispatch_event("#api-key", "change")
    page.wait_for_selector("#model option >> nth=1", state="attached")  # models listed
    yield page, creds, console_errors
    context.close()


def draw(page, strokes, steps: int = 12) -> None:
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280
    for stroke in strokes:
        (x0, y0), (x1, y1) = stroke
        page.mouse.move(box["x"] + x0 * scale, box["y"] + y0 * scale)
        page.mouse.down()
        page.mouse.move(box["x"] + x1 * scale, box["y"] + y1 * scale, steps=steps)
        page.mouse.up()


def bars(page) -> list[float]:
    return [
        float(p)
        for p in page.locator("#chart rect.bar").evaluate_all(
            "rects => rects.map(r => r.dataset.probability)"
        )
    ]


def test_draw_a_seven_and_see_the_prediction(page):
    page, creds, console_errors = page
    page.fill("#api-key", creds.api_key)
    draw(page, SEVEN)
    page.click("#predict")
    page.wait_for_selector("#chart rect.bar >> nth=9")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-draw-seven.png"), full_page=True)
    assert page.text_content("#status") == "done"
    digit = page.text_content("#digit")
    probabilities = bars(page)
    assert len(probabilities) == 10
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)
    assert int(digit) == max(range(10), key=probabilities.__getitem__)
    assert digit == "7"
    assert page.locator("#chart rect.bar.top").get_attribute("data-class") == "7"
    assert "mnist" in page.text_content("#served-by")
    assert "% sure" in page.text_content("#confidence")
    assert console_errors == []


def test_touch_drawing_and_model_picker(page):
    page, creds, _ = page
    page.fill("#api-key", creds.api_key)
    page.select_option("#model", label="mnist · v1")
    page.evaluate(
        """strokes => {
            const pad = document.getElementById("pad");
            const box = pad.getBoundingClientRect();
            const fire = (type, [x, y]) => pad.dispatchEvent(new PointerEvent(type, {
                pointerId: 7, pointerType: "touch", isPrimary: true, bubbles: true,
                clientX: box.left + x * box.width / 280, clientY: box.top + y * box.height / 280,
            }));
            for (const [from, to] of strokes) {
                fire("pointerdown", from);
                for (let i = 1; i <= 12; i++) {
                    fire("pointermove", [from[0] + (to[0] - from[0]) * i / 12,
                                         from[1] + (to[1] - from[1]) * i / 12]);
                }
                fire("pointerup", to);
            }
        }""",
        SEVEN,
    )
    page.click("#predict")
    page.wait_for_selector("#chart rect.bar >> nth=9")
    assert page.text_content("#digit") == "7"
    assert page.text_content("#served-by") == "mnist · v1"


def test_upload_a_picture(page, digit, tmp_path):
    page, creds, _ = page
    pixels, label = digit
    picture = tmp_path / "digit.png"
    picture.write_bytes(png_bytes(pixels))
    page.fill("#api-key", creds.api_key)
    page.set_input_files("#upload", str(picture))
    page.wait_for_selector("#chart rect.bar >> nth=9")
    assert page.text_content("#digit") == str(label)


def test_wrong_key_shows_the_problem(page):
    page, _, _ = page
    page.fill("#api-key", "not-the-right-key-000")
    draw(page, SEVEN)
    page.click("#predict")
    # (not wait_for_function: the page's CSP forbids the eval it needs, as it should)
    expect(page.locator("#status")).to_have_text(re.compile(r"^401 Unauthorized"))
    assert "API key is not valid" in page.text_content("#status")
    assert page.locator("#chart rect").count() == 0

"""The review workbench in a real browser: Playwright drives Debian's Chromium (installed
by .ci/run) against ``autocode review`` running as its own process. Skipped where no
Chromium or no Playwright is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from review_fixtures import make_trained

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install -y chromium)"), pytest.mark.slow]


class Server:
    """``autocode review PROJECT --port 0`` as a process, and an HTTP client of its API."""

    def __init__(self, folder: Path, *extra: str):
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "pipeline", "review", str(folder), "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        line = self.proc.stdout.readline()
        assert line.startswith("autocode review: http://127.0.0.1:"), line
        self.url = line.split(": ", 1)[1].strip()
        self.base, self.token = self.url.split("/?token=")
        self.api = httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def codings(self, coder: str) -> list[dict]:
        return [u for u in map(json.loads, self.api.get("/api/codings").text.splitlines()) if u["coder"] == coder]

    def stop(self):
        self.api.close()
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    project = make_trained(tmp_path_factory.mktemp("browser"))
    folder = project.folder
    project.close()
    s = Server(folder, "--retrain-every", "1000")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def open_page(browser, url: str, dialogs: list | None = None):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("dialog", lambda d: (dialogs.append(d.message) if dialogs is not None else None, d.dismiss()))
    page.goto(url)
    page.wait_for_selector("[data-segment]")
    return page


def current(page) -> str:
    return page.get_attribute("[data-segment]", "data-segment")


def pressed(page) -> list[str]:
    return sorted(page.eval_on_selector_all('button.code[aria-pressed="true"]', "bs => bs.map(b => b.dataset.code)"))


def press_and_wait(page, key: str, before: str) -> str:
    page.keyboard.press(key)
    page.wait_for_function("s => { const e = document.querySelector('[data-segment]'); return e && e.dataset.segment !== s; }", arg=before)
    return current(page)


def test_ten_segments_coded_by_keyboard_alone_then_undo(server, browser):
    page = open_page(browser, server.url + "&coder=kb")
    decided = {}
    keys = {code: page.inner_text(f'button.code[data-code="{code}"] kbd') for code in ("MARKT", "SPRACHE", "FOERDER")}
    for k in range(10):
        seg = current(page)
        if k % 3 == 1:  # correct the proposal: toggle a code by its key
            page.keyboard.press(keys["FOERDER"])
        decided[seg] = pressed(page)
        press_and_wait(page, "Enter", seg)
    units = server.codings("kb")
    assert {u["id"]: u["codes"] for u in units} == decided
    assert all(u["assisted"] for u in units)
    # Undo takes back the last decision and shows its segment again.
    last = list(decided)[-1]
    press_and_wait(page, "z", current(page))
    assert current(page) == last
    assert sorted(u["id"] for u in server.codings("kb")) == sorted(list(decided)[:-1])
    page.wait_for_function("() => document.querySelectorAll('#history li').length === 9")
    page.close()


def test_blind_coding_shows_no_proposals(server, browser):
    page = open_page(browser, server.url + "&coder=blindcoder&blind=1")
    assert page.locator("button.code.proposed").count() == 0
    assert page.locator('button.code[aria-pressed="true"]').count() == 0
    assert all(t == "" for t in page.locator("button.code .score").all_inner_texts())
    assert page.is_hidden("#others")
    seg = current(page)
    page.keyboard.press([k for k in page.locator("button.code kbd").all_inner_texts()][0])
    press_and_wait(page, "Enter", seg)
    (unit,) = server.codings("blindcoder")
    assert unit["id"] == seg and unit["assisted"] is False
    # The same segment for another coder, not blind: proposals and the other coders shown.
    seeing = open_page(browser, server.url + "&coder=seeing")
    assert seeing.locator("button.code.proposed").count() >= 1 or seeing.locator(".score").first.inner_text() != ""
    assert "blindcoder" in seeing.inner_text("#others")
    page.close()
    seeing.close()


def test_a_script_in_a_transcript_renders_as_text(server, browser):
    dialogs: list = []
    rows = server.api.get("/api/codings").text.splitlines()
    target = next(json.loads(r) for r in rows if "<script>" in json.loads(r)["text"])
    # Decide everything before it for this coder, so that it is the next segment.
    view = server.api.get("/api/next", params={"coder": "xss"}).json()
    while view["segment"] != target["id"]:
        view = server.api.post("/api/decisions", json={"segment": view["segment"], "coder": "xss", "codes": [],
                                                       "proposals_shown": False}).json()["next"]
    page = open_page(browser, server.url + "&coder=xss", dialogs)
    text = page.inner_text("[data-segment] .text")
    assert text == target["text"]
    assert "<script>alert('x')</script>" in text and "<img src=x onerror=alert" in text
    assert page.locator("#context script, #context img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []
    page.close()


def test_a_request_without_the_token_is_refused(server, browser):
    page = browser.new_page()
    response = page.goto(server.base + "/?coder=nobody")
    assert response.status == 401
    assert "token" in page.inner_text("body")
    assert page.goto(server.base + "/static/app.js").status == 401
    assert page.goto(server.base + "/api/codings").status == 401
    page.close()


def test_two_coders_at_once(server, browser):
    a = open_page(browser.new_context().new_page().context.browser, server.url + "&coder=duo_a")
    b = open_page(browser, server.url + "&coder=duo_b")
    first_a, first_b = current(a), current(b)
    assert first_a == first_b  # each coder has their own queue
    seen = {"duo_a": [], "duo_b": []}
    for _ in range(3):
        for page, who in ((a, "duo_a"), (b, "duo_b")):
            seg = current(page)
            seen[who].append((seg, pressed(page)))
            page.keyboard.press("Enter")
        for page, who in ((a, "duo_a"), (b, "duo_b")):
            page.wait_for_function("s => document.querySelector('[data-segment]').dataset.segment !== s", arg=seen[who][-1][0])
    for who in seen:
        assert sorted((u["id"], u["codes"]) for u in server.codings(who)) == sorted(seen[who])
    assert [s for s, _ in seen["duo_a"]] == [s for s, _ in seen["duo_b"]]
    a.close()
    b.close()


def test_a_model_trains_in_the_background_and_the_proposals_change(tmp_path, browser):
    project = make_trained(tmp_path, coder="T")
    folder = project.folder
    # The first model learned a wrong rule for one segment's words; the coder now teaches the right one.
    project.close()
    s = Server(folder, "--retrain-every", "5")
    try:
        page = open_page(browser, s.url + "&coder=teacher")
        before = s.api.get("/api/status").json()["model"]["name"]
        scores_before = page.locator("button.code .score").all_inner_texts()
        start = time.monotonic()
        for _ in range(5):
            seg = current(page)
            # The teacher disagrees with the first model: no code at all on these segments.
            page.keyboard.press("n")
            page.wait_for_function("s => document.querySelector('[data-segment]').dataset.segment !== s", arg=seg)
        typing = time.monotonic() - start
        assert typing < 10  # the page did not wait for the training
        # The page polls the status: the list of ready models gains v2, and the view is refreshed.
        page.wait_for_function("() => [...document.querySelectorAll('#models li')].some(li => li.textContent.startsWith('v2'))",
                               timeout=180_000)
        status = s.api.get("/api/status").json()
        assert (before, status["model"]["name"]) == ("v1", "v2")
        assert [m["name"] for m in status["models"] if m["status"] == "ready"] == ["v1", "v2"]
        page.wait_for_timeout(500)
        shown = s.api.get("/api/segment", params={"id": current(page), "coder": "teacher"}).json()
        assert shown["model"]["name"] == "v2"
        after = page.locator("button.code .score").all_inner_texts()
        assert after != scores_before or current(page) != seg
        assert [t for t in after if t] == [f"{shown['scores'][c]:.3f}".replace(".", ",") for c in ("MARKT", "SPRACHE", "FOERDER")]
    finally:
        s.stop()

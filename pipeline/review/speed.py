"""How fast the workbench answers on a large project (``autocode benchmark review-speed``).

The project is built from the sample interviews: each of ``documents`` documents strings
whole interviews together until it holds its share of ``segments``, so that a project of
50 transcripts and about 20,000 segments exists without 50 new interviews (the texts
repeat, so the embedding cache makes coding it affordable; the queues and the database do
not profit from the repetition). It is coded with the shipped model, served by
``autocode review`` as its own process, and timed from outside: the start-up until the
address is printed, the answer to a decision (which carries the next segment) and a plain
``GET /api/next``, over HTTP on this machine; and, where Chromium is installed, the time
from pressing Enter in the page until the next segment is shown.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pipeline.review.simulate import next_latency


def build_texts(sample: Path, out: Path, *, documents: int, segments: int, config) -> list[Path]:
    """Write ``documents`` transcripts of about ``segments / documents`` segments each."""
    from pipeline.text.ingest import collect_inputs, read_transcript
    from pipeline.text.segment import segment_transcript

    parts = [read_transcript(p) for p in collect_inputs([sample])]
    sizes = [len(segment_transcript(t, config=config.segment)) for t in parts]
    share = segments / documents
    out.mkdir(parents=True, exist_ok=True)
    written, k = [], 0
    for d in range(documents):
        texts, n = [], 0
        while n < share:
            texts.append(parts[k % len(parts)].text.strip())
            n += sizes[k % len(parts)]
            k += 1
        path = out / f"bench_{d + 1:02d}.txt"
        path.write_text("\n\n".join(texts) + "\n", encoding="utf-8")
        written.append(path)
    return written


def start_server(folder: Path, *extra: str) -> tuple[subprocess.Popen, str, float]:
    """``autocode review FOLDER --port 0``; returns the process, its address and the
    seconds until it printed it."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "review", str(folder), "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ})
    line = proc.stdout.readline()
    took = time.perf_counter() - start
    if not line.startswith("autocode review: "):
        proc.kill()
        raise RuntimeError(f"autocode review did not start: {line!r}")
    return proc, line.split(": ", 1)[1].strip(), took


def browser_latency(url: str, *, coder: str, n: int, chromium: str) -> dict:
    """Milliseconds from pressing Enter in the page until the next segment is shown: as the
    page measures it (its User Timing measure ``next-segment``: from the decision to the
    next segment in the page), and as seen from outside (Playwright's key press until the
    new segment is found in the page, which adds the remote control's round trips)."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url + f"&coder={coder}")
        page.wait_for_selector("[data-segment]")
        for _ in range(n):
            before = page.get_attribute("[data-segment]", "data-segment")
            start = time.perf_counter()
            page.keyboard.press("Enter")
            page.wait_for_function("s => { const e = document.querySelector('[data-segment]'); return e && e.dataset.segment !== s; }",
                                   arg=before, polling="raf")
            times.append(time.perf_counter() - start)
        inside = page.evaluate("() => performance.getEntriesByName('next-segment').map(e => e.duration)")
        browser.close()

    def ms(xs, scale):
        return {"median_ms": round(scale * float(np.median(xs)), 1), "p95_ms": round(scale * float(np.percentile(xs, 95)), 1), "n": len(xs)}

    return {"in_page": ms(inside, 1.0), "from_outside": ms(times, 1000.0)}


def measure(folder: Path, *, decisions: int, chromium: str | None) -> dict:
    """Start-up (twice: the second is warm) and the latencies on the project at ``folder``."""
    import httpx

    out: dict = {}
    for attempt in ("startup_first_s", "startup_warm_s"):
        proc, url, took = start_server(folder)
        out[attempt] = round(took, 2)
        if attempt == "startup_first_s":
            proc.terminate()
            proc.wait(timeout=30)
    try:
        base, token = url.split("/?token=")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for queue in ("document", "suggest"):
                out[f"http_{queue}"] = next_latency(client, coder=f"speed-{queue}", queue=queue, n=decisions)
        if chromium:
            out["browser_document"] = browser_latency(url, coder="speed-browser", n=min(decisions, 100), chromium=chromium)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out

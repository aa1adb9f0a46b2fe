"""A simulated round of coding in the workbench, and the speed of its next segment.

``autocode benchmark review`` plays a researcher whose codes are known (a coder's hand
codes on the sample corpus) through the workbench's JSON API: it asks for the next
segment, looks at the model's proposal, and sends its own codes — the proposal
unchanged where it equals them, corrected otherwise. A model is trained in the
background every ``retrain_every`` decisions, as in the workbench; the simulated
researcher waits for it (a person codes more slowly than the model trains), so that the
figures do not depend on the machine's speed. The project starts without a model: the
shipped model was trained on the sample corpus, and its proposals there would be
in-sample.

Per block of 100 decisions it reports the share of proposals accepted unchanged and the
mean number of code changes per segment (codes added plus codes removed), beside what
coding the same segments without proposals would take (every code added by hand).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.review.store import Project
from pipeline.text.codings import project_codings, read_hand_codes

BLOCK = 100


def researcher_codes(project: Project, codings: Sequence[str | Path], coder: str) -> dict[str, frozenset[str]]:
    """The codes ``coder`` gave each codable project segment (segments of documents
    they coded; others are absent)."""
    hand = read_hand_codes(codings, codebook=project.codebook)
    segments = []
    from pipeline.review.worker import project_segments

    for name, segs in project_segments(project).items():
        segments.extend(s for s in segs if s.codable and hand.covers(coder, s))
    labels = project_codings(segments, [c for c in hand.codings if c.coder == coder], min_overlap=project.config.training.min_overlap)
    return {s.id: frozenset(found.get(coder, ())) for s, found in zip(segments, labels)}


def simulate(client, project: Project, truth: dict[str, frozenset[str]], *, queue: str, decisions: int,
             coder: str = "sim", poll: float = 0.5, progress=None) -> dict:
    """Code ``decisions`` segments through the API of ``client`` (an HTTP client of the
    workbench, the token set) as a researcher whose codes are ``truth``.

    Returns:
        ``{"queue", "decisions", "blocks": [...], "models": [...], "steps": [...]}``; each
        block has ``accepted_unchanged`` (share of decisions whose proposal equalled the
        codes), ``changes`` (mean codes added or removed from the proposal) and
        ``changes_without`` (the same segments coded without proposals).
    """
    steps = []
    for k in range(decisions):
        # The model in the loop: wait for a training under way to finish.
        while (status := client.get("/api/status").json())["training"] is not None:
            time.sleep(poll)
        view = client.get("/api/next", params={"coder": coder, "queue": queue, "blind": 0}).json()
        seg = view["segment"]
        if seg is None:
            break
        if seg not in truth:
            # Not coded by the researcher (a document they did not code): skipped.
            client.post("/api/decisions", json={"segment": seg, "coder": coder, "codes": [], "skip": True,
                                                "proposals_shown": False, "queue": queue, "next": False})
            continue
        want = truth[seg]
        proposed = frozenset(view.get("proposals") or ())
        shown = "proposals" in view
        answer = client.post("/api/decisions", json={
            "segment": seg, "coder": coder, "codes": sorted(want), "proposals_shown": shown,
            "model": view["model"]["id"] if shown else None, "queue": queue, "next": False,
        })
        answer.raise_for_status()
        steps.append({"segment": seg, "model": status["model"] and status["model"]["name"], "proposed": sorted(proposed),
                      "codes": sorted(want), "unchanged": proposed == want, "changes": len(proposed ^ want),
                      "without": len(want)})
        if progress and (k + 1) % 25 == 0:
            progress(f"{queue}: {k + 1} decisions, model {status['model'] and status['model']['name']}")
    while client.get("/api/status").json()["training"] is not None:
        time.sleep(poll)
    blocks = []
    for a in range(0, len(steps), BLOCK):
        part = steps[a : a + BLOCK]
        blocks.append({
            "decisions": f"{a + 1}–{a + len(part)}",
            "accepted_unchanged": round(float(np.mean([s["unchanged"] for s in part])), 3),
            "changes": round(float(np.mean([s["changes"] for s in part])), 3),
            "unchanged_without": round(float(np.mean([s["without"] == 0 for s in part])), 3),
            "changes_without": round(float(np.mean([s["without"] for s in part])), 3),
        })
    models = [{"name": m["name"], "decisions": m["decisions"], "status": m["status"],
               "cv_micro_f1": (m["cv"] or {}).get("micro_f1"), "error": m["error"]} for m in project.models()]
    return {"queue": queue, "decisions": len(steps), "blocks": blocks, "models": models, "steps": steps}


def next_latency(client, *, coder: str, queue: str, n: int) -> dict:
    """Time ``n`` decisions with their next segment (the answer of ``POST /api/decisions``
    carries it), and ``n`` plain ``GET /api/next``; milliseconds, median and p95."""
    post, get = [], []
    view = client.get("/api/next", params={"coder": coder, "queue": queue, "blind": 0}).json()
    for _ in range(n):
        if view.get("segment") is None:
            break
        t = time.perf_counter()
        r = client.get("/api/next", params={"coder": coder, "queue": queue, "blind": 0})
        get.append(time.perf_counter() - t)
        view = r.json()
        t = time.perf_counter()
        r = client.post("/api/decisions", json={"segment": view["segment"], "coder": coder, "codes": sorted(view.get("proposals") or ()),
                                                "proposals_shown": "proposals" in view,
                                                "model": view["model"]["id"] if "model" in view else None, "queue": queue})
        post.append(time.perf_counter() - t)
        view = r.json()["next"]

    def ms(xs):
        return {"median_ms": round(1000 * float(np.median(xs)), 1), "p95_ms": round(1000 * float(np.percentile(xs, 95)), 1), "n": len(xs)} if xs else {}

    return {"decision_and_next": ms(post), "next": ms(get)}

"""Active learning: the choice of segments, the suggestion files and the needed-codes estimate."""

from __future__ import annotations

import csv
import json
import zipfile
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.config import config_from_dict
from pipeline.learn.active_learning import get_strategy, select, uncertainty
from pipeline.research.active import MARKER_NAME, suggest, write_suggestions_csv, write_suggestions_qdpx
from pipeline.research.evaluate import segments_needed

runner = CliRunner()
CODES = ("MOT-MARKT", "HEM-FINANZEN")


# --- selection on constructed scores --------------------------------------------------------


def test_uncertainty_is_one_at_the_threshold_and_zero_at_the_ends():
    U = uncertainty(np.array([[0.3, 0.0], [1.0, 0.65]]), thresholds=np.array([0.3, 0.5]))
    assert U.round(3).tolist() == [[1.0, 0.0], [0.0, 0.7]]


def test_single_label_uncertainty_is_one_minus_the_margin_of_the_two_best():
    U = uncertainty(np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]]), single=True)
    assert U.round(3).tolist() == [[0.8, 0.8, 0.0], [0.15, 0.15, 0.0]]


CONFIDENT = [[0.99, 0.01], [0.01, 0.98], [0.97, 0.02], [0.02, 0.02]]
UNSURE = [[0.52, 0.10], [0.05, 0.47]]


@pytest.mark.parametrize("strategy", ["balanced", "uncertainty", "diverse", "rare"])
def test_uncertain_segments_are_preferred_over_confident_ones(strategy):
    proba = np.array(CONFIDENT[:2] + UNSURE[:1] + CONFIDENT[2:] + UNSURE[1:])
    E = np.eye(6)  # all different
    picks = select(proba, n=2, codes=CODES, thresholds=np.array([0.5, 0.5]), embeddings=E, strategy=strategy)
    assert sorted(p.index for p in picks) == [2, 5]
    assert "MOT-MARKT at 0.52, near its threshold 0.50" in picks[[p.index for p in picks].index(2)].reason


def test_single_label_prefers_the_smallest_margin():
    proba = np.array([[0.9, 0.05, 0.05], [0.34, 0.33, 0.33], [0.6, 0.39, 0.01]])
    picks = select(proba, n=1, codes=("a", "b", "c"), single=True, strategy="uncertainty")
    assert [p.index for p in picks] == [1]
    assert picks[0].codes == ("a", "b")
    assert picks[0].reason.startswith("unsure between a (0.34) and b (0.33)")


def test_diversity_never_suggests_near_copies():
    # Five copies of one sentence, all the most uncertain, and three distinct others.
    proba = np.array([[0.5, 0.1]] * 5 + [[0.6, 0.1], [0.4, 0.1], [0.7, 0.1]])
    E = np.array([[1.0, 0.0, 0.0, 0.0]] * 5 + [[0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    plain = select(proba, n=3, codes=CODES, strategy="uncertainty")
    assert [p.index for p in plain][:3] != [] and len({tuple(E[p.index]) for p in plain}) == 1  # without embeddings: copies
    picks = select(proba, n=3, codes=CODES, embeddings=E, strategy="diverse")
    assert len({tuple(E[p.index]) for p in picks}) == 3
    # A candidate equal to a segment already coded is a copy as well.
    picks = select(proba, n=8, codes=CODES, embeddings=E, coded_embeddings=E[5:6], strategy="uncertainty")
    assert 5 not in [p.index for p in picks] and sum(p.index < 5 for p in picks) == 1


def test_rare_codes_come_first_among_equally_uncertain_segments():
    proba = np.array([[0.5, 0.0], [0.0, 0.5]])
    counts = np.array([200, 1])
    picks = select(proba, n=1, codes=CODES, code_counts=counts, strategy="rare")
    assert picks[0].index == 1 and "rare code HEM-FINANZEN (1 coded)" in picks[0].reason
    assert select(proba, n=1, codes=CODES, code_counts=counts[::-1], strategy="rare")[0].index == 0


def test_documents_not_yet_coded_are_favoured():
    proba = np.array([[0.5, 0.0], [0.5, 0.0]])
    picks = select(proba, n=1, codes=CODES, documents=["int1", "int2"], document_counts={"int1": 30}, strategy="balanced")
    assert picks[0].index == 1 and "document int2 not coded yet" in picks[0].reason


def test_a_batch_asks_about_many_codes():
    # Ten segments hesitate on code 0 a little more than five hesitate on code 1: without
    # the spread the batch of five asks only about code 0.
    proba = np.array([[0.5, 0.0]] * 10 + [[0.0, 0.45]] * 5)
    E = np.eye(15)  # all equally far apart: diversity does not decide
    plain = replace(get_strategy("balanced"), spread=0.0, density=0.0)
    assert {p.codes for p in select(proba, n=5, codes=CODES, embeddings=E, strategy=plain)} == {(CODES[0],)}
    spread = replace(plain, spread=1.0)
    about = Counter(p.codes for p in select(proba, n=5, codes=CODES, embeddings=E, strategy=spread))
    assert about[(CODES[1],)] >= 2 and about[(CODES[0],)] >= 2


def test_density_prefers_a_typical_segment_to_an_outlier():
    # Segment 0 is a little more uncertain but alone; segment 1 sits in a crowd (2-12).
    rng = np.random.default_rng(0)
    crowd = np.array([1.0, 0.0, 0.0]) + rng.normal(scale=0.05, size=(11, 3))
    E = np.vstack([[0.0, 0.0, 1.0], crowd[:1], crowd[1:]])
    proba = np.vstack([[[0.5, 0.0]], [[0.45, 0.0]], np.zeros((11, 2))])
    plain = replace(get_strategy("balanced"), density=0.0)
    assert select(proba, n=1, codes=CODES, embeddings=E, strategy=plain)[0].index == 0
    assert select(proba, n=1, codes=CODES, embeddings=E, strategy=replace(plain, density=1.0))[0].index == 1


def test_selection_is_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    proba = np.round(rng.random((300, 2)), 1)  # many ties
    E = rng.normal(size=(300, 8))
    # Density would break the ties by the neighbourhood: leave it out to see the seed's part.
    flat = replace(get_strategy("balanced"), density=0.0)
    runs = {seed: [p.index for p in select(proba, n=20, codes=CODES, embeddings=E, seed=seed, strategy=flat)] for seed in (0, 0, 1)}
    again = [p.index for p in select(proba, n=20, codes=CODES, embeddings=E, seed=0, strategy=flat)]
    full = [p.index for p in select(proba, n=20, codes=CODES, embeddings=E, seed=0)]
    assert full == [p.index for p in select(proba, n=20, codes=CODES, embeddings=E, seed=0)]
    assert runs[0] == again
    assert runs[1] != runs[0]  # ties are broken by the seed, not by position alone
    rand = [p.index for p in select(proba, n=20, codes=CODES, strategy="random", seed=3)]
    assert rand == [p.index for p in select(proba, n=20, codes=CODES, strategy="random", seed=3)]
    assert len(set(rand)) == 20


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="n must be at least 1"):
        select(np.zeros((2, 2)), n=0, codes=CODES)
    with pytest.raises(ValueError, match=r"shape \(n_segments, 2\)"):
        select(np.zeros((2, 3)), n=1, codes=CODES)


# --- files: a tiny corpus ---------------------------------------------------------------------

MARKT = [
    "Wir wollten neue Kunden in Frankreich gewinnen.",
    "Der Vertrieb in Lyon soll neue Kunden bringen.",
    "Neue Märkte und neue Kunden waren das Ziel.",
    "Am Ende zählt der Auftrag von neuen Kunden.",
]
FINANZ = [
    "Das Geld für die Reisen fehlt einfach.",
    "Die Übersetzungen kosten uns viel Geld.",
    "Für die Reisen fehlt uns das Geld.",
    "Die Kosten der Reisen sind zu hoch.",
]
OTHER = ["Das Wetter war an dem Tag schön.", "Dann haben wir zu Mittag gegessen.", "Der Zug kam pünktlich an.", "Wir saßen lange im Büro."]
POOL = {
    "int3": ["Neue Kunden in Lyon wären gut.", "Das Geld für Reisen fehlt uns.", "Das Wetter war schön."],
    "int4": ["Kunden und Geld, beides ist ein Thema.", "Der Vertrieb braucht neue Kunden.", "Wir haben gegessen."],
}
CONFIG = {"embedder": {"name": "tfidf"}, "classifier": {"C": 20}, "training": {"min_examples": 2, "cv_folds": 2}}


def interview(sentences: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """An interview: an interviewer question, then one respondent turn per sentence."""
    text, spans = "", []
    for s in sentences:
        text += "I: Und was noch?\n\nB: "
        spans.append((len(text), len(text) + len(s)))
        text += s + "\n\n"
    return text, spans


def make_corpus(tmp_path, second_coder: str = ""):
    """Two coded interviews (int1 also by ``second_coder`` when given), a pool and a config."""
    folder = tmp_path / "transcripts"
    folder.mkdir()
    lines = []
    for doc, sents in (("int1", MARKT[:2] + FINANZ[:2] + OTHER[:2]), ("int2", MARKT[2:] + FINANZ[2:] + OTHER[2:])):
        text, spans = interview(sents)
        (folder / f"{doc}.txt").write_text(text, encoding="utf-8")
        for s, (a, b) in zip(sents, spans):
            code = "MOT-MARKT" if s in MARKT else "HEM-FINANZEN" if s in FINANZ else None
            for coder in ("A", second_coder) if second_coder and doc == "int1" else ("A",):
                if code:
                    lines.append(json.dumps({"document": doc, "start": a, "end": b, "code": code, "coder": coder}))
    coded = tmp_path / "codings.jsonl"
    coded.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pool = tmp_path / "pool"
    pool.mkdir()
    for doc, sents in POOL.items():
        (pool / f"{doc}.txt").write_text(interview(sents)[0], encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    return {"coded": coded, "pool": pool, "folder": folder, "config": config, "tmp": tmp_path}


@pytest.fixture
def corpus(tmp_path):
    return make_corpus(tmp_path)


def test_suggest_never_returns_coded_or_interviewer_segments(corpus):
    result = suggest([corpus["coded"]], [corpus["pool"], corpus["folder"]], n=50, config=config_from_dict(CONFIG), seed=0)
    words = {s.text for s in result.suggestions}
    assert words == {s for sents in POOL.values() for s in sents}  # every respondent sentence of the pool, nothing else
    assert result.excluded == {"coded": 12, "not_codable": 12 + 6}
    for s in result.suggestions:
        original = (corpus["pool"] / f"{s.document}.txt").read_text(encoding="utf-8")
        assert original[s.start : s.end] == s.text
    assert result.coded == {"HEM-FINANZEN": 4, "MOT-MARKT": 4}


def fill(path, codes_for):
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["codes"] = codes_for(row["text"])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def truth(text: str) -> str:
    return ";".join(c for c, word in (("MOT-MARKT", "Kunden"), ("HEM-FINANZEN", "Geld")) if word in text)


def test_filled_csv_trains_and_its_segments_are_not_suggested_again(corpus):
    from pipeline.learn.train import train

    config = config_from_dict(CONFIG)
    first = suggest([corpus["coded"]], [corpus["pool"]], n=4, config=config, seed=0)
    out = corpus["tmp"] / "next-01.csv"
    write_suggestions_csv(first.suggestions, out, coder=first.coder)
    rows = fill(out, truth)
    assert [r["coder"] for r in rows] == ["A"] * 4
    model = train([corpus["coded"], out], config=config, evaluate=False)
    per_code = model.card["training"]["per_code"]
    assert per_code["MOT-MARKT"] == 4 + sum("MOT-MARKT" in r["codes"] for r in rows)
    assert per_code["HEM-FINANZEN"] == 4 + sum("HEM-FINANZEN" in r["codes"] for r in rows)
    assert model.card["training"]["segments"] == 12 + 4
    # Round two: the coded suggestions are left out of the pool by their words.
    second = suggest([corpus["coded"], out], [corpus["pool"]], n=50, config=config, seed=0)
    assert {s.text for s in second.suggestions}.isdisjoint({r["text"] for r in rows})
    assert second.excluded["same_text"] == 4 and len(second.suggestions) == 2


def test_cli_writes_what_the_library_chooses(corpus):
    out = corpus["tmp"] / "next.csv"
    args = ["suggest", str(corpus["coded"]), "--pool", str(corpus["pool"]), "--n", "3", "--out", str(out), "--config", str(corpus["config"]), "--seed", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "candidate segments in the pool" in result.stderr
    lib = suggest([corpus["coded"]], [corpus["pool"]], n=3, config=config_from_dict(CONFIG), seed=2)
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["id"], r["text"], r["reason"], r["codes"]) for r in rows] == [(s.id, s.text, s.reason, "") for s in lib.suggestions]
    assert list(rows[0]) == ["id", "text", "codes", "coder", "document", "start", "end", "scores", "reason"]
    assert runner.invoke(app, args).exit_code == 0
    assert out.read_text(encoding="utf-8").count("\n") == 4  # same seed, same file


def test_cli_rejects_an_unknown_strategy(corpus):
    result = runner.invoke(app, ["suggest", str(corpus["coded"]), "--pool", str(corpus["pool"]), "--out", "x.csv", "--strategy", "best"])
    assert result.exit_code == 2 and "choose from balanced" in result.stderr


def test_qdpx_marks_the_suggested_segments(corpus):
    result = suggest([corpus["coded"]], [corpus["pool"]], n=3, config=config_from_dict(CONFIG), seed=0)
    out = corpus["tmp"] / "next.qdpx"
    written = write_suggestions_qdpx(result.suggestions, result.transcripts, out, codebook=result.model.codebook, model=result.model.name)
    assert written.codings == 3
    from pipeline.qda.refi import read_qdpx

    project = read_qdpx(out)
    marker = [c.id for c in project.codes if c.name == MARKER_NAME]
    marked = sorted((c.document, c.start, c.end) for c in project.codings if c.code in marker)
    assert marked == sorted((s.document, s.start, s.end) for s in result.suggestions)
    qde = zipfile.ZipFile(out).read("project.qde").decode("utf-8")
    assert f'name="{MARKER_NAME}"' in qde
    assert result.suggestions[0].reason.split(";")[0] in qde


# --- how many more codes ----------------------------------------------------------------------


def test_segments_needed_solves_the_fitted_curve():
    n = np.array([100, 200, 400, 600, 800])
    a, b, c = 0.9, 3.0, 0.5
    curve = [{"train_segments": int(x), "per_code_f1": {"X": a - b * x**-c, "Y": 0.5 - 1.0 * x**-0.8, "Z": 0.0, "W": 0.8}} for x in n]
    est = {e.code: e for e in segments_needed(curve, target=0.8)}
    assert est["X"].total == pytest.approx((b / (a - 0.8)) ** (1 / c), rel=0.02)  # 900
    assert f"about {est['X'].total} coded segments in all ({est['X'].total - 800} more) should reach F1 0.80" in est["X"].sentence
    assert est["W"].sentence == "W: F1 0.80 with 800 coded segments already reaches the target 0.80."
    assert est["Y"].total is None and "not reachable within the fitted curve, which levels off at 0.50" in est["Y"].sentence
    assert est["Z"].total is None and "no estimate" in est["Z"].sentence
    far = {e.code: e for e in segments_needed(curve, target=0.89)}["X"]
    assert far.total == pytest.approx((b / (a - 0.89)) ** (1 / c), rel=0.05)  # 90,000
    assert "more than ten times what is coded now" in far.sentence


# --- the benchmark's simulation on constructed data ---------------------------------------------


def blobs_task(seed: int = 0):
    """Four well-separated classes in 2-D, one of them rare, with a few copies of points."""
    from pipeline.research.benchmark_active import Task

    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [6, 0], [0, 6], [6, 6]])
    sizes = [300, 300, 300, 30]
    X = np.vstack([c + rng.normal(scale=1.6, size=(k, 2)) for c, k in zip(centres, sizes)])
    y = np.repeat(np.arange(4), sizes)
    Y = y[:, None] == np.arange(4)[None, :]
    config = config_from_dict({"classifier": {"name": "svm", "labels": "single", "C": 1.0, "class_weight": "none"}})
    docs = np.array([f"d{i % 5}" for i in range(len(y))])
    test = np.arange(len(y)) % 3 == 0
    return Task((X,), (X,), Y, docs, ("a", "b", "c", "d"), True, config), [(np.flatnonzero(~test), np.flatnonzero(test))]


def test_simulation_is_deterministic_and_shares_the_start():
    from pipeline.research.benchmark_active import run_task

    task, folds = blobs_task()
    a = run_task(task, folds, strategies=["random", "balanced"], seeds=[0, 1], start=20, batch=20, stop=100)
    b = run_task(task, folds, strategies=["random", "balanced"], seeds=[0, 1], start=20, batch=20, stop=100)
    assert a["mean"] == b["mean"]
    assert list(a["mean"]["random"]) == ["20", "40", "60", "80", "100"]
    # The same start set for both strategies: equal figures before the first batch.
    assert a["mean"]["random"]["20"] == a["mean"]["balanced"]["20"]
    assert a["mean"]["random"]["40"] != a["mean"]["balanced"]["40"]
    assert 0 <= a["std"]["balanced"]["100"] <= 0.5


def test_plot_is_an_svg_with_one_curve_per_strategy():
    import xml.etree.ElementTree as ET

    from pipeline.research.benchmark_active import run_task, svg_plot

    task, folds = blobs_task()
    report = {"manifesto": run_task(task, folds, strategies=["random", "balanced"], seeds=[0], start=20, batch=40, stop=100)}
    root = ET.fromstring(svg_plot(report))
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2 and all(len(p.get("points").split()) == 3 for p in lines)


def test_evaluate_learning_curve_says_per_code_how_many_segments(corpus):
    book = corpus["tmp"] / "codebook.yaml"
    book.write_text("name: t\ncodes:\n  - {id: MOT-MARKT, name: Markt}\n  - {id: HEM-FINANZEN, name: Finanzen}\n", encoding="utf-8")
    js = corpus["tmp"] / "cv.json"
    args = ["evaluate", str(corpus["coded"]), "--config", str(corpus["config"]), "--codebook", str(book), "--learning-curve", "--target-f1", "0.9", "--json", str(js)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    cv = json.loads(js.read_text(encoding="utf-8"))
    expected = segments_needed(cv["learning_curve"], target=0.9)
    assert [e.code for e in expected] == ["MOT-MARKT", "HEM-FINANZEN"]
    assert "how many coded segments reach F1 0.90 per code" in result.stdout
    for e in expected:
        assert e.sentence in result.stdout
        assert cv["segments_needed"][e.code]["sentence"] == e.sentence


@pytest.mark.slow
def test_sample_task_reads_both_registers_with_document_folds(repo):
    """The sample corpus of `benchmark active --corpus`: interviews and literature
    excerpts, the shipped code system, folds that never split a document."""
    if not (repo / "corpus" / "literature" / "codings.jsonl").is_file():
        pytest.skip("the literature excerpts are not in this checkout")
    from pipeline.core.codebook import load_codebook
    from pipeline.research.benchmark_active import run_task, sample_task

    config = config_from_dict({"embedder": {"name": "use-multilingual"}, "features": {"prototypes": 0.0},
                               "classifier": {"C": 1.0}, "training": {"codebook_examples": 0.0, "threshold_shrink": 0.0}})
    task, folds = sample_task(repo / "corpus", config=config)
    assert task.codes == load_codebook(repo / "configs" / "codebook.yaml").leaf_ids
    assert len(task.Y) == 1557 and len(set(task.documents)) == 18
    assert len(folds) == 5
    for pool, test in folds:
        assert not set(task.documents[pool]) & set(task.documents[test])
    assert sorted(np.concatenate([t for _, t in folds]).tolist()) == list(range(len(task.Y)))
    report = run_task(task, folds, strategies=["random", "balanced"], seeds=[0], start=100, batch=400, stop=900)
    curve = report["mean"]["random"]
    assert list(curve) == ["100", "500", "900"] and curve["900"] > curve["100"] + 0.1


def test_benchmark_keeps_the_curves_when_the_timing_round_fails(tmp_path, monkeypatch):
    """The curves take most of an hour: a failure in the suggest-round timing after them
    must not lose them."""
    import pipeline.research.benchmark_active as bench

    def broken_round(*args, **kwargs):
        raise RuntimeError("timing round failed")

    monkeypatch.setattr(bench, "manifesto_task", lambda folder, config: blobs_task())
    monkeypatch.setattr(bench, "time_suggest_round", broken_round)
    out = tmp_path / "out"
    result = runner.invoke(app, ["benchmark", "active", "--data", str(tmp_path), "--out", str(out), "--seeds", "1", "--start", "20", "--batch", "40", "--stop", "100"])
    assert result.exit_code != 0
    saved = json.loads((out / "active.json").read_text(encoding="utf-8"))
    assert list(saved["random"]) == ["20", "60", "100"] and "suggest_round" not in saved
    # a record: what made the curves travels with them
    assert saved["command"].startswith("autocode ") and saved["packages"]["numpy"] and "commit" in saved and saved["created"]
    assert (out / "active.svg").is_file()


def test_suggestion_scores_are_what_classify_gives_in_a_partly_coded_document(corpus):
    """With document centering, a pool document whose other segments were coded in an
    earlier round is still centered on all of it, as classify centers it."""
    from pipeline.learn.train import train
    from pipeline.text.ingest import read_transcript
    from pipeline.text.segment import segment_transcript

    config = config_from_dict(CONFIG)
    assert config.features.center > 0
    first = suggest([corpus["coded"]], [corpus["pool"]], n=2, config=config, seed=0)
    out = corpus["tmp"] / "next-01.csv"
    write_suggestions_csv(first.suggestions, out, coder=first.coder)
    fill(out, truth)
    model = train([corpus["coded"]], config=config, evaluate=False)
    second = suggest([corpus["coded"], out], [corpus["pool"]], n=50, model=model, seed=0)
    assert second.excluded["same_text"] == 2 and second.suggestions
    partly = {s.document for s in first.suggestions}
    assert partly & {s.document for s in second.suggestions}, "a document with coded and uncoded segments is in the pool"
    for s in second.suggestions:
        segs = segment_transcript(read_transcript(corpus["pool"] / f"{s.document}.txt"), config=model.config.segment)
        record = next(r for r in model.code_segments(segs) if r["id"] == s.id)
        assert dict(s.scores) == {code: record["scores"][code] for code, _ in s.scores}


# --- issue 31, finding 5: a batch spreads over the codes; coders pooled as train pools them


@pytest.mark.slow
def test_ten_suggestions_on_the_sample_corpus_ask_about_many_codes(repo, tmp_path):
    """One interview coded by A and B (as a researcher starts), the other interviews as the
    pool, the default configuration: ten suggestions ask about at least eight codes (they
    asked ten times about HEM-VERTRAUEN, the one rare code near its threshold), and both
    coders are learned from, joined as `train --combine` joins them."""
    (tmp_path / "transcripts").mkdir()
    doc = "int06_ministerium"
    (tmp_path / "transcripts" / f"{doc}.txt").write_bytes((repo / "corpus" / "transcripts" / f"{doc}.txt").read_bytes())
    lines = [line for line in (repo / "corpus" / "codings.jsonl").read_text(encoding="utf-8").splitlines() if json.loads(line)["document"] == doc]
    assert {json.loads(line)["coder"] for line in lines} == {"A", "B"}
    coded = tmp_path / "codings.jsonl"
    coded.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "next.csv"
    result = runner.invoke(app, ["suggest", str(coded), "--pool", str(repo / "corpus" / "transcripts"), "--n", "10", "--out", str(out),
                                 "--codebook", str(repo / "configs" / "codebook.yaml"), "--coder", "A", "--coder", "B", "--combine", "majority"])
    assert result.exit_code == 0, result.output
    assert "training on 'A', who coded most" not in result.stderr
    assert "scored by a model of coders A, B combined by 'majority'" in result.stderr
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10 and {r["coder"] for r in rows} == {"A"}
    asked = [r["reason"].split(" at ")[0] for r in rows]
    assert len(set(asked)) >= 8, asked
    assert doc not in {r["document"] for r in rows}


def test_suggest_pools_coders_as_train_does(tmp_path):
    """--coder repeated and --combine reach the training set as in `autocode train`: with
    'each' every coder's codes count, B's four segments of int1 a second time."""
    made = make_corpus(tmp_path, second_coder="B")
    config = config_from_dict(CONFIG)
    one = suggest([made["coded"]], [made["pool"]], n=2, config=config, seed=0)
    both = suggest([made["coded"]], [made["pool"]], n=2, config=config, seed=0, coder=["A", "B"], combine="each")
    assert one.coders == ("A",) and one.coded == {"HEM-FINANZEN": 4, "MOT-MARKT": 4}
    assert both.coders == ("A", "B") and both.coder == "A+B"
    assert both.coded == {"HEM-FINANZEN": 6, "MOT-MARKT": 6}

"""`autocode benchmark active`: what is fitted on texts is fitted on each fold's pool, never
on the test rows whose figures the simulation reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.config import config_from_dict
from pipeline.learn.embed import TfidfEmbedder
from pipeline.learn.features import Featurizer
from tests.test_active import interview

runner = CliRunner()

# A word that only the test rows use (twice, so that min_df=2 keeps it when they are seen).
SECRET = "zauberwort"
LEXICAL = {"embedder": {"name": "tfidf"}, "features": {"lexical": True, "prototypes": 0.0, "center": 0.0},
           "training": {"codebook_examples": 0.0, "threshold_shrink": 0.0, "min_examples": 2}}


@pytest.fixture
def fits(monkeypatch):
    """Every text fit of the featurizer and the TF-IDF embedder: ``(kind, fitted object, texts)``."""
    seen = []

    def spy(cls, kind):
        real = cls.fit

        def fit(self, texts, **kwargs):
            texts = list(texts)
            seen.append((kind, self, texts))
            return real(self, texts, **kwargs)

        monkeypatch.setattr(cls, "fit", fit)

    spy(Featurizer, "featurizer")
    spy(TfidfEmbedder, "embedder")
    return seen


def test_manifesto_simulation_never_fits_on_the_test_sentences(tmp_path, fits):
    """The in-domain test rows (every fifth) carry a word no training row has: neither the
    TF-IDF embedder nor the lexical block may learn it."""
    data = tmp_path / "manifesto"
    data.mkdir()
    (data / "grouping_info.txt").write_text("economy\n401 - Free market\n504 - Welfare\n", encoding="utf-8")
    rows = ["text,label,party"]
    for r in range(60):
        label, topic = ("401", "Markt und Wettbewerb") if r % 2 else ("504", "Rente und Pflege")
        secret = f" {SECRET} bleibt geheim" if r % 5 == 0 else ""
        rows.append(f"Wir wollen {topic} stärken in Satz {r}{secret}.,{label},{'spd' if r < 30 else 'cdu'}")
    (data / "manifestos_2021.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**LEXICAL, "classifier": {"name": "svm", "labels": "single", "C": 1.0}}), encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["benchmark", "active", "--data", str(data), "--config", str(config), "--out", str(out),
                                 "--seeds", "1", "--start", "20", "--batch", "10", "--stop", "40", "--no-time-round"])
    assert result.exit_code == 0, result.stderr
    assert list(json.loads((out / "active.json").read_text(encoding="utf-8"))["random"]) == ["20", "30", "40"]
    assert {kind for kind, _, _ in fits} == {"featurizer", "embedder"}
    for kind, fitted, texts in fits:
        assert len(texts) == 48 and not any(SECRET in t for t in texts), kind
    vocabularies = [f.word_.vocabulary_ for kind, f, _ in fits if kind == "featurizer"]
    vocabularies += [f.vectorizer.vocabulary_ for kind, f, _ in fits if kind == "embedder"]
    assert all("markt" in v and SECRET not in v for v in vocabularies)


@pytest.mark.filterwarnings("ignore:code '")  # the shipped code system's other codes are not used here
def test_sample_corpus_folds_learn_their_vocabulary_from_their_own_pool(tmp_path, fits):
    """Four interviews, one fold per interview held out; only int4 uses the word SECRET.
    The folds that hold int4 out must not know it, the others must."""
    (tmp_path / "transcripts").mkdir()
    lines = []
    for k in range(1, 5):
        sentences = [f"Neue Kunden in Stadt {k} gewinnen.", f"Der Vertrieb bringt Kunden, sagt {k}.",
                     f"Das Geld für Reisen fehlt in {k}.", f"Die Reisen kosten Geld, Fall {k}.", "Das Wetter war schön."]
        if k == 4:
            sentences += [f"Ein {SECRET} für Kunden.", f"Noch ein {SECRET} für Geld."]
        text, spans = interview(sentences)
        (tmp_path / "transcripts" / f"int{k}.txt").write_text(text, encoding="utf-8")
        for s, (a, b) in zip(sentences, spans):
            for code, word in (("MOT-MARKT", "Kunden"), ("HEM-FINANZEN", "Geld")):
                if word in s:
                    lines.append(json.dumps({"document": f"int{k}", "start": a, "end": b, "code": code, "coder": "A"}))
    (tmp_path / "codings.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    from pipeline.research.benchmark_active import run_task, sample_task

    config = config_from_dict({**LEXICAL, "classifier": {"C": 10.0}, "training": {**LEXICAL["training"], "cv_folds": 4}})
    task, folds = sample_task(tmp_path, config=config)
    featurizers = [f for kind, f, _ in fits if kind == "featurizer"]
    embedders = [f for kind, f, _ in fits if kind == "embedder"]
    assert len(featurizers) == 4 and len(embedders) == 8  # one per fold for the features, one for the diversity embeddings
    for f, (pool, test) in enumerate(folds):
        held_out = set(task.documents[test])
        for fitted in (featurizers[f].word_, embedders[f].vectorizer, embedders[4 + f].vectorizer):
            assert (SECRET in fitted.vocabulary_) == ("int4" not in held_out)
    # Each fold's matrices are its own: the vocabularies differ, so do the widths.
    assert len(folds) == len(task.X) == len(task.E) == 4
    assert len({X.shape[1] for X in task.X}) > 1
    report = run_task(task, folds, strategies=["random", "balanced"], seeds=[0], start=4, batch=4, stop=12)
    assert list(report["mean"]["random"]) == ["4", "8", "12"]


def test_a_task_built_for_other_folds_is_refused():
    from pipeline.research.benchmark_active import Task, simulate

    X = np.eye(4)
    task = Task((X,), (X,), X.astype(bool), np.array(["a", "a", "b", "b"]), ("w", "x", "y", "z"), True,
                config_from_dict({"classifier": {"name": "svm", "labels": "single"}}))
    folds = [(np.array([0, 1]), np.array([2, 3])), (np.array([2, 3]), np.array([0, 1]))]
    with pytest.raises(ValueError, match="inputs for 1 fold"):
        simulate(task, folds, strategy="random", seed=0, start=2, batch=1, stop=2)

"""autocode benchmark variants (pipeline.research.variants): fixed configurations under the
same cross-validation, with fold-to-fold standard errors, and on learning-curve points."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def test_variant_figures_carry_the_fold_to_fold_standard_error_and_the_paired_difference():
    from pipeline.research.variants import fold_figures, paired

    Y = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 1], [0, 0]], dtype=bool)
    splits = [(np.array([2, 3, 4, 5]), np.array([0, 1])), (np.array([0, 1, 4, 5]), np.array([2, 3])), (np.array([0, 1, 2, 3]), np.array([4, 5]))]
    perfect, wrong = fold_figures(Y, Y.copy(), splits, ("A", "B")), Y.copy()
    wrong[2:4] = ~wrong[2:4]  # the second fold all wrong: its F1 is 0
    half = fold_figures(Y, wrong, splits, ("A", "B"))
    assert perfect["micro_f1"] == 1.0 and perfect["se_micro_f1"] == 0.0
    assert [f["micro_f1"] for f in half["per_fold"]] == [1.0, 0.0, 1.0]
    assert half["se_micro_f1"] == pytest.approx(np.std([1, 0, 1], ddof=1) / np.sqrt(3), abs=1e-4)
    assert paired(half, perfect, "micro_f1") == pytest.approx((-1 / 3, np.std([0, -1, 0], ddof=1) / np.sqrt(3)), abs=1e-4)


def test_benchmark_variants_names_the_variants_it_knows(tmp_path):
    result = runner.invoke(app, ["benchmark", "variants", "--out", str(tmp_path / "v.json"), "--variant", "selection"])
    assert result.exit_code != 0
    assert "expected fixed:FAMILY[@C][:weight=W] with FAMILY one of hybrid, e5, fast, manifesto, C > 0 and W > 0" in result.output
    assert "found selection" in result.output
    assert not (tmp_path / "v.json").exists()


def test_benchmark_variants_resume_keeps_the_rows_of_an_interrupted_run(repo, tmp_path):
    from pipeline.core.codebook import load_codebook
    from pipeline.core.config import load_config
    from pipeline.defaults import codebook_path
    from pipeline.research.benchmark_transfer import load_registers

    registers = load_registers(repo / "corpus", codebook=load_codebook(codebook_path()), config=load_config(None))
    data = " + ".join(f"{n} ({len(d.segments)} segments, {len(set(d.groups))} documents, coder {d.coder})" for n, d in registers.items())

    def row(*micro):
        per_fold = [{"micro_f1": m, "macro_f1": m} for m in micro]
        return {"micro_f1": float(np.mean(micro)), "macro_f1": float(np.mean(micro)), "per_fold": per_fold,
                "se_micro_f1": 0.01, "se_macro_f1": 0.01, "seconds": 1.0}

    earlier = {"commit": "abc1234", "data": data, "nested": {"variants": {"fixed:e5": row(0.6, 0.6, 0.6, 0.6, 0.7),
                                                                             "selection": row(0.7, 0.7, 0.7, 0.7, 0.7)}}}
    out = tmp_path / "variants.json"
    out.write_text(json.dumps(earlier), encoding="utf-8")
    result = runner.invoke(app, ["benchmark", "variants", "--resume", "--out", str(out), "--corpus", str(repo / "corpus"),
                                 "--variant", "fixed:e5", "--variant", "selection"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("kept from the earlier run") == 2
    record = json.loads(out.read_text(encoding="utf-8"))
    # a variant this version no longer measures ("selection") is kept from the earlier run
    assert record["resumed"] == {"fixed:e5": "abc1234", "selection": "abc1234"}
    assert record["nested"]["best"] == "selection" and record["nested"]["folds"] == "5 folds grouped by document"
    assert record["nested"]["vs_best"]["fixed:e5"]["micro_f1"] == {"difference": -0.08, "se": 0.02}
    assert record["packages"]["scikit-learn"] and "created" in record  # a record, with what made it
    assert "fixed:e5 from an earlier run at abc1234" in out.with_suffix(".md").read_text(encoding="utf-8")


def test_a_fixed_variant_takes_its_family_at_the_c_named():
    from pipeline.core.config import load_config
    from pipeline.research.variants import known, variant_config

    base = load_config(None)
    assert variant_config("fixed:hybrid", base) == base  # the shipped configuration
    hybrid30 = variant_config("fixed:hybrid@30", base)
    assert hybrid30.classifier.C == 30.0 and hybrid30.features.lexical
    e5 = variant_config("fixed:e5", base)
    assert e5.classifier.C == 0.02 and not e5.features.lexical and e5.embedder == base.embedder
    assert variant_config("fixed:fast", base).embedder.name == "use-multilingual"
    assert known("fixed:fast@3") and not known("fixed:fast@") and not known("fixed:fast@x") and not known("fixed:words@1")
    assert not known("hybrid") and not known("selection")
    weighted = variant_config("fixed:hybrid@3:weight=2", base)
    assert (weighted.classifier.C, weighted.features.embedding_weight) == (3.0, 2.0)
    assert variant_config("fixed:hybrid:weight=0.5", base).classifier.C == base.classifier.C
    assert not known("fixed:hybrid:weight=0") and not known("fixed:hybrid:weight") and not known("fixed:hybrid:C=2")


def test_on_single_label_data_without_definitions_every_family_is_single_label_without_prototypes():
    # The Manifesto's codes come without definitions and one per quasi-sentence: the
    # families compared there take that from the data's configuration, not their own.
    from pipeline.core.config import load_config
    from pipeline.defaults import manifesto_config_path
    from pipeline.research.variants import families, variant_config

    base = load_config(manifesto_config_path())
    named = families(base)
    assert set(named) == {"hybrid", "e5", "fast", "manifesto"}
    for config in named.values():
        assert config.classifier.labels == "single"
        assert config.features.prototypes == 0.0 and config.training.codebook_examples == 0.0
    assert named["manifesto"] == base
    assert named["hybrid"].embedder.name == "e5-small" and named["hybrid"].features.lexical
    with pytest.raises(ValueError, match="fixed:manifesto.*single-label.*--manifesto"):
        variant_config("fixed:manifesto", load_config(None))
    assert "manifesto" not in families(load_config(None))  # its SVM gives no probabilities for thresholds


def test_benchmark_variants_takes_one_data_set_and_a_known_split(tmp_path):
    both = runner.invoke(app, ["benchmark", "variants", "--out", str(tmp_path / "v.json"), "--germeval", str(tmp_path), "--manifesto", str(tmp_path)])
    assert both.exit_code != 0 and "give --germeval or --manifesto, not both" in both.output
    split = runner.invoke(app, ["benchmark", "variants", "--out", str(tmp_path / "v.json"), "--manifesto", str(tmp_path), "--split", "test"])
    assert split.exit_code != 0 and "expected in-domain or new-documents, found 'test'" in split.output
    missing = runner.invoke(app, ["benchmark", "variants", "--out", str(tmp_path / "v.json"), "--manifesto", str(tmp_path)])
    assert missing.exit_code != 0 and "manifestos_2021.csv" in missing.output
    assert not (tmp_path / "v.json").exists()


def test_whole_documents_are_taken_until_the_size_is_reached():
    from pipeline.research.variants import documents_until

    groups = np.array(["a", "a", "b", "c", "c", "c", "b"])
    assert documents_until(np.array(["c", "a", "b"]), groups, 3).tolist() == [3, 4, 5]
    assert documents_until(np.array(["c", "a", "b"]), groups, 4).tolist() == [0, 1, 3, 4, 5]
    assert documents_until(np.array(["b", "a"]), groups, 100).tolist() == [0, 1, 2, 6]


def test_learning_points_train_each_variant_on_the_same_whole_documents(monkeypatch):
    """On codes a keyword gives away, every variant learns them from few documents; the
    points train on whole documents of each outer fold's training part only."""
    import pipeline.research.variants as variants
    from pipeline.core.codebook import Codebook
    from pipeline.core.config import config_from_dict
    from pipeline.core.types import Segment
    from pipeline.learn.fit import TrainingSet

    def tfidf(base):
        config = config_from_dict({"embedder": {"name": "tfidf"}, "features": {"lexical": False, "prototypes": 0.0, "center": 0.0},
                                   "classifier": {"C": 10.0}, "training": {"codebook_examples": 0.0, "threshold_shrink": 0.0, "min_examples": 1}})
        return {"hybrid": config, "e5": config, "fast": config}

    monkeypatch.setattr(variants, "families", tfidf)
    rng = np.random.default_rng(0)
    segments, rows = [], []
    for d in range(10):
        for k in range(20):
            money = bool(rng.random() < 0.4)
            words = [*rng.choice(["wir", "haben", "dann", "also", "eben", "schon", "noch"], 5), *(["Geld", "Budget"] if money else [])]
            text = " ".join(words) + "."
            segments.append(Segment(id=f"d{d}:{k}", transcript=f"d{d}", start=0, end=len(text), speaker="", text=text, role="unit"))
            rows.append([money])
    data = TrainingSet(tuple(segments), np.array(rows, dtype=bool), np.array([s.transcript for s in segments]), Codebook.from_ids(["GELD"]), "A")
    spied = []
    real = variants.fit_predict

    def spy(data, config, train, test, shared):
        assert not set(data.groups[train]) & set(data.groups[test])  # never a held-out document
        spied.append(len(train))
        return real(data, config, train, test, shared)

    monkeypatch.setattr(variants, "fit_predict", spy)
    points = variants.learning_points(data, base=tfidf(None)["hybrid"], variants=("fixed:hybrid", "fixed:e5@3"), sizes=(20, 60))
    assert list(points) == ["20", "60"] and points["20"]["segments"] == 20.0 and points["60"]["segments"] == 60.0
    assert sorted(set(spied)) == [20, 60] and len(spied) == 2 * 2 * 5
    for point in points.values():
        assert set(point["variants"]) == {"fixed:hybrid", "fixed:e5@3"}
        assert all(row["micro_f1"] > 0.9 for row in point["variants"].values()), point

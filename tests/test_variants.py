"""autocode benchmark variants (pipeline.research.variants): selection variants under nested
cross-validation, with fold-to-fold standard errors."""

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
    result = runner.invoke(app, ["benchmark", "variants", "--out", str(tmp_path / "v.json"), "--variant", "hybrid+slow"])
    assert result.exit_code != 0
    assert "expected one of selection, hybrid, hybrid+fast, fixed:default, fixed:hybrid, or fixed:FAMILY@C" in result.output
    assert "found hybrid+slow" in result.output
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

    earlier = {"commit": "abc1234", "data": data, "nested": {"variants": {"fixed:default": row(0.6, 0.6, 0.6, 0.6, 0.7),
                                                                             "hybrid": row(0.7, 0.7, 0.7, 0.7, 0.7)}}}
    out = tmp_path / "variants.json"
    out.write_text(json.dumps(earlier), encoding="utf-8")
    result = runner.invoke(app, ["benchmark", "variants", "--resume", "--out", str(out), "--corpus", str(repo / "corpus"),
                                 "--variant", "fixed:default", "--variant", "hybrid"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("kept from the earlier run") == 2
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["resumed"] == {"fixed:default": "abc1234", "hybrid": "abc1234"}
    assert record["nested"]["best"] == "hybrid" and record["nested"]["folds"] == "5 folds grouped by document"
    assert record["nested"]["vs_best"]["fixed:default"]["micro_f1"] == {"difference": -0.08, "se": 0.02}
    assert "fixed:default from an earlier run at abc1234" in out.with_suffix(".md").read_text(encoding="utf-8")


def test_a_fixed_variant_takes_its_family_at_the_c_named():
    from pipeline.core.config import load_config
    from pipeline.research.variants import known, variant_pool

    base = load_config(None)
    config, ensemble = variant_pool("fixed:hybrid@30", base, np.zeros((2, 1), dtype=bool))
    assert ensemble is None and config.classifier.C == 30.0 and config.features.lexical
    assert variant_pool("fixed:hybrid", base, np.zeros((2, 1), dtype=bool))[0].classifier.C == 1.0
    assert variant_pool("fixed:default", base, np.zeros((2, 1), dtype=bool))[0] == base
    assert known("fixed:fast@3") and not known("fixed:fast@") and not known("fixed:fast@x") and not known("fixed:words@1")

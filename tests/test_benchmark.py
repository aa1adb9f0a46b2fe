"""The Manifesto benchmark: the protocol's splits and levels, scores, determinism."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.config import config_from_dict
from pipeline.core.errors import InputError
from pipeline.research.benchmark import _code_key, _scores, load_manifesto, run_benchmark, split_rows

runner = CliRunner()

# Fast stand-in for the shipped configuration: same features and classifier, TF-IDF
# embedder instead of USE (the figures of record come from `autocode benchmark`).
FAST = {
    "embedder": {"name": "tfidf"},
    "features": {"lexical": True, "embedding_weight": 0.5, "context": 1, "context_window": 3},
    "classifier": {"name": "svm", "labels": "single", "C": 0.5, "class_weight": "sqrt"},
}


@pytest.fixture(scope="module")
def manifesto(request):
    from tests.conftest import SHARED

    folder = SHARED / "data" / "manifesto_de_2021"
    if not folder.is_dir():
        pytest.skip("../shared/data/manifesto_de_2021 is not available")
    return folder


def test_code_keys_match_the_grouping_file():
    assert _code_key("204") == _code_key("204.0") == _code_key(" 204.0 ") == "204"
    assert _code_key("202.1") == "202.1"
    assert _code_key("H") == "H"


def test_corpus_and_protocol_splits(manifesto):
    corpus = load_manifesto(manifesto)
    assert len(corpus.segments) == 17050
    assert len(set(corpus.codes)) == 69 and len(set(corpus.domains)) == 13
    train, test = split_rows(corpus, "in-domain")
    assert len(test) == 3410 and len(train) == 17050 - 3410 and test[0] == 0 and test[1] == 5
    train, test = split_rows(corpus, "new-documents")
    assert {corpus.segments[i].transcript for i in test} == {"spd", "afd"} and len(test) == 1665 + 1574
    assert not {corpus.segments[i].transcript for i in train} & {"spd", "afd"}
    # domains follow grouping_info.txt: 108 (EU positive) is foreign relations
    i = int(np.flatnonzero(corpus.codes == "108")[0])
    assert corpus.domains[i] == "foreign relations, eu and protectionism"


def test_macro_f1_is_the_mean_of_per_code_f1():
    y = np.array(["a", "a", "b", "c", "c", "c"])
    p = np.array(["a", "b", "b", "c", "c", "a"])
    s = _scores(y, p)
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["macro_f1"] == pytest.approx(np.mean(list(s["per_code_f1"].values())), abs=1e-4)
    assert s["per_code_f1"]["b"] == pytest.approx(2 / 3, abs=1e-4)


def test_benchmark_is_deterministic_and_ratios_follow(manifesto):
    corpus = load_manifesto(manifesto, limit_per_document=100)
    config = config_from_dict(FAST)
    first = run_benchmark(corpus, config=config, splits=("in-domain",), levels=("domain",))
    second = run_benchmark(corpus, config=config, splits=("in-domain",), levels=("domain",), isolate=False)
    row, again = first["results"]["in-domain"]["domain"], second["results"]["in-domain"]["domain"]
    n_test = len(split_rows(corpus, "in-domain")[1])
    for method in ("autocode", "peer"):
        for key in ("accuracy", "macro_f1", "per_code_f1"):
            assert row[method][key] == again[method][key]
        assert row[method]["test_segments"] == n_test and row[method]["peak_memory_mib"] > 0
        # 13 domains: trained on 480 rows, both must be far above chance (1/13)
        assert row[method]["accuracy"] > 3 / 13
    assert row["ratio"]["macro_f1"] == pytest.approx(row["autocode"]["macro_f1"] / row["peer"]["macro_f1"], abs=1e-3)


def test_cli_writes_json_and_markdown(manifesto, tmp_path):
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(json.dumps(FAST), encoding="utf-8")
    result = runner.invoke(
        app,
        ["benchmark", "manifesto", "--data", str(manifesto), "--out", str(tmp_path / "b"), "--config", str(cfg),
         "--split", "new-documents", "--level", "code", "--limit", "40"],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "b" / "benchmark.json").read_text(encoding="utf-8"))
    assert list(report["results"]) == ["new-documents"] and list(report["results"]["new-documents"]) == ["code"]
    md = (tmp_path / "b" / "benchmark.md").read_text(encoding="utf-8")
    assert "| new-documents | code | autocode / peer |" in md and "## Per-code F1, new-documents" in md


def test_the_selections_folds_hold_out_what_each_split_holds_out(manifesto):
    """new-documents: a fold holds out whole manifestos; in-domain: single sentences of
    manifestos the other folds know, interleaved as the protocol's every fifth sentence."""
    from pipeline.learn.classify import make_folds
    from pipeline.research.benchmark import fold_groups

    corpus = load_manifesto(manifesto, limit_per_document=100)
    party = np.array([s.transcript for s in corpus.segments])
    for split in ("new-documents", "in-domain"):
        train, _ = split_rows(corpus, split)
        folds = make_folds(fold_groups(corpus, split, train), np.ones((len(train), 1), dtype=bool), 5)
        # new-documents: the four training manifestos, one fold each
        assert len(folds.splits) == (4 if split == "new-documents" else 5)
        for inside, out in folds.splits:
            shared = set(party[train[inside]]) & set(party[train[out]])
            if split == "new-documents":
                assert not shared
            else:
                assert shared == set(party[train]) and len(out) == pytest.approx(len(train) / 5, abs=1)


def test_cli_refuses_unknown_split_and_missing_data(tmp_path):
    result = runner.invoke(app, ["benchmark", "manifesto", "--data", str(tmp_path), "--out", str(tmp_path / "b"), "--split", "random"])
    assert result.exit_code == 2 and "random" in result.stderr
    result = runner.invoke(app, ["benchmark", "manifesto", "--data", str(tmp_path), "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and "manifestos_2021.csv not found" in result.stderr
    with pytest.raises(InputError, match="grouping_info.txt"):
        (tmp_path / "manifestos_2021.csv").write_text("text,label,party\n", encoding="utf-8")
        load_manifesto(tmp_path)


def test_benchmark_on_a_local_dask_cluster_gives_the_same_figures(manifesto):
    pytest.importorskip("distributed")
    from pipeline.run.distributed import cluster_client

    corpus = load_manifesto(manifesto, limit_per_document=40)
    config = config_from_dict(FAST)
    local = run_benchmark(corpus, config=config, splits=("new-documents",), levels=("code",), isolate=False)
    with cluster_client(workers=1) as client:
        remote = run_benchmark(corpus, config=config, splits=("new-documents",), levels=("code",), client=client)
    for method in ("autocode", "peer"):
        a, b = local["results"]["new-documents"]["code"][method], remote["results"]["new-documents"]["code"][method]
        assert (a["accuracy"], a["macro_f1"], a["per_code_f1"]) == (b["accuracy"], b["macro_f1"], b["per_code_f1"])

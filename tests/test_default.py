"""The shipped default: code system, sample corpus and model meet their promises."""

import json
import re
from collections import Counter
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline import defaults
from pipeline.cli import app
from pipeline.core.codebook import load_codebook
from pipeline.core.config import RunConfig, load_config
from pipeline.learn.model import load_model
from pipeline.text.codings import read_hand_codes, segment_labels
from pipeline.text.segment import segment_transcript

runner = CliRunner()


def test_codebook_ids_match_the_fixed_code_system(repo, shared):
    ids = set(re.findall(r"^\| ((?:MOT|HEM)-[A-Z-]+) \|", (shared / "codebook" / "CODEBOOK.md").read_text(encoding="utf-8"), re.M))
    book = load_codebook(repo / "configs" / "codebook.yaml")
    assert len(ids) == 14
    assert set(book.leaf_ids) == ids
    assert book.parent_ids == ("MOT", "HEM")
    for code in book.codes:
        if code.parent:
            assert code.definition and code.anchors, code.id


def test_sample_corpus_size_and_coverage(repo):
    book = load_codebook(repo / "configs" / "codebook.yaml")
    transcripts = sorted((repo / "corpus" / "transcripts").glob("*.txt"))
    assert len(transcripts) >= 8
    assert sum(len(p.read_text(encoding="utf-8").split()) for p in transcripts) >= 12000
    hand = read_hand_codes([repo / "corpus" / "codings.jsonl"], codebook=book)
    config = load_config(repo / "configs" / "default.yaml")
    segments = [s for doc in hand.transcripts.values() for s in segment_transcript(doc, config=config.segment) if s.codable]
    labels = segment_labels(segments, [c for c in hand.codings if c.coder == "A"])
    per_code = Counter(code for seg in segments for code in labels[seg.id]["A"])
    assert set(per_code) == set(book.leaf_ids)
    assert min(per_code.values()) >= 20, per_code
    n_codes = [len(labels[s.id]["A"]) for s in segments]
    assert sum(n == 2 for n in n_codes) >= 10  # segments with two codes
    assert sum(n == 0 for n in n_codes) > len(segments) / 2  # plenty with none
    # Every coded span is a whole sentence of a respondent turn (no stray offsets).
    for c in hand.codings:
        text = hand.transcripts[c.document].text[c.start : c.end]
        assert text == text.strip() and text[-1] in ".?!…–-\"“”)" or text.endswith(("...", "—")), (c, text)


def test_default_model_is_the_shipped_configuration_trained_on_the_sample_corpus(repo):
    """The shipped model is what `autocode train` makes of the sample corpus: the shipped
    configuration, nothing chosen on the codes but thresholds, its CV figures unflattered."""
    model = load_model(repo / "models" / "default")
    assert model.codebook.hash == load_codebook(repo / "configs" / "codebook.yaml").hash
    assert model.config == load_config(repo / "configs" / "default.yaml")
    assert model.config.features.lexical and model.config.classifier.C == 10.0
    assert "selection" not in model.card and not model.card["cv"].get("optimistic")
    assert model.card["cv"]["macro_f1"] > 0.5
    # The card says what the model learned from besides the hand codes, and how it was made.
    card = (repo / "models" / "default" / "README.md").read_text(encoding="utf-8")
    assert "cosine to each code's prototype" in card
    assert "definitions and anchors as training examples (weight 3.0)" in card
    assert "thresholds pulled 0.5 of the way" in card
    assert "nothing was chosen on these hand codes but each code's threshold" in card
    assert "| interviews→literature |" in card


def test_one_source_of_truth_for_the_defaults(repo):
    """The dataclass defaults, the packaged YAML and the repository's configs/ agree, and
    the repository's configs/ and models/default are the package data itself."""
    assert RunConfig() == load_config(None) == load_config(defaults.config_path())
    assert load_config(repo / "configs" / "default.yaml") == RunConfig()
    for repo_path, packaged in (
        (repo / "configs" / "default.yaml", defaults.config_path()),
        (repo / "configs" / "codebook.yaml", defaults.codebook_path()),
        (repo / "configs" / "manifesto.yaml", defaults.manifesto_config_path()),
        (repo / "configs" / "fast.yaml", defaults.fast_config_path()),
        (repo / "models" / "default" / "model.json", defaults.model_dir() / "model.json"),
    ):
        assert repo_path.read_bytes() == packaged.read_bytes(), repo_path
    # The shipped model was trained with the shipped configuration, code system and the
    # sample corpus, so that its README figures are what a user reproduces.
    model = load_model(defaults.model_dir())
    assert model.config == RunConfig()
    assert model.codebook.hash == load_codebook(defaults.codebook_path()).hash
    # Trained on both registers of the shipped material, with its transfer figures.
    assert [Path(f).name for f in model.card["training"]["files"]] == ["codings.jsonl", "codings.jsonl"]
    assert model.card["training"]["documents"] == 18
    assert set(model.card["transfer"]["directions"]) == {"interviews→literature", "literature→interviews"}


def test_fast_preset_is_the_use_configuration(repo):
    """configs/fast.yaml: the USE + lexical configuration, every option listed."""
    fast = load_config(defaults.fast_config_path())
    assert fast.embedder.name == "use-multilingual" and fast.features.lexical
    listed = yaml.safe_load(defaults.fast_config_path().read_text(encoding="utf-8"))
    assert {s: set(v) for s, v in listed.items()} == {s: set(v) for s, v in RunConfig().to_dict().items()}


def test_default_model_dir_follows_autocode_model(monkeypatch, tmp_path):
    monkeypatch.delenv("AUTOCODE_MODEL", raising=False)
    assert defaults.model_dir() == Path(str(files("pipeline.defaults") / "model"))
    monkeypatch.setenv("AUTOCODE_MODEL", str(tmp_path))
    assert defaults.model_dir() == tmp_path


@pytest.mark.slow
def test_train_without_config_uses_the_shipped_default(repo, tmp_path):
    coded = repo / "corpus" / "codings.jsonl"
    out = tmp_path / "m"
    result = runner.invoke(app, ["train", str(coded), "--codebook", str(repo / "configs" / "codebook.yaml"), "--coder", "A", "--out", str(out), "--no-cv"])
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8")) == yaml.safe_load(defaults.config_path().read_text(encoding="utf-8"))
    assert load_model(out).config == RunConfig()


@pytest.mark.slow
def test_classify_sample_corpus_with_default_model(repo, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["classify", str(repo / "corpus" / "transcripts"), "--out", str(out), "--model", str(repo / "models" / "default")])
    assert result.exit_code == 0, result.stderr
    files = sorted(p.name for p in out.glob("*.jsonl"))
    assert len(files) >= 8
    records = [json.loads(line) for line in (out / "int03_kmu_sensorik.jsonl").read_text(encoding="utf-8").splitlines()]
    text = (repo / "corpus" / "transcripts" / "int03_kmu_sensorik.txt").read_text(encoding="utf-8")
    assert any(r["codes"] for r in records)
    for r in records:
        assert text[r["start"] : r["end"]].strip()
        assert all(0.0 <= p <= 1.0 for p in r["scores"].values())
        assert not re.search(r"#\d\d:\d\d|\(lacht\)", r["text"])


@pytest.mark.slow
def test_classify_seed_literature(repo, shared, tmp_path):
    seed = shared / "seed" / "000_b638a09ae5ae0509.txt"
    out = tmp_path / "out"
    result = runner.invoke(app, ["classify", str(seed), "--out", str(out), "--model", str(repo / "models" / "default")])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in (out / f"{seed.stem}.jsonl").read_text(encoding="utf-8").splitlines()]
    body = [r for r in records if r["role"] == "body"]
    assert len(body) > 200
    assert all(set(r["scores"]) == set(load_codebook(repo / "configs" / "codebook.yaml").leaf_ids) for r in body)
    assert sum(bool(r["codes"]) for r in body) > 20
    assert any(r["role"] == "footnote" and not r["codes"] for r in records)
    # "Informations- und ..." is German; any other "word- word" is a broken hyphenation.
    elided = {m.group(1) for r in body for m in re.finditer(r"\w- (\w+)", r["text"])}
    assert elided <= {"und", "oder", "als", "sowie", "bzw"}, elided


def test_every_shipped_configuration_loads(repo):
    """configs/*.yaml are valid run configurations (the README tells users to pass them
    with --config), and so are the benchmarks' own (the docs pass them to the benchmark
    commands)."""
    paths = [p for p in sorted((repo / "configs").glob("*.yaml")) if p.name != "codebook.yaml"]
    assert {p.name for p in paths} == {"default.yaml", "fast.yaml", "manifesto.yaml"}
    paths += sorted((repo / "benchmarks" / "configs").glob("*.yaml"))
    assert {p.name for p in paths} >= {"manifesto-e5.yaml", "e5-c002.yaml"}
    for path in paths:
        load_config(path)

"""Unit files as hand codes, end to end: ids that repeat across files and documents,
several coders in one file, a single spreadsheet without documents, and the figures of
``autocode train``/``evaluate``/``classify`` on them equal to the library's."""

from __future__ import annotations

import csv
import json
import random
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.cli._app import default_model_dir
from pipeline.core.codebook import Code, Codebook, save_codebook
from pipeline.core.config import config_from_dict
from pipeline.core.errors import CodingError
from pipeline.learn.cv import cross_validate
from pipeline.learn.fit import build_training_set
from pipeline.learn.model import load_model
from pipeline.learn.train import train
from pipeline.text.codings import read_hand_codes

runner = CliRunner()

# One unambiguous keyword per code; every other word of a sentence is drawn from the
# same filler for all codes, so only the keyword tells the codes apart.
KEYWORDS = {
    "MOT-MARKT": ["neue Absatzmärkte", "die Absatzmärkte", "weitere Absatzmärkte"],
    "HEM-FINANZEN": ["die Finanzierungslücke", "eine Finanzierungslücke", "diese Finanzierungslücke"],
    "HEM-SPRACHE-KULTUR": ["die Sprachbarriere", "eine Sprachbarriere", "jede Sprachbarriere"],
    "MOT-FOERDERUNG": ["das Förderprogramm", "ein Förderprogramm", "dieses Förderprogramm"],
}
NEUTRAL = ["das Wetter", "die Kantine", "den Parkplatz", "die Mittagspause", "den Kaffee", "die Zugfahrt"]
SUBJECTS = ["Unser Team", "Die Geschäftsführerin", "Ein Kollege aus Metz", "Der Vertriebsleiter", "Das Clustermanagement",
            "Eine Partnerin in Straßburg", "Der Vorstand", "Die Projektgruppe"]
VERBS = ["sprach im Frühjahr über", "erwähnte beim Treffen", "diskutierte lange über", "nannte gestern",
         "beschrieb ausführlich", "kam mehrmals auf", "betonte im Gespräch", "fragte nach"]
ENDINGS = ["", " in Lyon", " am Telefon", " während der Messe", " im Workshop", " beim Mittagessen"]


def sentence(rng: random.Random, code: str | None) -> str:
    thing = rng.choice(KEYWORDS[code] if code else NEUTRAL)
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {thing}{rng.choice(ENDINGS)}."


def coded_units(n: int, seed: int) -> list[tuple[str, str, list[str]]]:
    """``n`` units ``(id, text, codes)`` with ids 1..n; a fifth carry no code."""
    rng = random.Random(seed)
    codes = list(KEYWORDS) + [None]
    out = []
    for i in range(1, n + 1):
        code = codes[(i + seed) % len(codes)]
        out.append((str(i), sentence(rng, code), [code] if code else []))
    return out


def write_units(path, units, **fields):
    path.write_text("".join(json.dumps({"id": i, "text": t, "codes": c, **fields}, ensure_ascii=False) + "\n"
                            for i, t, c in units), encoding="utf-8")
    return path


CODEBOOK = Codebook(name="keywords", codes=tuple(Code(c, c.title()) for c in KEYWORDS))
TFIDF = {"embedder": {"name": "tfidf"}, "features": {"lexical": False}, "classifier": {"C": 10.0},
         "training": {"min_examples": 2, "cv_folds": 5}}


def test_unit_ids_are_scoped_by_their_file(tmp_path):
    """Two files with ids 1..4: each unit keeps its own codes (ids used to be global)."""
    a = write_units(tmp_path / "a.jsonl", [("1", "Wir suchen neue Absatzmärkte.", ["MOT-MARKT"]), ("2", "Das Wetter war gut.", [])])
    b = write_units(tmp_path / "b.jsonl", [("1", "Die Sprachbarriere bremst uns.", ["HEM-SPRACHE-KULTUR"]),
                                           ("2", "Die Finanzierungslücke ist groß.", ["HEM-FINANZEN"])])
    hand = read_hand_codes([a, b], codebook=CODEBOOK)
    data = build_training_set(hand, codebook=CODEBOOK, config=config_from_dict(TFIDF))
    got = {(s.transcript, s.id): [CODEBOOK.leaf_ids[j] for j in np.flatnonzero(y)] for s, y in zip(data.segments, data.Y)}
    assert got == {("a", "1"): ["MOT-MARKT"], ("a", "2"): [], ("b", "1"): ["HEM-SPRACHE-KULTUR"], ("b", "2"): ["HEM-FINANZEN"]}


def test_several_documents_and_coders_in_one_file(tmp_path):
    rows = [
        {"document": "int01", "id": 1, "text": "Wir suchen neue Absatzmärkte.", "codes": ["MOT-MARKT"], "coder": "A"},
        {"document": "int01", "id": 1, "text": "Wir suchen neue Absatzmärkte.", "codes": [], "coder": "B"},
        {"document": "int02", "id": 1, "text": "Die Sprachbarriere bremst uns.", "codes": ["HEM-SPRACHE-KULTUR"], "coder": "A"},
        {"document": "int02", "id": 1, "text": "Die Sprachbarriere bremst uns.", "codes": ["HEM-SPRACHE-KULTUR"], "coder": "B"},
        {"document": "int02", "id": 2, "text": "Das Wetter war gut.", "codes": [], "coder": "A"},
    ]
    path = tmp_path / "coded.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    hand = read_hand_codes([path], codebook=CODEBOOK)
    assert sorted(hand.transcripts) == ["int01", "int02"]
    assert [k for k, _, _ in hand.transcripts["int02"].units] == ["int02:1", "int02:2"]
    assert {(u.document, u.key, u.coder, tuple(u.codes)) for u in hand.units} == {
        ("int01", "int01:1", "A", ("MOT-MARKT",)), ("int01", "int01:1", "B", ()),
        ("int02", "int02:1", "A", ("HEM-SPRACHE-KULTUR",)), ("int02", "int02:1", "B", ("HEM-SPRACHE-KULTUR",)),
        ("int02", "int02:2", "A", ()),
    }
    # Coder B did not code unit int02:2: it is no example of B's, positive or negative.
    data = build_training_set(hand, codebook=CODEBOOK, config=config_from_dict(TFIDF), coder="B")
    assert [s.id for s in data.segments] == ["int01:1", "int02:1"]
    assert data.Y.sum(axis=0).tolist() == [0, 0, 1, 0]
    data = build_training_set(hand, codebook=CODEBOOK, config=config_from_dict(TFIDF), coder="A")
    assert [s.id for s in data.segments] == ["int01:1", "int02:1", "int02:2"]
    assert data.Y[0].tolist() == [True, False, False, False]


def test_one_unit_coded_twice_by_one_coder_names_both_lines(tmp_path):
    rows = [("7", "Wir suchen neue Absatzmärkte.", ["MOT-MARKT"]), ("8", "Das Wetter war gut.", []),
            ("7", "Wir suchen neue Absatzmärkte.", [])]
    path = write_units(tmp_path / "dup.jsonl", rows, coder="A")
    with pytest.raises(CodingError, match=r"dup.jsonl:3: coder 'A' coded unit '7' of document 'dup' twice \(also .*dup.jsonl:1\)"):
        read_hand_codes([path])


def test_one_id_with_two_texts_in_a_document_is_refused(tmp_path):
    path = write_units(tmp_path / "u.jsonl", [("1", "Wir suchen neue Absatzmärkte.", ["MOT-MARKT"]), ("1", "Das Wetter.", [])])
    with pytest.raises(CodingError, match=r"u.jsonl:2: unit '1' of document 'u' has another text at .*u.jsonl:1"):
        read_hand_codes([path])


def test_two_coders_files_on_the_same_units_keep_coder_a(tmp_path):
    """Each coder's own file of the same units: training on A learns A's positives."""
    units = coded_units(10, seed=1)
    a = write_units(tmp_path / "a.jsonl", units, coder="A")
    b = write_units(tmp_path / "b.jsonl", [(i, t, []) for i, t, _ in units], coder="B")
    data = build_training_set(read_hand_codes([a, b], codebook=CODEBOOK), codebook=CODEBOOK,
                              config=config_from_dict(TFIDF), coder="A")
    assert len(data.segments) == 10
    assert int(data.Y.sum()) == sum(bool(c) for _, _, c in units)


def test_a_single_file_without_documents_folds_over_units(tmp_path):
    path = write_units(tmp_path / "sheet.jsonl", coded_units(60, seed=2))
    config = config_from_dict(TFIDF)
    hand = read_hand_codes([path], codebook=CODEBOOK)
    cv = cross_validate(build_training_set(hand, codebook=CODEBOOK, config=config), config=config)
    assert cv["folds"] == 5 and cv["fold_rule"] == "5 folds over units, stratified by code"
    assert "1 document, too few to fold by document" in cv["fold_note"]
    assert cv["micro_f1"] > 0.9
    model = train([path], config=config, codebook=CODEBOOK, evaluate=False)
    assert not np.allclose(model.classifier.thresholds_, 0.5)  # tuned, not left at 0.5


def six_files(tmp_path):
    return [write_units(tmp_path / f"gruppe{k}.jsonl", coded_units(20, seed=k)) for k in range(6)]


def test_six_unit_files_reusing_ids_are_learned_cli_equals_library(tmp_path):
    """Done-when check: six files with ids 1..20 each, keyword-coded, default configuration."""
    files = six_files(tmp_path)
    model = load_model(default_model_dir())
    config, book = model.config, model.codebook
    data = build_training_set(read_hand_codes(files, codebook=book), codebook=book, config=config)
    assert len(data.segments) == 120 and len(set(data.groups)) == 6
    library = cross_validate(data, config=config)
    assert library["fold_rule"] == "5 folds grouped by document"
    assert library["micro_f1"] >= 0.9, library["micro_f1"]

    result = runner.invoke(app, ["evaluate", *map(str, files), "--model", str(default_model_dir()),
                                 "--json", str(tmp_path / "cv.json")])
    assert result.exit_code == 0, result.stderr
    cli = json.loads((tmp_path / "cv.json").read_text(encoding="utf-8"))
    assert cli["micro_f1"] == pytest.approx(library["micro_f1"]) and cli["macro_f1"] == pytest.approx(library["macro_f1"])
    assert f"micro-F1 {library['micro_f1']:.3f}" in result.stdout


def test_five_thousand_units_in_one_file_train_and_classify(tmp_path):
    """Done-when check: one spreadsheet of ~5,000 coded units, CLI train then classify."""
    units = coded_units(5000, seed=7)
    sheet = tmp_path / "sheet.csv"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["ID", "Text", "Codes", "Kodierer"])
        writer.writerows((i, t, ";".join(c), "A") for i, t, c in units)
    config = tmp_path / "tfidf.yaml"
    config.write_text(json.dumps(TFIDF), encoding="utf-8")
    book = tmp_path / "codebook.yaml"
    save_codebook(CODEBOOK, book)

    began = time.perf_counter()
    result = runner.invoke(app, ["train", str(sheet), "--out", str(tmp_path / "m"), "--config", str(config),
                                 "--codebook", str(book), "--no-cv"])
    trained = time.perf_counter()
    assert result.exit_code == 0, result.stderr
    assert "trained on 5000 segments" in result.stderr and "folds are built over units" in result.stderr
    card = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    assert card["training"]["threshold_folds"] == "5 folds over units, stratified by code"

    result = runner.invoke(app, ["classify", str(sheet), "--model", str(tmp_path / "m"), "--out", str(tmp_path / "out")])
    classified = time.perf_counter()
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in (tmp_path / "out" / "sheet.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in out] == [i for i, _, _ in units]
    right = sum(r["codes"] == c for r, (_, _, c) in zip(out, units))
    assert right / len(units) > 0.98
    print(f"5,000 units (tfidf): train {trained - began:.1f} s, classify {classified - trained:.1f} s")


def test_agreement_reads_coders_and_documents_of_one_file_and_matches_classify_ids(tmp_path):
    """One file, two documents with their own ids, two coders; the model's output of the
    same file carries the ids <document>:<id>, so it is matched unit by unit."""
    from pipeline.agreement.units import load_coded_units
    from pipeline.text.ingest import read_transcript

    rows = [(d, i, t, a, b) for d, i, t, a, b in [
        ("int01", 1, "Wir suchen neue Absatzmärkte.", ["MOT-MARKT"], ["MOT-MARKT"]),
        ("int01", 2, "Das Wetter war gut.", [], ["MOT-MARKT"]),
        ("int02", 1, "Die Sprachbarriere bremst uns.", ["HEM-SPRACHE-KULTUR"], ["HEM-SPRACHE-KULTUR"]),
    ]]
    coded = tmp_path / "coded.jsonl"
    coded.write_text("".join(
        json.dumps({"document": d, "id": i, "text": t, "codes": codes, "coder": coder}, ensure_ascii=False) + "\n"
        for d, i, t, a, b in rows for coder, codes in (("A", a), ("B", b))), encoding="utf-8")
    source = read_transcript(coded)  # what 'autocode classify coded.jsonl' reads
    assert [k for k, _, _ in source.units] == ["int01:1", "int01:2", "int02:1"]
    model = tmp_path / "model.jsonl"
    model.write_text("".join(
        json.dumps({"id": k, "transcript": source.id, "start": a, "end": b, "text": source.text[a:b],
                    "codes": ["MOT-MARKT"] if k == "int01:1" else [], "scores": {}, "model": "m"}) + "\n"
        for k, a, b in source.units), encoding="utf-8")
    units = load_coded_units([coded, model], codebook=CODEBOOK)
    assert units.coders == ("A", "B", "model:m") and units.unit_ids == ("int01:1", "int01:2", "int02:1")
    assert units.documents == ("int01", "int01", "int02")
    markt, _ = units.code_matrix("MOT-MARKT")
    assert markt.tolist() == [[1, 1, 1], [0, 1, 0], [0, 0, 0]]

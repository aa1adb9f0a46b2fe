"""Units of analysis and the ``autocode agreement`` command, on tiny German examples."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import pipeline.cli.agreement  # noqa: F401  (registers the command)
from pipeline.agreement.assess import assess_coded, assess_table
from pipeline.agreement.units import load_coded_units, read_table, span_units
from pipeline.cli._app import app
from pipeline.core.errors import InputError
from pipeline.core.types import Coding

TEXT = (
    "B: Wir wollten neue Kunden in Frankreich gewinnen. "
    "Die Bürokratie dort hat uns aber viel Zeit gekostet. "
    "Am Ende hat sich der Schritt trotzdem gelohnt."
)
S1 = (0, TEXT.index("Die"))
S2 = (TEXT.index("Die"), TEXT.index("Am"))
S3 = (TEXT.index("Am"), len(TEXT))

UNITS = [
    {"id": "u1", "text": "Wir wollten neue Kunden in Frankreich gewinnen."},
    {"id": "u2", "text": "Die Bürokratie dort hat uns viel Zeit gekostet."},
    {"id": "u3", "text": "Am Ende hat sich der Schritt gelohnt."},
    {"id": "u4", "text": "Die Kosten waren zu hoch."},
]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def unit_file(tmp_path, coder, codes):
    return write_jsonl(tmp_path / f"{coder}.jsonl",
                       [{**u, "codes": c, "coder": coder} for u, c in zip(UNITS, codes)])


def classify_file(tmp_path, codes, model="tfidf-logreg"):
    return write_jsonl(tmp_path / "classified.jsonl", [
        {"id": u["id"], "transcript": "units", "start": 0, "end": len(u["text"]), "speaker": "", "role": "unit",
         "codable": True, "text": u["text"], "codes": c, "scores": {}, "model": model}
        for u, c in zip(UNITS, codes)
    ])


HUMAN_A = [["MOT"], ["HEM"], ["MOT"], ["HEM"]]
HUMAN_B = [["MOT"], ["HEM"], [], ["HEM"]]
MODEL = [["MOT"], [], ["MOT"], ["HEM"]]


def test_segment_units_from_unit_files_and_model(tmp_path):
    files = [unit_file(tmp_path, "A", HUMAN_A), unit_file(tmp_path, "B", HUMAN_B), classify_file(tmp_path, MODEL)]
    units = load_coded_units(files, unit="segment")
    assert units.coders == ("A", "B", "model:tfidf-logreg")
    assert units.codes == ("HEM", "MOT")
    mot, _ = units.code_matrix("MOT")
    assert mot.tolist() == [[1, 1, 1], [0, 0, 0], [1, 0, 1], [0, 0, 0]]
    assert "segment" in units.rule

    result = assess_coded(units, n_boot=50)
    assert [i.name for i in result.items] == ["HEM", "MOT"]
    # Human–human first: the main figures leave the model out; the pooled ones include it.
    assert [(p.coder_a, p.coder_b) for p in result.overall.pairs] == [("A", "B")]
    assert result.pooled is not None and "model included" in result.pooled.name
    pairs = {(p.coder_a, p.coder_b): p for p in result.pooled.pairs}
    assert pairs[("A", "model:tfidf-logreg")].involves_model
    assert not pairs[("A", "B")].involves_model
    # A and B disagree on u3/MOT only; A and the model on u2/HEM only: 7 of 8 decisions.
    assert pairs[("A", "B")].estimates["percent_agreement"].value == pytest.approx(7 / 8)
    assert pairs[("A", "model:tfidf-logreg")].estimates["percent_agreement"].value == pytest.approx(7 / 8)
    assert {(d.unit, d.item) for d in result.disagreements} == {("u2", "HEM"), ("u3", "MOT")}


def test_missing_unit_is_missing_not_absent(tmp_path):
    a = unit_file(tmp_path, "A", HUMAN_A)
    b = write_jsonl(tmp_path / "B.jsonl", [{**UNITS[0], "codes": ["MOT"], "coder": "B"}])
    units = load_coded_units([a, b])
    mot, _ = units.code_matrix("MOT")
    assert mot[:, 1].tolist() == [1, -1, -1, -1]


def test_one_coder_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="at least two coders; found 1"):
        load_coded_units([unit_file(tmp_path, "A", HUMAN_A)])


def spans(coder, items):
    return [Coding("int01", a, b, code, coder) for (a, b), code in items]


def test_span_units_join_overlapping_spans_and_ignore_uncoded_text():
    codings = (spans("A", [(S1, "MOT"), (S2, "HEM")])
               + spans("B", [((S1[0] + 3, S1[1]), "MOT"), (S3, "HEM")]))
    units = span_units(codings, {"int01": TEXT})
    assert units.unit_codes == ("HEM", "HEM", "MOT")
    hem, _ = units.code_matrix("HEM")
    mot, _ = units.code_matrix("MOT")
    assert mot.tolist() == [[1, 1]]  # B's shorter span lies inside A's: one unit
    assert hem.tolist() == [[1, 0], [0, 1]]  # different sentences: two units, no agreement
    assert "uncoded text is not counted" in units.rule

    counted = span_units(codings, {"int01": TEXT}, count_uncoded=True)
    hem, _ = counted.code_matrix("HEM")
    # the first sentence, which nobody coded HEM, becomes a unit of agreed absence
    assert hem.tolist() == [[1, 0], [0, 1], [0, 0]]
    assert counted.unit_ids[2] == f"int01:0-{S2[0]}:HEM:uncoded"
    assert "count as agreed" in counted.rule


def test_span_threshold_decides_whether_spans_match():
    a = (0, 100)
    b = (60, 160)  # 40 % of each
    codings = spans("A", [(a, "MOT")]) + spans("B", [(b, "MOT")])
    text = "x" * 200
    assert span_units(codings, {"int01": text}, min_overlap=0.5).code_matrix("MOT")[0].tolist() == [[1, 0], [0, 1]]
    assert span_units(codings, {"int01": text}, min_overlap=0.4).code_matrix("MOT")[0].tolist() == [[1, 1]]


def test_span_files_via_command(tmp_path):
    (tmp_path / "int01.txt").write_text(TEXT, encoding="utf-8")
    rows = [dict(document="int01", start=a, end=b, code=code, coder=coder)
            for coder, items in (("A", [(S1, "MOT"), (S2, "HEM")]), ("B", [(S1, "MOT"), (S2, "HEM"), (S3, "MOT")]))
            for (a, b), code in items]
    codings = write_jsonl(tmp_path / "spans.jsonl", rows)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["agreement", str(codings), "--unit", "span", "--json", str(out),
                                      "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["unit"] == "span"
    assert figures["codes"]["HEM"]["percent_agreement"] == 1.0
    assert figures["codes"]["MOT"]["percent_agreement"] == 0.5


def test_segment_unit_projects_spans_onto_classify_segments(tmp_path):
    (tmp_path / "int01.txt").write_text(TEXT, encoding="utf-8")
    rows = [dict(document="int01", start=a, end=b, code=code, coder=coder)
            for coder, items in (("A", [(S1, "MOT"), (S2, "HEM")]), ("B", [((S1[0], S1[1] - 10), "MOT")]))
            for (a, b), code in items]
    codings = write_jsonl(tmp_path / "spans.jsonl", rows)
    model = write_jsonl(tmp_path / "int01.jsonl", [
        {"id": f"int01:{i:04d}", "transcript": "int01", "start": a, "end": b, "speaker": "B", "role": "respondent",
         "codable": True, "text": TEXT[a:b], "codes": c, "scores": {}, "model": "m"}
        for i, ((a, b), c) in enumerate(((S1, ["MOT"]), (S2, ["HEM"]), (S3, [])))
    ])
    units = load_coded_units([codings, model], unit="segment")
    assert units.coders == ("A", "B", "model:m")
    hem, _ = units.code_matrix("HEM")
    mot, _ = units.code_matrix("MOT")
    assert mot.tolist() == [[1, 1, 1], [0, 0, 0], [0, 0, 0]]
    assert hem.tolist() == [[0, 0, 0], [1, 0, 1], [0, 0, 0]]
    assert "covers ≥ 50%" in units.rule


def test_document_units_presence_and_frequency(tmp_path):
    codings = (spans("A", [(S1, "MOT"), (S3, "MOT"), (S2, "HEM")])
               + [Coding("int02", 0, 5, "MOT", "A")]
               + spans("B", [(S1, "MOT"), (S2, "HEM")])
               + [Coding("int02", 0, 5, "HEM", "B")])
    rows = [dict(document=c.document, start=c.start, end=c.end, code=c.code, coder=c.coder) for c in codings]
    (tmp_path / "int01.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "int02.txt").write_text("Kurzer Text.", encoding="utf-8")
    units = load_coded_units([write_jsonl(tmp_path / "spans.jsonl", rows)], unit="document")
    assert units.unit_ids == ("int01", "int02")
    freq, _ = units.code_matrix("MOT", presence=False)
    assert freq.tolist() == [[2, 1], [1, 0]]
    result = assess_coded(units, n_boot=0)
    assert [i.name for i in result.items] == ["HEM", "HEM (frequency)", "MOT", "MOT (frequency)"]
    assert result.items[3].level == "interval"


def test_table_and_json_keys(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("unit,A,B,C\nu1,a,a,a\nu2,a,b,a\nu3,b,b,b\nu4,c,c,\nu5,a,,\n", encoding="utf-8")
    out = tmp_path / "fig.json"
    result = CliRunner().invoke(app, ["agreement", "--table", str(table), "--json", str(out), "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    coefficients = {"percent_agreement", "fleiss_kappa", "conger_kappa", "brennan_prediger", "gwet_ac1",
                    "krippendorff_alpha"}
    assert set(figures) == coefficients | {"n_rated", "n_units", "units_entered", "weights", "nan_reasons", "ci",
                                           "ci_method"}
    assert all(isinstance(figures[k], float) for k in coefficients)
    # One interval per coefficient; α's is the bootstrap's, and --bootstrap 0 draws none.
    assert set(figures["ci"]) == coefficients and figures["ci"]["krippendorff_alpha"] is None
    assert figures["ci_method"]["krippendorff_alpha"].endswith("no interval (--bootstrap 0)")
    assert figures["ci_method"]["fleiss_kappa"].startswith("t distribution")
    assert (figures["n_rated"], figures["n_units"]) == (5, 4)
    # u5 has one rating and is not pairable; the rest as computed by hand:
    # pairs agreeing per unit: u1 3/3, u2 1/3, u3 3/3, u4 1/1 -> mean 5/6.
    assert figures["percent_agreement"] == pytest.approx(5 / 6)

    two = tmp_path / "two.csv"
    two.write_text("unit,A,B\nu1,1,1\nu2,2,3\nu3,3,3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["agreement", "--table", str(two), "--level", "interval", "--json", str(out),
                                      "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(out.read_text())) >= {"cohen_kappa", "scott_pi"}


def test_table_reader_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,A\nu1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match="at least two coder columns"):
        read_table(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("unit,A,B\nu1,a,a\nu1,a,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="occurs twice"):
        read_table(dup)
    rows = [("u1", ["a", ""]), ("u2", ["", "b"])]
    with pytest.raises(InputError, match="No pairable unit"):
        assess_table(rows, coders=["A", "B"])
    with pytest.raises(InputError, match="needs numbers"):
        assess_table([("u1", ["gut", "schlecht"])], coders=["A", "B"], level="interval")


def test_command_usage_errors_exit_2_and_data_errors_exit_1(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["agreement", "--report", str(tmp_path)]).exit_code == 2
    assert runner.invoke(app, ["agreement", "--table", "x.csv"]).exit_code == 2  # no output asked for
    assert runner.invoke(app, ["agreement", "--table", "x.csv", "--json", "o", "--level", "fuzzy"]).exit_code == 2
    result = runner.invoke(app, ["agreement", str(unit_file(tmp_path, "A", HUMAN_A)), "--json", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "at least two coders" in result.output


def test_command_writes_report_folder(tmp_path):
    files = [unit_file(tmp_path, "A", HUMAN_A), unit_file(tmp_path, "B", HUMAN_B), classify_file(tmp_path, MODEL)]
    report = tmp_path / "report"
    result = CliRunner().invoke(app, ["agreement", *map(str, files), "--report", str(report), "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in report.iterdir()) == ["disagreements.csv", "figures.csv", "pairs.csv", "report.html"]
    lines = (report / "disagreements.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "unit,document,start,end,item,A,B,model:tfidf-logreg,text"
    assert any(line.startswith("u3,") and ",MOT,yes,no,yes," in line for line in lines)
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "<html lang='de'>" in html and "Modell gegen Menschen" in html


def test_help_speaks_to_researchers():
    result = CliRunner().invoke(app, ["agreement", "--help"])
    assert result.exit_code == 0
    assert "Krippendorff" in result.output and "--unit" in result.output


def test_whole_code_system_pools_decisions(tmp_path):
    files = [unit_file(tmp_path, "A", HUMAN_A), unit_file(tmp_path, "B", HUMAN_B)]
    result = assess_coded(load_coded_units(files), n_boot=0)
    assert result.overall.n_units == 8  # 4 units × 2 codes
    assert result.overall.estimates["percent_agreement"].value == pytest.approx(7 / 8)
    assert np.isfinite(result.overall.estimates["krippendorff_alpha"].value)


def test_command_takes_a_classify_output_folder(tmp_path):
    files = [unit_file(tmp_path, "A", HUMAN_A), unit_file(tmp_path, "B", HUMAN_B)]
    out = tmp_path / "classified"
    out.mkdir()
    classify_file(out, MODEL)
    (out / "summary.csv").write_text("transcript,segments\nunits,4\n", encoding="utf-8")
    (out / "classified.meta.json").write_text("{}", encoding="utf-8")  # as classify writes it
    (out / "stray.jsonl").write_text("", encoding="utf-8")  # no .meta.json beside it: not an output
    by_folder, by_file = tmp_path / "folder.json", tmp_path / "file.json"
    args = ["--bootstrap", "0", "--json"]
    assert CliRunner().invoke(app, ["agreement", *map(str, files), str(out), *args, str(by_folder)]).exit_code == 0
    assert CliRunner().invoke(app, ["agreement", *map(str, files), str(out / "classified.jsonl"), *args, str(by_file)]).exit_code == 0
    assert by_folder.read_text(encoding="utf-8") == by_file.read_text(encoding="utf-8")
    assert "model:tfidf-logreg" in by_folder.read_text(encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["agreement", *map(str, files), str(empty), *args, str(by_file)])
    assert result.exit_code == 2 and "no classify output in the folder" in result.output


def test_document_unit_nan_says_why(tmp_path):
    """Both coders used both codes in the one document: no variation, so κ and α are undefined."""
    files = [write_jsonl(tmp_path / f"{coder}.jsonl", [{**u, "codes": c, "coder": coder, "document": "int01"}
                                                       for u, c in zip(UNITS, codes)])
             for coder, codes in (("A", HUMAN_A), ("B", HUMAN_B))]
    out = tmp_path / "f.json"
    result = CliRunner().invoke(app, ["agreement", *map(str, files), "--unit", "document", "--json", str(out),
                                      "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["krippendorff_alpha"] is None
    assert figures["nan_reasons"]["krippendorff_alpha"].startswith("one category only")
    assert "krippendorff_alpha: undefined – one category only" in result.output


def test_coders_whose_units_are_other_units_stop_the_command(tmp_path):
    """B named the document otherwise: no unit of A is a unit of B. The command stops and
    shows both id forms instead of reporting a figure over nobody's common units."""
    files = [write_jsonl(tmp_path / f"{coder}.jsonl", [{**u, "codes": c, "coder": coder, "document": doc}
                                                       for u, c in zip(UNITS, codes)])
             for coder, codes, doc in (("A", HUMAN_A, "int01"), ("B", HUMAN_B, "interview01"))]
    out = tmp_path / "f.json"
    result = CliRunner().invoke(app, ["agreement", *map(str, files), "--json", str(out), "--bootstrap", "0"])
    assert result.exit_code == 1, result.output
    assert "coder 'A' shares 0 of its 4 units with B" in result.stderr
    assert "int01:u1, int01:u2, int01:u3 …" in result.stderr and "interview01:u1" in result.stderr
    assert "same 'document' and 'id'" in result.stderr
    assert not out.exists()


def test_units_one_coder_alone_coded_enter_no_figure(tmp_path):
    """A coded a fourth unit that B never saw: the humans' figures, intervals included, are
    those of the three common units, with or without it."""
    b = write_jsonl(tmp_path / "B.jsonl", [{**u, "codes": c, "coder": "B"} for u, c in zip(UNITS[:3], HUMAN_B)])
    full = unit_file(tmp_path, "A", HUMAN_A)
    (tmp_path / "A3").mkdir()
    common = write_jsonl(tmp_path / "A3" / "A.jsonl", [{**u, "codes": c, "coder": "A"} for u, c in zip(UNITS[:3], HUMAN_A)])
    figures = []
    for a in (full, common):
        out = tmp_path / f"{a.parent.name}.json"
        result = CliRunner().invoke(app, ["agreement", str(a), str(b), "--json", str(out), "--bootstrap", "100"])
        assert result.exit_code == 0, result.output
        figures.append(json.loads(out.read_text(encoding="utf-8")))
    assert figures[0]["n_units"] == 6  # 3 units × 2 codes
    for key in ("fleiss_kappa", "gwet_ac1", "krippendorff_alpha", "ci"):
        assert figures[0][key] == figures[1][key], key

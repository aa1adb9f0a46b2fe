"""Codes are checked wherever they are read: every unknown code at once, typos across coders."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, SAMPLE_DOCUMENTS
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.codebook import load_codebook
from pipeline.text.code_check import (
    CodeCheckWarning,
    CodeUse,
    UnknownCodeError,
    check_codes,
    closest_code,
    edit_distance,
)
from pipeline.text.codings import read_hand_codes

TEXT = "B: Wir wollten neue Kunden gewinnen. Das Geld fehlt. Die Sprache ist schwer. Wir lernen viel.\n"
SENTENCES = ["Wir wollten neue Kunden gewinnen.", "Das Geld fehlt.", "Die Sprache ist schwer.", "Wir lernen viel."]


@pytest.fixture
def codebook():
    return load_codebook(REPO / "configs" / "codebook.yaml")


def spans(tmp_path, rows):
    (tmp_path / "d1.txt").write_text(TEXT, encoding="utf-8")
    path = tmp_path / "codings.jsonl"
    lines = []
    for code, sentence, coder in rows:
        start = TEXT.index(sentence)
        lines.append(json.dumps({"document": "d1", "start": start, "end": start + len(sentence), "code": code, "coder": coder}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_edit_distance_and_closest():
    assert edit_distance("MOT-MARKTT", "MOT-MARKT") == 1
    assert edit_distance("HEM-KAPAZITÄT", "HEM-KAPAZITAET") == 2
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert closest_code("HEM-FINANZ", ["HEM-FINANZEN", "MOT-MARKT"]) == "HEM-FINANZEN"
    assert closest_code("XYZ-QQQQQQQQ", ["HEM-FINANZEN", "MOT-MARKT"]) is None


def test_every_unknown_code_of_a_file_in_one_error_with_lines_and_closest(tmp_path, codebook):
    path = spans(tmp_path, [("MOT-MARKTT", SENTENCES[0], "A"), ("HEM-FINANZEN", SENTENCES[1], "A"),
                            ("HEM-SPRACHE", SENTENCES[2], "A"), ("MOT-MARKTT", SENTENCES[3], "B")])
    with pytest.raises(UnknownCodeError) as caught:
        read_hand_codes([path], codebook=codebook)
    message = str(caught.value)
    assert message.startswith("2 codes are not in the code system")
    assert f"{path}:1, 4: unknown code 'MOT-MARKTT' (closest: 'MOT-MARKT')" in message
    assert f"{path}:3: unknown code 'HEM-SPRACHE' (closest: 'HEM-SPRACHE-KULTUR')" in message
    assert "HEM-FINANZEN'" not in message.split("Known codes")[0]  # a known code is not reported
    assert "--allow-new-codes" in message


def test_allow_new_codes_goes_on_and_says_so(tmp_path, codebook):
    path = spans(tmp_path, [("MOT-MARKTT", SENTENCES[0], "A"), ("HEM-FINANZEN", SENTENCES[1], "A")])
    with pytest.warns(CodeCheckWarning, match=r"--allow-new-codes: going on with 1 code\(s\) .*'MOT-MARKTT' \(closest: 'MOT-MARKT'\)"):
        hand = read_hand_codes([path], codebook=codebook, allow_new_codes=True)
    assert hand.new_codes == ("MOT-MARKTT",)
    assert sorted(c.code for c in hand.codings) == ["HEM-FINANZEN", "MOT-MARKTT"]


def test_without_a_code_system_a_near_code_of_one_coder_is_a_likely_typo(tmp_path):
    path = spans(tmp_path, [("MOT-MARKT", SENTENCES[0], "A"), ("MOT-MARKT", SENTENCES[0], "B"),
                            ("MOT-MARKTT", SENTENCES[3], "B"), ("HEM-FINANZEN", SENTENCES[1], "A"),
                            ("HEM-SPRACHE", SENTENCES[2], "B")])
    with pytest.raises(UnknownCodeError) as caught:
        read_hand_codes([path])
    message = str(caught.value)
    assert f"{path}:3: code 'MOT-MARKTT' is used by coder 'B' only and is 1 edit(s) from 'MOT-MARKT'" in message
    assert "coder(s) A use" in message and "--allow-new-codes" in message
    assert "HEM-SPRACHE" not in message  # one coder alone, but far from every other code
    with pytest.warns(CodeCheckWarning, match=r"--allow-new-codes: going on with 1 likely typo\(s\) .*'MOT-MARKTT'"):
        hand = read_hand_codes([path], allow_new_codes=True)
    assert hand.new_codes == ("MOT-MARKTT",)


def test_typo_check_names_only_near_codes_of_one_coder():
    uses = [CodeUse("MOT-MARKT", "A", "a:1"), CodeUse("MOT-MARKT", "B", "b:1"),  # both coders: no typo
            CodeUse("MOT-NAEHE", "A", "a:2"),  # one coder, but 3+ edits from every other code
            CodeUse("HEM-VERTRAUEN", "A", "a:3"), CodeUse("HEM-VERTRAUN", "B", "b:2")]  # one edit apart
    with pytest.raises(UnknownCodeError) as caught:
        check_codes(uses)
    message = str(caught.value)
    # Each of the two near codes is used by one coder only: the pair is named once.
    assert message.startswith("a likely typo across coders: a:3: code 'HEM-VERTRAUEN' is used by coder 'A' only "
                              "and is 1 edit(s) from 'HEM-VERTRAUN'")
    assert "MOT-NAEHE" not in message and "b:2" not in message
    assert check_codes(uses[:3]) == ()


TYPO_UNITS = [("Wir wollten neue Kunden in Frankreich gewinnen.", "MOT-MARKT", "MOT-MARKT"),
              ("Der Vertrieb in Lyon soll neue Kunden bringen.", "MOT-MARKT", "MOT-MARKTT"),
              ("Das Geld für die Reisen fehlt einfach.", "HEM-FINANZEN", "HEM-FINANZEN"),
              ("Die Übersetzungen kosten uns viel Geld.", "HEM-FINANZEN", "HEM-FINANZN"),
              ("Die Sprache ist eine Hürde.", "HEM-SPRACHE-KULTUR", "HEM-SPRACHE-KULTUR"),
              ("Das Wetter war an dem Tag schön.", "", "")]


def test_agreement_of_two_coders_stops_at_their_likely_typos(tmp_path):
    """Issue 31, finding 2: two coders' spreadsheets, no --codebook, no model output. B's
    misspelt codes stop the command, every one listed, as unknown codes do."""
    files = []
    for k, coder in enumerate("AB"):
        path = tmp_path / f"{coder}.csv"
        path.write_text("document;id;text;codes\n" + "".join(f"int01;{i};{row[0]};{row[1 + k]}\n"
                                                            for i, row in enumerate(TYPO_UNITS, 1)), encoding="utf-8")
        files.append(path)
    fig = tmp_path / "a.json"
    args = ["agreement", *map(str, files), "--json", str(fig), "--bootstrap", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "2 likely typos across coders" in result.stderr
    assert f"{files[1]}:3: code 'MOT-MARKTT' is used by coder 'B' only and is 1 edit(s) from 'MOT-MARKT'" in result.stderr
    assert f"{files[1]}:5: code 'HEM-FINANZN' is used by coder 'B' only and is 1 edit(s) from 'HEM-FINANZEN'" in result.stderr
    assert "--allow-new-codes" in result.stderr
    assert not fig.exists()

    result = CliRunner().invoke(app, args + ["--allow-new-codes"])
    assert result.exit_code == 0, result.output
    assert "going on with 2 likely typo(s)" in result.stderr and "codes of their own" in result.stderr
    assert "MOT-MARKTT" in json.loads(fig.read_text(encoding="utf-8"))["codes"]  # a code of its own, as asked


def test_unit_files_report_all_unknown_codes(tmp_path, codebook):
    path = tmp_path / "units.csv"
    path.write_text("id,text,codes\nu1,Wir wollten Kunden.,MOT-MARKT\nu2,Das Geld fehlt.,HEM-FINANZ\n"
                    "u3,Sprache.,HEM-SPRACHE;MOT-MARKT\n", encoding="utf-8")
    with pytest.raises(UnknownCodeError, match=r"units.csv:3: unknown code 'HEM-FINANZ' .*units.csv:4: unknown code 'HEM-SPRACHE'"):
        read_hand_codes([path], codebook=codebook)


def _typo_file(root, documents):
    """Coder A's sample codes on ``documents`` with MOT-MARKT and HEM-KAPAZITAET misspelt
    at their first occurrence; returns the file and the lines of the two typos."""
    lines, typos = [], {}
    for line in (REPO / "corpus" / "codings.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["coder"] != "A" or rec["document"] not in documents:
            continue
        for right, wrong in (("MOT-MARKT", "MOT-MARKTT"), ("HEM-KAPAZITAET", "HEM-KAPAZITÄT")):
            if rec["code"] == right and wrong not in typos:
                rec["code"] = wrong
                typos[wrong] = len(lines) + 1
        lines.append(json.dumps(rec, ensure_ascii=False))
    path = root / "my_codes.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert set(typos) == {"MOT-MARKTT", "HEM-KAPAZITÄT"}
    return path, typos


@pytest.mark.slow
def test_agreement_refuses_typos_with_the_model_code_system_of_a_classify_output(sample_classified, tmp_path):
    """The case of issue 23: no --codebook, the code system comes from the classify output."""
    root, mine, out = sample_classified
    coded, typos = _typo_file(tmp_path, SAMPLE_DOCUMENTS)
    args = ["agreement", str(coded), str(out), "--texts", str(mine), "--json", str(tmp_path / "a.json"), "--bootstrap", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"{coded}:{typos['MOT-MARKTT']}" in result.stderr
    assert "unknown code 'MOT-MARKTT' (closest: 'MOT-MARKT')" in result.stderr
    assert "unknown code 'HEM-KAPAZITÄT' (closest: 'HEM-KAPAZITAET')" in result.stderr
    assert "code system of model 'default'" in result.stderr
    assert not (tmp_path / "a.json").exists()

    result = CliRunner().invoke(app, args + ["--allow-new-codes"])
    assert result.exit_code == 0, result.output
    assert "warning: --allow-new-codes: going on with 2 code(s)" in result.stderr
    assert "16 codes" in result.stderr  # the two misspelt codes count as codes of their own, as asked


UNITS = [("u1", "Wir wollten neue Kunden in Frankreich gewinnen.", "MOT-MARKT"),
         ("u2", "Der Vertrieb in Lyon soll neue Kunden bringen.", "MOT-MARKTT"),
         ("u3", "Das Geld für die Reisen fehlt einfach.", "HEM-FINANZEN"),
         ("u4", "Die Übersetzungen und Reisen kosten uns viel Geld.", "HEM-FINANZ"),
         ("u5", "Das Wetter war an dem Tag schön.", "")]


def test_train_lists_every_unknown_code_and_allow_new_codes_trains(tmp_path):
    coded = tmp_path / "units.csv"
    coded.write_text("id,text,codes\n" + "".join(f"{i},{t},{c}\n" for i, t, c in UNITS), encoding="utf-8")
    book = str(REPO / "configs" / "codebook.yaml")
    result = CliRunner().invoke(app, ["train", str(coded), "--codebook", book, "--out", str(tmp_path / "m"), "--no-cv"])
    assert result.exit_code == 1, result.output
    assert f"{coded}:3: unknown code 'MOT-MARKTT' (closest: 'MOT-MARKT')" in result.stderr
    assert f"{coded}:5: unknown code 'HEM-FINANZ' (closest: 'HEM-FINANZEN')" in result.stderr
    assert not (tmp_path / "m").exists()
    result = CliRunner().invoke(app, ["train", str(coded), "--codebook", book, "--out", str(tmp_path / "m"), "--no-cv",
                                      "--allow-new-codes"])
    assert result.exit_code == 0, result.output
    assert "--allow-new-codes: going on with 2 code(s)" in result.stderr and "left out" in result.stderr
    card = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    assert card["training"]["per_code"]["MOT-MARKT"] == 1 and card["training"]["per_code"]["HEM-FINANZEN"] == 1


@pytest.mark.slow
def test_export_lists_codes_outside_the_models_code_system(sample_classified, tmp_path):
    import shutil

    _, _, out = sample_classified
    edited = tmp_path / "edited"
    shutil.copytree(out, edited)
    path = edited / f"{SAMPLE_DOCUMENTS[0]}.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    coded = [r for r in records if r["codes"]]
    coded[0]["codes"] = ["MOT-MARKTT"]
    coded[1]["codes"] = ["HEM-STRUKTR"]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    result = CliRunner().invoke(app, ["export", str(edited), "--out", str(tmp_path / "p.qdpx")])
    assert result.exit_code == 1, result.output
    assert "unknown code 'MOT-MARKTT' (closest: 'MOT-MARKT')" in result.stderr
    assert "unknown code 'HEM-STRUKTR' (closest: 'HEM-STRUKTUR')" in result.stderr
    assert f"segment {coded[0]['id']}" in result.stderr
    result = CliRunner().invoke(app, ["export", str(edited), "--out", str(tmp_path / "p.qdpx"), "--allow-new-codes"])
    assert result.exit_code == 0, result.output
    assert "added to the exported code system" in result.stderr
    import zipfile

    with zipfile.ZipFile(tmp_path / "p.qdpx") as z:
        project = z.read("project.qde").decode("utf-8")
    assert 'name="MOT-MARKTT"' in project and 'name="HEM-STRUKTR"' in project


def test_code_system_of_outputs_is_the_models_while_it_is_the_one_they_were_coded_with(tmp_path, codebook):
    from pipeline.core.codebook import save_codebook
    from pipeline.text.code_check import code_system_of_outputs

    model = tmp_path / "model"
    model.mkdir()
    save_codebook(codebook, model / "codebook.yaml")
    (model / "model.json").write_text(json.dumps({"name": "m1"}), encoding="utf-8")
    out = tmp_path / "out" / "d1.jsonl"
    found = code_system_of_outputs([(out, {"model_dir": str(model), "codebook_hash": codebook.hash})])
    assert found is not None and found[0].ids == codebook.ids
    assert "model 'm1'" in found[1] and str(out.parent) in found[1]
    # The folder's code system changed since: its codes say nothing about the outputs.
    assert code_system_of_outputs([(out, {"model_dir": str(model), "codebook_hash": "0" * 64})]) is None
    assert code_system_of_outputs([(out, {"model_dir": str(tmp_path / "gone")})]) is None
    assert code_system_of_outputs([(out, {"model_dir": str(model)}), (out, {"model_dir": str(tmp_path)})]) is None
    assert code_system_of_outputs([(out, {})]) is None

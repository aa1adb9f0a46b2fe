"""``autocode import`` / ``autocode export`` through the command line."""

from __future__ import annotations

import json
import zipfile

from test_qda import EXPECTED, make_qdpx
from test_qda_export import make_classify_output
from test_qda_safety import BILLION_LAUGHS, zip_with
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def test_import_then_export_merge_round_trip(tmp_path):
    original = make_qdpx(tmp_path / "orig.qdpx", unit="utf16", origin="NVivo 14")
    out = tmp_path / "imported"
    res = runner.invoke(app, ["import", str(original), "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["codings_per_coder"] == {"Anna": 2, "Ben": 1}
    assert summary["offsets"]["unit"] == "utf16"
    lines = [json.loads(x) for x in (out / "codings.jsonl").read_text(encoding="utf-8").splitlines()]
    text = (out / "transcripts" / "Interview 1.txt").read_bytes().decode("utf-8")
    assert sorted((text[r["start"]:r["end"]], r["code"], r["coder"]) for r in lines) == EXPECTED

    from pipeline.core.codebook import load_codebook

    output = make_classify_output(tmp_path, out / "transcripts" / "Interview 1.txt", codebook=load_codebook(out / "codebook.yaml"))
    merged = tmp_path / "merged.qdpx"
    res = runner.invoke(app, ["export", str(output.parent), "--format", "qdpx", "--out", str(merged), "--merge", str(original)])
    assert res.exit_code == 0, res.output
    assert "3 codings" in res.output
    again = tmp_path / "again"
    res = runner.invoke(app, ["import", str(merged), "--out", str(again)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.strip().splitlines()[-1])["codings_per_coder"] == {"Anna": 2, "Ben": 1, "autocode mdl-1": 3}
    assert (again / "transcripts" / "Interview 1.txt").read_bytes() == (out / "transcripts" / "Interview 1.txt").read_bytes()


def test_malicious_archive_exits_1_with_one_line_and_writes_nothing(tmp_path):
    path = zip_with(tmp_path / "evil.qdpx", {"project.qde": BILLION_LAUGHS})
    res = runner.invoke(app, ["import", str(path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "refused" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    slip = zip_with(tmp_path / "slip.qdpx", {"project.qde": b"<Project name='x'/>", "../../x": b"x"})
    res = runner.invoke(app, ["import", str(slip), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1 and "path traversal" in res.stderr
    assert not (tmp_path / "out").exists()


def test_codebook_export_and_import(tmp_path):
    original = make_qdpx(tmp_path / "orig.qdpx")
    out = tmp_path / "imported"
    assert runner.invoke(app, ["import", str(original), "--out", str(out)]).exit_code == 0
    qdc = tmp_path / "codes.qdc"
    res = runner.invoke(app, ["export", str(out), "--format", "qdc", "--out", str(qdc)])
    assert res.exit_code == 0, res.output
    # the GUIDs of the project's codes are kept
    assert "0b1e8c52-1d0a-4c61-9a51-000000000004" in qdc.read_text(encoding="utf-8")
    res = runner.invoke(app, ["import", str(qdc), "--out", str(tmp_path / "cb")])
    assert res.exit_code == 0, res.output
    from pipeline.core.codebook import load_codebook

    # a .qdc has no name; the codes come back identical
    assert load_codebook(tmp_path / "cb" / "codebook.yaml").codes == load_codebook(out / "codebook.yaml").codes


def test_export_with_chosen_convention(tmp_path):
    src = tmp_path / "Interview 1.txt"
    src.write_bytes("B: Super 😀 Märkte.\r\nB: Gut.\r\n".encode("utf-8"))
    output = make_classify_output(tmp_path, src, spans=[("Märkte.", ["Markt"], {"Markt": 0.9})])
    res = runner.invoke(app, ["export", str(output), "--out", str(tmp_path / "n.qdpx"), "--offset-unit", "utf16"])
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(tmp_path / "n.qdpx") as zf:
        qde = zf.read("project.qde").decode("utf-8")
    assert 'startPosition="12" endPosition="19"' in qde  # 😀 counts two UTF-16 units

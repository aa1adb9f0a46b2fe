"""Exporting the model's codings as REFI-QDA: schema-valid, readable back, lossless merge."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest
from test_qda import EXPECTED, GUID, TEXT, covered, make_qdpx, program_position

from pipeline.core.codebook import Code, Codebook, load_codebook, save_codebook
from pipeline.core.errors import OutputError
from pipeline.qda.export import export_qdc, export_qdpx
from pipeline.qda.importer import write_import
from pipeline.qda.offsets import OffsetConvention
from pipeline.qda.qdc import read_qdc
from pipeline.qda.refi import read_qdpx

SCHEMA = Path(__file__).resolve().parents[1] / ".." / "shared" / "refi-qda" / "Project-mrt2019.xsd"


def validate(qde: bytes) -> None:
    """Validate with a real XML schema validator against the REFI-QDA project schema."""
    if not SCHEMA.is_file():
        pytest.skip(f"REFI-QDA schema not available at {SCHEMA}")
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(str(SCHEMA))
    errors = [str(e.reason) for e in schema.iter_errors(qde.decode("utf-8"))]
    assert errors == []


CODEBOOK = Codebook(
    name="Motive",
    codes=(
        Code("Motive", "Motive", definition="Warum Unternehmen ins Ausland gehen"),
        Code("Markt", "Markt", "Motive", "Neue Märkte", ("Wir wollten neue Kunden gewinnen.",), ("Nicht bei Beschaffung.",), "#F00082"),
        Code("Hemmnisse", "Hemmnisse"),
        Code("Bürokratie", "Bürokratie", "Hemmnisse"),
    ),
)

MODEL_SPANS = [("Wir wollten neue Kunden gewinnen – größere Märkte.", ["Markt"], {"Markt": 0.91}),
               ("Die Bürokratie war ein Albtraum, ehrlich gesagt.", ["Bürokratie", "Markt"], {"Bürokratie": 0.8, "Markt": 0.55})]


def make_classify_output(folder: Path, source: Path, codebook: Codebook = CODEBOOK, model: str = "mdl-1", spans=MODEL_SPANS) -> Path:
    """Write OUT/<stem>.jsonl and .meta.json as 'autocode classify' does."""
    model_dir = folder / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    save_codebook(codebook, model_dir / "codebook.yaml")
    text = source.read_bytes().decode("utf-8-sig")
    lines = []
    for i, (snippet, codes, scores) in enumerate(spans):
        start = text.index(snippet)
        lines.append({"id": f"{source.stem}:{i:04d}", "transcript": source.stem, "start": start, "end": start + len(snippet),
                      "speaker": "B", "role": "respondent", "codable": True, "text": snippet, "codes": codes,
                      "parent_codes": [], "scores": scores, "model": model})
    out = folder / "out"
    out.mkdir(exist_ok=True)
    (out / f"{source.stem}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    meta = {"source": str(source.resolve()), "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "model": model, "model_dir": str(model_dir.resolve()), "transcript": source.stem}
    (out / f"{source.stem}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return out / f"{source.stem}.jsonl"


EXPECTED_MODEL = sorted([
    ("Wir wollten neue Kunden gewinnen – größere Märkte.", "Markt", "autocode mdl-1"),
    ("Die Bürokratie war ein Albtraum, ehrlich gesagt.", "Bürokratie", "autocode mdl-1"),
    ("Die Bürokratie war ein Albtraum, ehrlich gesagt.", "Markt", "autocode mdl-1"),
])


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_fresh_export_is_valid_and_reads_back(tmp_path):
    src = tmp_path / "Interview 1.txt"
    src.write_bytes(TEXT.encode("utf-8"))
    out = tmp_path / "model.qdpx"
    result = export_qdpx([make_classify_output(tmp_path, src)], out)
    assert result.codings == 3
    files = entries(out)
    assert "project.qde" in files
    assert all(n == "project.qde" or n.startswith("sources/") for n in files)
    validate(files["project.qde"])
    assert b'xmlns="urn:QDA-XML:project:1.0"' in files["project.qde"]
    back = read_qdpx(out)
    assert back.sources[0].text == TEXT
    assert covered(back) == EXPECTED_MODEL
    assert back.convention == OffsetConvention()
    # the score is in the selection's description
    assert "autocode mdl-1: Markt p=0.910" in files["project.qde"].decode("utf-8")
    # the code system travels with definitions, anchors and rules
    assert back.codebook.get("Markt").anchors == ("Wir wollten neue Kunden gewinnen.",)
    assert back.codebook.get("Markt").rules == ("Nicht bei Beschaffung.",)
    # same input, same bytes
    export_qdpx([make_classify_output(tmp_path, src)], tmp_path / "again.qdpx")
    assert (tmp_path / "again.qdpx").read_bytes() == out.read_bytes()


@pytest.mark.parametrize("unit,crlf", [("utf16", "two"), ("codepoint", "one"), ("utf16", "one")])
def test_export_in_another_convention(tmp_path, unit, crlf):
    src = tmp_path / "Interview 1.txt"
    src.write_bytes(TEXT.encode("utf-8"))
    out = tmp_path / "model.qdpx"
    export_qdpx([make_classify_output(tmp_path, src)], out, offsets=OffsetConvention(unit, crlf))
    qde = entries(out)["project.qde"].decode("utf-8")
    snippet = "Die Bürokratie war ein Albtraum, ehrlich gesagt."
    start = TEXT.index(snippet)
    expected = f'startPosition="{program_position(TEXT, start, unit, crlf)}" endPosition="{program_position(TEXT, start + len(snippet), unit, crlf)}"'
    assert expected in qde
    validate(qde.encode("utf-8"))
    assert covered(read_qdpx(out, offsets=OffsetConvention(unit, crlf))) == EXPECTED_MODEL


@pytest.mark.parametrize("unit,folder,qde,bom", [("utf16", "Sources", "Project.qde", True), ("codepoint", "sources", "project.qde", False)])
def test_round_trip_import_merge_import_is_lossless(tmp_path, unit, folder, qde, bom):
    original = make_qdpx(tmp_path / "orig.qdpx", unit=unit, origin="NVivo 14" if unit == "utf16" else "QualCoder",
                         folder=folder, qde=qde, bom=bom)
    first = read_qdpx(original)
    imported = tmp_path / "imported"
    write_import(first, imported)
    # The model classified the transcript that import wrote; its codebook is the imported one.
    transcript = imported / "transcripts" / "Interview 1.txt"
    output = make_classify_output(tmp_path, transcript, codebook=load_codebook(imported / "codebook.yaml"))
    merged = tmp_path / "merged.qdpx"
    result = export_qdpx([output], merged, merge=original)
    assert result.added_sources == () and result.added_codes == ()
    files, before = entries(merged), entries(original)
    validate(files["project.qde"])
    # every original entry is kept byte for byte (the source folder renamed sources/)
    for name, data in before.items():
        if name.endswith(".qde"):
            continue
        assert files[name.replace(f"{folder}/", "sources/")] == data
    # every original GUID is still there
    guid_re = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
    old_qde = next(data for name, data in before.items() if name.endswith(".qde"))
    assert set(guid_re.findall(old_qde)) <= set(guid_re.findall(files["project.qde"]))
    assert len(set(guid_re.findall(old_qde))) >= 10
    second = read_qdpx(merged)
    assert second.convention == first.convention
    assert [s.text for s in second.sources] == [s.text for s in first.sources]
    hand = [c for c in second.codings if not c.coder.startswith("autocode")]
    assert [(c.document, c.start, c.end, c.code, c.coder) for c in hand] == [(c.document, c.start, c.end, c.code, c.coder) for c in first.codings]
    assert covered(second, None) == sorted(EXPECTED + EXPECTED_MODEL)
    # merging again adds nothing twice
    again = tmp_path / "again.qdpx"
    export_qdpx([output], again, merge=merged)
    assert len(read_qdpx(again).codings) == len(second.codings)


def test_merge_adds_unknown_documents_and_codes(tmp_path):
    original = make_qdpx(tmp_path / "orig.qdpx")
    other = tmp_path / "Interview 2.txt"
    other.write_text("B: Die Finanzierung war schwierig.\n", encoding="utf-8")
    cb = Codebook("x", CODEBOOK.codes + (Code("Finanzen", "Finanzen", "Hemmnisse"),))
    output = make_classify_output(tmp_path, other, codebook=cb, spans=[("Die Finanzierung war schwierig.", ["Finanzen"], {"Finanzen": 0.7})])
    merged = tmp_path / "merged.qdpx"
    result = export_qdpx([output], merged, merge=original)
    assert result.added_sources == ("Interview 2",)
    assert result.added_codes == ("Finanzen",)
    validate(entries(merged)["project.qde"])
    back = read_qdpx(merged)
    assert back.codebook.get("Finanzen").parent == "Hemmnisse"
    assert ("Die Finanzierung war schwierig.", "Finanzen", "autocode mdl-1") in covered(back)
    assert sorted(x for x in covered(back) if x[2] != "autocode mdl-1") == EXPECTED


def test_export_never_overwrites_its_input(tmp_path):
    src = tmp_path / "Interview 1.txt"
    src.write_bytes(TEXT.encode("utf-8"))
    output = make_classify_output(tmp_path, src)
    original = make_qdpx(tmp_path / "orig.qdpx")
    before = original.read_bytes()
    with pytest.raises(OutputError, match="one of the inputs"):
        export_qdpx([output], original, merge=original)
    assert original.read_bytes() == before
    with pytest.raises(OutputError, match="must end in .qdpx"):
        export_qdpx([output], tmp_path / "x.zip")


def test_changed_source_is_refused(tmp_path):
    from pipeline.core.errors import InputError

    src = tmp_path / "Interview 1.txt"
    src.write_bytes(TEXT.encode("utf-8"))
    output = make_classify_output(tmp_path, src)
    src.write_bytes(TEXT.replace("Albtraum", "Traum").encode("utf-8"))
    with pytest.raises(InputError, match="changed since it was classified"):
        export_qdpx([output], tmp_path / "m.qdpx")
    assert not (tmp_path / "m.qdpx").exists()


def test_qdc_round_trip_and_schema(tmp_path):
    out = export_qdc(CODEBOOK, tmp_path / "codes.qdc")
    data = out.read_bytes()
    assert b'xmlns="urn:QDA-XML:codebook:1.0"' in data
    codebook, codes = read_qdc(out)
    assert codebook.codes == CODEBOOK.codes
    assert {c.id: c.codable for c in codes} == {"Motive": False, "Markt": True, "Hemmnisse": False, "Bürokratie": True}
    # The codebook schema's Code type is the project schema's: validate the codes inside a project.
    body = data.decode("utf-8").split("?>", 1)[1]
    body = body.replace('<CodeBook xmlns="urn:QDA-XML:codebook:1.0">', '<Project xmlns="urn:QDA-XML:project:1.0" name="x"><CodeBook>', 1)
    validate(body.replace("</CodeBook>", "</CodeBook></Project>").encode("utf-8"))


def test_qdc_from_a_qda_program(tmp_path):
    from test_qda import code_xml

    xml = code_xml().replace("<CodeBook>", '<CodeBook xmlns="urn:QDA-XML:codebook:1.0">')
    (tmp_path / "atlas.qdc").write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + xml, encoding="utf-8")
    codebook, codes = read_qdc(tmp_path / "atlas.qdc")
    assert codebook.ids == ("Motive", "Markt", "Hemmnisse", "Bürokratie")
    assert codebook.get("Bürokratie").color == "#00f"
    # GUIDs from the import are kept when it is exported again
    mapping = {"codes": [{"id": c.id, "guid": c.guid, "codable": c.codable} for c in codes]}
    again = export_qdc(codebook, tmp_path / "again.qdc", mapping=mapping)
    assert GUID["c-buero"] in again.read_text(encoding="utf-8")


def test_merge_keeps_inline_text_with_cr_lf(tmp_path):
    original = make_qdpx(tmp_path / "orig.qdpx", mode="content")
    first = read_qdpx(original)
    assert first.sources[0].text == TEXT
    src = tmp_path / "Interview 1.txt"
    src.write_bytes(TEXT.encode("utf-8"))
    merged = tmp_path / "merged.qdpx"
    export_qdpx([make_classify_output(tmp_path, src)], merged, merge=original)
    validate(entries(merged)["project.qde"])
    second = read_qdpx(merged)
    assert second.sources[0].text == TEXT  # CR survives as &#13; in PlainTextContent
    assert covered(second) == sorted(EXPECTED + EXPECTED_MODEL)

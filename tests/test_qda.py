"""Importing REFI-QDA projects built the way QDA programs write them.

The builders below write small ``.qdpx`` files with the known variants of real exports
(``Sources/`` vs ``sources/``, ``Project.qde``, BOM, CR LF, UTF-16 positions, inline
``PlainTextContent``, external files, description-only selections, one selection per
coding) and the tests check every imported span against the text it must cover.
Positions are computed here independently of :mod:`pipeline.qda.offsets`.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest

from pipeline.core.errors import InputError
from pipeline.qda.offsets import OffsetConvention
from pipeline.qda.refi import read_qdpx

NS = "urn:QDA-XML:project:1.0"

# An interview excerpt with umlauts, ß, a dash and emoji (one with a skin-tone modifier:
# two code points outside the BMP), CR LF line breaks.
TEXT = (
    "I: Warum sind Sie nach Frankreich 🇫🇷 gegangen? 😀\r\n"
    "B: Wir wollten neue Kunden gewinnen – größere Märkte.\r\n"
    "I: Und die Hürden? 👍🏽\r\n"
    "B: Die Bürokratie war ein Albtraum, ehrlich gesagt.\r\n"
)
SPANS = [  # (text that is coded, code guid, user guid)
    ("Wir wollten neue Kunden gewinnen – größere Märkte.", "c-markt", "u-anna"),
    ("Die Bürokratie war ein Albtraum", "c-buero", "u-anna"),
    ("Die Bürokratie war ein Albtraum, ehrlich gesagt.", "c-buero", "u-ben"),
]
GUID = {
    "c-motive": "0b1e8c52-1d0a-4c61-9a51-000000000001",
    "c-markt": "0b1e8c52-1d0a-4c61-9a51-000000000002",
    "c-hemm": "0b1e8c52-1d0a-4c61-9a51-000000000003",
    "c-buero": "0b1e8c52-1d0a-4c61-9a51-000000000004",
    "u-anna": "AD68FBE7-E1EE-4A82-A279-23CC698C89EB",
    "u-ben": "{a5de7584-8296-418b-a322-136f77adf87b}",
    "src1": "01106019-2518-43DD-BBD1-8F0252BACB30",
    "src2": "c8a57c71-d156-4a94-8407-2bd2fa57e2a4",
}


def program_position(text: str, index: int, unit: str = "codepoint", crlf: str = "two") -> int:
    """Position of code-point ``index`` as a program counts it (independent of the library)."""
    prefix = text[:index]
    if crlf == "one":
        prefix = prefix.replace("\r\n", "\n")
    return len(prefix.encode("utf-16-le")) // 2 if unit == "utf16" else len(prefix)


def code_xml() -> str:
    return f"""<CodeBook><Codes>
  <Code guid="{GUID['c-motive']}" name="Motive" isCodable="false">
    <Description>Warum Unternehmen ins Ausland gehen</Description>
    <Code guid="{GUID['c-markt']}" name="Markt" isCodable="true" color="#F00082"><Description>Neue Märkte</Description></Code>
  </Code>
  <Code guid="{GUID['c-hemm']}" name="Hemmnisse" isCodable="false">
    <Code guid="{GUID['c-buero']}" name="Bürokratie" isCodable="true" color="#00f"/>
  </Code>
</Codes></CodeBook>"""


def selection_xml(text, spans, *, unit="codepoint", crlf="two", names=True, per_coding=False, guid_base=0) -> str:
    out = []
    for k, (snippet, code, user) in enumerate(spans):
        start = text.index(snippet)
        end = start + len(snippet)
        a, b = program_position(text, start, unit, crlf), program_position(text, end, unit, crlf)
        name = f' name={quoteattr(snippet[:20] + "...")}' if names else ""
        sel_guid = f"5e1ec710-0000-4000-8000-{guid_base + k:012d}"
        coding = f'<Coding guid="c0d10000-0000-4000-8000-{guid_base + k:012d}" creatingUser="{GUID[user]}"><CodeRef targetGUID="{GUID[code]}"/></Coding>'
        out.append(
            f'<PlainTextSelection guid="{sel_guid}"{name} startPosition="{a}" endPosition="{b}" '
            f'creatingUser="{GUID[user]}"><Description>memo {k}</Description>{coding}</PlainTextSelection>'
        )
    return "\n".join(out)


def make_qdpx(
    path: Path,
    *,
    text: str = TEXT,
    spans=SPANS,
    unit: str = "codepoint",
    crlf: str = "two",
    bom: bool = False,
    folder: str = "sources",
    qde: str = "project.qde",
    origin: str = "ATLAS.ti 9",
    names: bool = True,
    mode: str = "internal",
    extra_selections: str = "",
    extra_sources: str = "",
    extra_entries: dict | None = None,
) -> Path:
    """Write a .qdpx as a QDA program would; return its path."""
    src_file = f"{GUID['src1']}.txt"
    if mode == "internal":
        attrs = f'plainTextPath="internal://{src_file}"'
        content = ""
    elif mode == "absolute":
        attrs = 'plainTextPath="absolute:///C:/Users/anna/Projekt/Interview 1.txt"'
        content = ""
    elif mode == "relative":
        attrs = 'plainTextPath="relative:///Texte/Interview 1.txt"'
        content = ""
    else:  # inline text; &#13; keeps CR through XML line-end normalisation
        attrs = ""
        content = "<PlainTextContent>" + escape(text).replace("\r", "&#13;") + "</PlainTextContent>"
    xml = f"""<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<Project xmlns="{NS}" name="Internationalisierung" origin="{origin}" creatingUserGUID="{GUID['u-anna']}" basePath="C:/Users/anna/Projekt">
<Users><User guid="{GUID['u-anna']}" name="Anna"/><User guid="{GUID['u-ben']}" name="Ben"/></Users>
{code_xml()}
<Sources>
<TextSource guid="{GUID['src1']}" name="Interview 1.docx" {attrs} richTextPath="internal://B5566006-EB5F-43F0-9BC2-DBCD4D2F73F7.docx">
{content}
{selection_xml(text, spans, unit=unit, crlf=crlf, names=names)}
{extra_selections}
</TextSource>
{extra_sources}
</Sources>
</Project>"""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(qde, xml.encode("utf-8"))
        if mode == "internal":
            zf.writestr(f"{folder}/{src_file}", (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        zf.writestr(f"{folder}/B5566006-EB5F-43F0-9BC2-DBCD4D2F73F7.docx", b"PK not really a docx")
        for name, data in (extra_entries or {}).items():
            zf.writestr(name, data)
    path.write_bytes(buf.getvalue())
    return path


def covered(result, coder=None):
    texts = {s.id: s.text for s in result.sources}
    return sorted((texts[c.document][c.start:c.end], c.code, c.coder) for c in result.codings if coder in (None, c.coder))


EXPECTED = sorted([
    ("Wir wollten neue Kunden gewinnen – größere Märkte.", "Markt", "Anna"),
    ("Die Bürokratie war ein Albtraum", "Bürokratie", "Anna"),
    ("Die Bürokratie war ein Albtraum, ehrlich gesagt.", "Bürokratie", "Ben"),
])


@pytest.mark.parametrize(
    "unit,crlf,origin",
    [
        ("codepoint", "two", "QualCoder 3.5"),  # the standard
        ("utf16", "two", "NVivo 14"),  # .NET strings
        ("codepoint", "one", "ATLAS.ti 23"),  # CR LF counted once
        ("utf16", "one", "Some program"),
    ],
)
@pytest.mark.parametrize("bom", [False, True])
def test_positions_in_every_convention_are_detected_from_selection_names(tmp_path, unit, crlf, origin, bom):
    path = make_qdpx(tmp_path / "p.qdpx", unit=unit, crlf=crlf, bom=bom, origin=origin)
    result = read_qdpx(path)
    assert result.convention == OffsetConvention(unit, crlf)
    assert covered(result) == EXPECTED
    assert result.sources[0].text == TEXT  # BOM is not text, CR LF kept


def test_without_names_the_exporting_program_decides(tmp_path):
    path = make_qdpx(tmp_path / "p.qdpx", unit="utf16", origin="NVivo 14 (Windows)", names=False)
    result = read_qdpx(path)
    assert result.convention == OffsetConvention("utf16", "two")
    assert covered(result) == EXPECTED


def test_without_any_evidence_the_standard_is_assumed_and_a_warning_given(tmp_path):
    path = make_qdpx(tmp_path / "p.qdpx", names=False, origin="Unknown QDA 1.0")
    result = read_qdpx(path)
    assert result.convention == OffsetConvention()
    assert covered(result) == EXPECTED
    assert any("offsets:" in w and "--offset-unit" in w for w in result.warnings)


def test_the_user_can_choose_the_convention(tmp_path):
    # Written in UTF-16 units, but the origin claims ATLAS.ti and there are no names:
    path = make_qdpx(tmp_path / "p.qdpx", unit="utf16", names=False, origin="ATLAS.ti 9")
    result = read_qdpx(path, offsets=OffsetConvention("utf16", "two"))
    assert covered(result) == EXPECTED
    assert result.convention_reason == "chosen by the user"


@pytest.mark.parametrize("folder,qde", [("sources", "project.qde"), ("Sources", "Project.qde"), ("Sources", "Internationalisierung.qde")])
def test_folder_and_qde_name_variants(tmp_path, folder, qde):
    result = read_qdpx(make_qdpx(tmp_path / "p.qdpx", folder=folder, qde=qde))
    assert covered(result) == EXPECTED
    assert [s.id for s in result.sources] == ["Interview 1"]


def test_project_inside_one_folder_and_upper_case_file_names(tmp_path):
    path = tmp_path / "p.qdpx"
    make_qdpx(path)
    with zipfile.ZipFile(path) as zf:
        items = [(i.filename, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in items:
            name = name.replace(GUID["src1"] + ".txt", GUID["src1"].upper() + ".TXT")
            zf.writestr("Export/" + name, data)
    assert covered(read_qdpx(path)) == EXPECTED


def test_inline_plain_text_content(tmp_path):
    result = read_qdpx(make_qdpx(tmp_path / "p.qdpx", mode="content"))
    assert result.sources[0].text == TEXT
    assert covered(result) == EXPECTED


@pytest.mark.parametrize("mode", ["absolute", "relative"])
def test_external_sources_only_from_the_folder_the_user_names(tmp_path, mode):
    path = make_qdpx(tmp_path / "p.qdpx", mode=mode)
    skipped = read_qdpx(path)
    assert skipped.sources == () and skipped.codings == ()
    assert any("external file" in w and "--sources-dir" in w for w in skipped.warnings)
    texts = tmp_path / "texte"
    (texts / "Texte").mkdir(parents=True)
    (texts / "Texte" / "Interview 1.txt").write_bytes(TEXT.encode("utf-8"))
    (texts / "Interview 1.txt").write_bytes(TEXT.encode("utf-8"))
    assert covered(read_qdpx(path, sources_dir=texts)) == EXPECTED


def test_description_only_selections_are_skipped_with_a_warning(tmp_path):
    memo = '<PlainTextSelection guid="5e1ec710-0000-4000-8000-0000000000aa" startPosition="3" endPosition="8"><Description>Nachfragen!</Description></PlainTextSelection>'
    result = read_qdpx(make_qdpx(tmp_path / "p.qdpx", extra_selections=memo))
    assert covered(result) == EXPECTED
    assert any("without a coding" in w and "3–8" in w for w in result.warnings)


def test_one_selection_per_coding_and_several_codings_per_selection(tmp_path):
    start = TEXT.index("Die Bürokratie")
    end = start + len("Die Bürokratie war ein Albtraum")
    two = (
        f'<PlainTextSelection guid="5e1ec710-0000-4000-8000-0000000000bb" startPosition="{start}" endPosition="{end}">'
        f'<Coding guid="c0d10000-0000-4000-8000-0000000000b1" creatingUser="{GUID["u-ben"]}"><CodeRef targetGUID="{GUID["c-markt"]}"/></Coding>'
        f'<Coding guid="c0d10000-0000-4000-8000-0000000000b2" creatingUser="{GUID["u-ben"]}"><CodeRef targetGUID="{GUID["c-buero"]}"/></Coding>'
        "</PlainTextSelection>"
    )
    result = read_qdpx(make_qdpx(tmp_path / "p.qdpx", extra_selections=two))
    ben = covered(result, "Ben")
    assert ("Die Bürokratie war ein Albtraum", "Markt", "Ben") in ben
    assert ("Die Bürokratie war ein Albtraum", "Bürokratie", "Ben") in ben
    assert len(result.codings) == 5


def test_code_system_users_and_non_codable_codes(tmp_path):
    result = read_qdpx(make_qdpx(tmp_path / "p.qdpx"))
    cb = result.codebook
    assert cb.ids == ("Motive", "Markt", "Hemmnisse", "Bürokratie")
    assert cb.get("Markt").parent == "Motive" and cb.get("Markt").color == "#F00082"
    assert cb.get("Motive").definition == "Warum Unternehmen ins Ausland gehen"
    assert cb.leaf_ids == ("Markt", "Bürokratie")
    assert {c.id: c.codable for c in result.codes} == {"Motive": False, "Markt": True, "Hemmnisse": False, "Bürokratie": True}
    assert {u.name for u in result.users} == {"Anna", "Ben"}
    assert result.summary()["codings_per_coder"] == {"Anna": 2, "Ben": 1}


def test_duplicate_code_names_get_path_ids():
    from pipeline.qda.qdc import assign_code_ids

    ids = assign_code_ids([("a", "Motive", "", 0), ("b", "Sonstiges", "a", 1), ("c", "Hemmnisse", "", 0), ("d", "Sonstiges", "c", 1)])
    assert ids == {"a": "Motive", "b": "Motive/Sonstiges", "c": "Hemmnisse", "d": "Hemmnisse/Sonstiges"}


def test_selections_that_do_not_fit_or_point_to_unknown_codes_are_skipped(tmp_path):
    bad = (
        '<PlainTextSelection guid="5e1ec710-0000-4000-8000-0000000000cc" startPosition="5" endPosition="99999">'
        f'<Coding guid="c0d10000-0000-4000-8000-0000000000c1"><CodeRef targetGUID="{GUID["c-markt"]}"/></Coding></PlainTextSelection>'
        '<PlainTextSelection guid="5e1ec710-0000-4000-8000-0000000000cd" startPosition="0" endPosition="4">'
        '<Coding guid="c0d10000-0000-4000-8000-0000000000c2"><CodeRef targetGUID="99999999-0000-4000-8000-000000000000"/></Coding></PlainTextSelection>'
    )
    result = read_qdpx(make_qdpx(tmp_path / "p.qdpx", extra_selections=bad))
    assert covered(result) == EXPECTED
    assert any("does not fit the text" in w for w in result.warnings)
    assert any("not in the code system" in w for w in result.warnings)


def test_media_and_formatted_only_sources_are_skipped_with_reasons(tmp_path):
    extra = (
        '<PictureSource guid="02255470-09e6-400b-0000-000000000001" name="Foto" path="internal://x.jpg"/>'
        '<TextSource guid="02255470-09e6-400b-0000-000000000002" name="Nur Word" richTextPath="internal://y.docx"/>'
    )
    result = read_qdpx(make_qdpx(tmp_path / "p.qdpx", extra_sources=extra))
    assert [s.id for s in result.sources] == ["Interview 1"]
    assert any("PictureSource" in w for w in result.warnings)
    assert any("'Nur Word'" in w and "no plain text" in w for w in result.warnings)


def test_write_import_is_read_back_by_read_hand_codes(tmp_path):
    from pipeline.core.codebook import load_codebook
    from pipeline.qda.importer import write_import
    from pipeline.text.codings import read_hand_codes

    result = read_qdpx(make_qdpx(tmp_path / "p.qdpx", unit="utf16", origin="NVivo 14", bom=True))
    out = tmp_path / "imported"
    summary = write_import(result, out)
    assert summary["codings_per_coder"] == {"Anna": 2, "Ben": 1}
    assert (out / "transcripts" / "Interview 1.txt").read_bytes() == TEXT.encode("utf-8")
    codebook = load_codebook(out / "codebook.yaml")
    hand = read_hand_codes([out / "codings.jsonl"], codebook=codebook)
    got = sorted((hand.transcripts[c.document].text[c.start:c.end], c.code, c.coder) for c in hand.codings)
    assert got == EXPECTED
    mapping = json.loads((out / "qda_project.json").read_text(encoding="utf-8"))
    assert mapping["offsets"]["unit"] == "utf16"
    assert {c["id"]: c["guid"] for c in mapping["codes"]}["Markt"] == GUID["c-markt"]
    assert [s["guid"] for s in mapping["sources"]] == [GUID["src1"].lower()]


def test_write_import_refuses_a_folder_with_other_files(tmp_path):
    from pipeline.core.errors import OutputError
    from pipeline.qda.importer import write_import

    result = read_qdpx(make_qdpx(tmp_path / "p.qdpx"))
    out = tmp_path / "mine"
    out.mkdir()
    (out / "codings.jsonl").write_text("my own work\n")
    with pytest.raises(OutputError, match="not empty"):
        write_import(result, out)
    assert (out / "codings.jsonl").read_text() == "my own work\n"


def test_not_a_project(tmp_path):
    path = tmp_path / "x.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match="no .qde file"):
        read_qdpx(path)
    (tmp_path / "y.qdpx").write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="not a readable zip"):
        read_qdpx(tmp_path / "y.qdpx")

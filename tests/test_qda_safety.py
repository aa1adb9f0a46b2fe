"""A .qdpx is an untrusted zip with XML inside: malicious archives are refused, nothing written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from test_qda import make_qdpx

from pipeline.core.errors import InputError
from pipeline.qda.importer import write_import
from pipeline.qda.refi import read_qdpx
from pipeline.qda.safezip import SafeArchive, ZipLimits, unsafe_entry_reason

MINIMAL_QDE = b'<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="x"/>'

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Project [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol9;"/>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&secret;"/>"""


def zip_with(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def assert_refused_and_nothing_written(path: Path, out: Path, match: str, **kwargs) -> None:
    with pytest.raises(InputError, match=match):
        write_import(read_qdpx(path, **kwargs), out)
    assert not out.exists()


@pytest.mark.parametrize(
    "name,reason",
    [
        ("sources/a.txt", ""),
        ("../../evil.txt", "'..' component"),
        ("sources/../../evil.txt", "'..' component"),
        ("..\\..\\evil.txt", "'..' component"),
        ("/etc/cron.d/evil", "absolute path"),
        ("C:\\Windows\\evil.dll", "absolute path"),
        ("c:/evil", "absolute path"),
        ("\\\\server\\share\\x", "absolute path"),
        ("a\x00b", "NUL"),
    ],
)
def test_entry_names(name, reason):
    found = unsafe_entry_reason(name)
    assert (reason in found) if reason else found == ""


@pytest.mark.parametrize("evil", ["../../x.txt", "/tmp/x.txt", "sources/../../../x.txt", "C:/x.txt"])
def test_zip_slip_is_refused(tmp_path, evil):
    path = zip_with(tmp_path / "p.qdpx", {"project.qde": MINIMAL_QDE, evil: b"pwned"})
    assert_refused_and_nothing_written(path, tmp_path / "out", "path traversal")
    assert not (tmp_path / "x.txt").exists()


def test_zip_slip_beside_a_real_project_is_refused(tmp_path):
    path = make_qdpx(tmp_path / "p.qdpx", extra_entries={"../../../../tmp/autocode-zip-slip.txt": b"pwned"})
    assert_refused_and_nothing_written(path, tmp_path / "out", "refused: entry '../../../../tmp")


def test_symlink_entries_are_refused(tmp_path):
    path = tmp_path / "p.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", MINIMAL_QDE)
        info = zipfile.ZipInfo("sources/link.txt")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    assert_refused_and_nothing_written(path, tmp_path / "out", "symbolic link")


def test_billion_laughs_is_refused(tmp_path):
    path = zip_with(tmp_path / "p.qdpx", {"project.qde": BILLION_LAUGHS})
    assert_refused_and_nothing_written(path, tmp_path / "out", "document type")


def test_external_entities_are_refused(tmp_path):
    path = zip_with(tmp_path / "p.qdpx", {"project.qde": XXE})
    assert_refused_and_nothing_written(path, tmp_path / "out", "document type")


def test_entities_in_a_qdc_are_refused(tmp_path):
    from pipeline.qda.qdc import read_qdc

    (tmp_path / "c.qdc").write_bytes(BILLION_LAUGHS.replace(b"Project", b"CodeBook"))
    with pytest.raises(InputError, match="document type"):
        read_qdc(tmp_path / "c.qdc")


def test_an_oversized_entry_is_refused(tmp_path):
    # 2 MB of one byte compresses to a few KB: a small zip bomb.
    path = make_qdpx(tmp_path / "p.qdpx", extra_entries={})
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sources/01106019-2518-43DD-BBD1-8F0252BACB30.txt".replace("0110", "9999"), b"a" * 2_000_000)
    limits = ZipLimits(max_total_bytes=1_000_000)
    assert_refused_and_nothing_written(path, tmp_path / "out", "more than 1,000,000 bytes", limits=limits)


def test_a_read_entry_above_the_entry_limit_is_refused(tmp_path):
    qde = MINIMAL_QDE + b"<!--" + b" " * 50_000 + b"-->"
    path = zip_with(tmp_path / "p.qdpx", {"project.qde": qde})
    assert_refused_and_nothing_written(path, tmp_path / "out", "more than the limit of 10,000", limits=ZipLimits(max_entry_bytes=10_000))


def test_a_lying_size_header_does_not_get_past_the_limit(tmp_path):
    path = zip_with(tmp_path / "p.qdpx", {"project.qde": b"x" * 50_000})
    with SafeArchive(path, limits=ZipLimits(max_entry_bytes=10_000)) as archive:
        archive._infos["project.qde"].file_size = 100  # as a forged header would declare
        # zipfile stops at the declared size and the CRC then fails; either way it is refused.
        with pytest.raises(InputError, match="decompresses to more than 10,000|cannot be decompressed"):
            archive.read("project.qde")


def test_too_many_entries_are_refused(tmp_path):
    entries = {"project.qde": MINIMAL_QDE} | {f"sources/{i}.txt": b"x" for i in range(50)}
    path = zip_with(tmp_path / "p.qdpx", entries)
    assert_refused_and_nothing_written(path, tmp_path / "out", "51 entries", limits=ZipLimits(max_entries=20))


def test_document_ids_cannot_leave_the_output_folder(tmp_path):
    from pipeline.qda.refi import document_id

    for name in ["../../../etc/passwd", "..", "/abs/path.txt", "C:\\Users\\x.txt", ".hidden", "a/b\\c:d*e?.txt"]:
        doc = document_id(name, "0b1e8c52-1d0a-4c61-9a51-000000000001")
        target = (tmp_path / "transcripts" / f"{doc}.txt").resolve()
        assert target.parent == (tmp_path / "transcripts").resolve(), name
        assert not doc.startswith(".")


def test_a_malicious_source_name_is_written_inside_out(tmp_path):
    path = make_qdpx(tmp_path / "p.qdpx")
    data = {}
    with zipfile.ZipFile(path) as zf:
        for i in zf.infolist():
            data[i.filename] = zf.read(i)
    data["project.qde"] = data["project.qde"].replace(b'name="Interview 1.docx"', b'name="../../../../tmp/evil"')
    zip_with(path, data)
    out = tmp_path / "out"
    write_import(read_qdpx(path), out)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert "transcripts/_.._.._.._tmp_evil.txt" in written
    assert all(not w.startswith("..") for w in written)

"""Decoding bytes to text without ever garbling it silently."""

from __future__ import annotations

import codecs
import re
import warnings
from pathlib import Path

from pipeline.core.errors import InputError

# C0 control characters other than tab, newline, carriage return and form feed never occur
# in text; their presence means binary data or a wrong decoding.
CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_CONTROL_BYTES = re.compile(b"[\x00-\x08\x0b\x0e-\x1f\x7f]")


# What the first bytes of a file say it is, for messages about files that are not text.
_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP package (a .docx, .odt or .xlsx is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (Word 97-2003 .doc or similar)"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"ID3", "an MP3 recording"),
    (b"RIFF", "a WAV or AVI recording"),
    (b"OggS", "an Ogg recording"),
    (b"fLaC", "a FLAC recording"),
)


def sniff(data: bytes) -> str:
    """What ``data`` (the first bytes of a file suffice) looks like: ``"a PDF document"``,
    ``"a PNG image"`` ..., or ``""`` when it is no format autocode knows."""
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            return what
    if data[4:8] == b"ftyp":
        return "an MP4 or M4A recording"
    head = data[:4096]
    if len(head) >= 8 and max(head[0::2].count(0), head[1::2].count(0)) > len(head) // 4:
        return "UTF-16 text without a byte-order mark"
    return ""


def read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}). Check the path and permissions.") from None
    if not data.strip():
        found = "0 bytes" if not data else f"{len(data)} bytes of whitespace"
        raise InputError(f"{path}: the file is empty ({found}). Remove it from the input or export the transcript again.")
    return data


def read_text(path: Path) -> tuple[str, str]:
    """Read and decode a text file (see :func:`decode_text`); a file without any text
    (only whitespace or a byte-order mark) is refused as empty."""
    text, encoding = decode_text(read_bytes(path), where=str(path))
    if encoding == "cp1252":
        # A guess that is right for German text from older Windows programs, and wrong
        # for other 8-bit encodings: the reader should know it was made.
        warnings.warn(
            f"{path}: not UTF-8; read as Windows-1252 (Latin-1). If umlauts or ß look wrong in the output, "
            "open the file in a text editor and save it as UTF-8.",
            UserWarning,
            stacklevel=2,
        )
    if not text.replace("\ufeff", "").strip():
        raise InputError(
            f"{path}: the file is empty (no text, only whitespace or a byte-order mark, as {encoding}). "
            "Remove it from the input or export the transcript again."
        )
    return text, encoding


def decode_text(data: bytes, *, where: str) -> tuple[str, str]:
    """Decode transcript bytes; return ``(text, encoding)``.

    UTF-8 (with or without BOM) and UTF-16 with BOM are decoded as such; otherwise
    Windows-1252 (a superset of the printable Latin-1) is tried. Text that decodes
    with neither, or that holds control characters (binary data), is refused.
    """
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8-sig", data
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", data
    else:
        encoding, body = "utf-8", data
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            raise InputError(
                f"{where}: starts with a {encoding} byte-order mark but is not valid {encoding} "
                f"(at byte {exc.start}); the file may be truncated. Re-export the file as UTF-8."
            ) from None
        control = _CONTROL_BYTES.search(data)
        kind = sniff(data) or (f"control byte 0x{data[control.start()]:02x} at byte {control.start()}" if control else "")
        if kind:
            raise _not_text(where, kind)
        try:
            text = data.decode("cp1252")
            encoding = "cp1252"
        except UnicodeDecodeError as exc1252:
            context = data[max(0, exc.start - 30) : exc.start].decode("utf-8", "replace")
            raise InputError(
                f"{where}: not UTF-8 (invalid byte 0x{data[exc.start]:02x} at byte {exc.start}, after {context!r}) "
                f"and not Windows-1252 either (byte 0x{data[exc1252.start]:02x} at byte {exc1252.start} is undefined there). "
                "The file is in another encoding: open it in a text editor and save it as UTF-8."
            ) from None
    found = CONTROL.search(text)
    if found is not None:
        what = sniff(data) or f"control character U+{ord(found.group()):04X} at character {found.start()}, read as {encoding}"
        raise _not_text(where, what)
    return text, encoding


def _not_text(where: str, what: str) -> InputError:
    return InputError(
        f"{where}: expected text, found binary data ({what}). "
        "Give the transcript as text (.txt in UTF-8), .docx, .odt, .rtf, .vtt or .srt."
    )


def unreadable_package(path: Path, *, expected: str, detail: str, fix: str) -> InputError:
    """The error for a .docx or .odt (a ZIP package) that cannot be opened: what the file
    is instead, judged from its first bytes.

    Args:
        expected: What it should be, e.g. ``"Word document"``.
        detail: The exception the reading library raised, for a package whose content is wrong.
        fix: What to do.
    """
    import zipfile

    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
        is_zip = zipfile.is_zipfile(path)
    except OSError as exc:
        return InputError(f"{path}: cannot be read ({exc.strerror}). Check the path and permissions.")
    if not head:
        found = "an empty file (0 bytes)"
    elif is_zip:
        found = f"a ZIP package without a readable {expected} inside ({detail})"
    elif head.startswith(b"PK"):
        found = "a ZIP package that is truncated or damaged (its table of contents is missing; if it was cut off while copying, copy it again)"
    else:
        found = sniff(head) or "a file that is not a ZIP package"
    return InputError(f"{path}: not a readable {expected}: {path.suffix.lower()} files are ZIP packages, found {found}. {fix}")

"""Decoding bytes to text without ever garbling it silently."""

from __future__ import annotations

import codecs
from pathlib import Path

from pipeline.errors import InputError

# C0 control characters other than tab, newline, carriage return and form feed never occur
# in text; their presence means binary data or a wrong decoding.
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r", "\f"} | {"\x7f"}


def read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}). Check the path and permissions.") from None
    if not data.strip():
        raise InputError(f"{path}: the file is empty. Remove it from the input or export the transcript again.")
    return data


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
            raise InputError(f"{where}: invalid {encoding} at byte {exc.start}. Re-export the file as UTF-8.") from None
        try:
            text = data.decode("cp1252")
            encoding = "cp1252"
        except UnicodeDecodeError:
            raise InputError(
                f"{where}: not UTF-8 (invalid byte 0x{data[exc.start]:02x} at position {exc.start}) "
                "and not Windows-1252 either. Save the transcript as UTF-8 text and try again."
            ) from None
    bad = next((ch for ch in text if ch in _CONTROL), None)
    if bad is not None:
        pos = text.index(bad)
        raise InputError(
            f"{where}: control character U+{ord(bad):04X} at character {pos}: this looks like a binary "
            f"file, not text (decoded as {encoding}). Export the transcript as plain text (.txt) or .docx."
        )
    return text, encoding

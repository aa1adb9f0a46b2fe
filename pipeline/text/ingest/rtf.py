"""Rich Text Format transcripts (.rtf), as Word, WordPad and transcription tools save them.

The text is the RTF's plain text (``striprtf``): one line per paragraph, ``\\uN``
escapes and ``\\'xx`` code-page bytes decoded; offsets point into that text.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.types import Transcript
from pipeline.text.ingest.decode import CONTROL, read_bytes
from pipeline.text.ingest.registry import register


@register(".rtf")
def read_rtf(path: Path) -> Transcript:
    try:
        from striprtf.striprtf import rtf_to_text
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("reading .rtf needs striprtf: pip install striprtf") from None
    data = read_bytes(path)
    if not data.lstrip().startswith(b"{\\rtf"):
        raise InputError(f"{path}: not an RTF file (it does not start with '{{\\rtf'). Save it again as .rtf or export it as .txt.")
    # RTF is 7-bit ASCII with escapes; stray 8-bit bytes are taken as Windows-1252 (the default \ansicpg).
    raw = data.decode("cp1252", errors="replace")
    try:
        text = rtf_to_text(raw, encoding="cp1252", errors="replace")
    except Exception as exc:  # striprtf raises plain exceptions on malformed groups
        raise InputError(f"{path}: the RTF cannot be read ({type(exc).__name__}: {exc}). Open and save it again, or export it as .txt.") from None
    # Characters outside the BMP are written as two \uN escapes (a UTF-16 surrogate pair).
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = text.replace("\r\n", "\n")
    # Control characters are never text in RTF: some writers pad the file with NUL bytes,
    # and raw \bin data can leak through. Dropped here, so offsets point into clean text.
    text = CONTROL.sub("", text).rstrip("\n")
    if not text.strip():
        raise InputError(f"{path}: the RTF document contains no text. Check that it is the transcript you meant.")
    return Transcript(id=path.stem, text=text, path=str(path), encoding="rtf")

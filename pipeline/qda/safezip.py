"""Reading an untrusted zip archive (a ``.qdpx``) without trusting anything in it.

A ``.qdpx`` comes from another program or another person. Nothing in it is extracted to
disk: entries are read into memory, one at a time, through :class:`SafeArchive`, which
refuses the whole archive before anything is read when

* an entry name is absolute (``/etc/x``, ``C:\\x``, ``\\\\server\\x``), contains a ``..``
  component, a NUL byte or a backslash-escaped traversal (``..\\..\\x``) — "zip slip";
* an entry is a symbolic link, is encrypted, or occurs twice;
* there are more entries than ``limits.max_entries`` or their declared uncompressed
  size exceeds ``limits.max_total_bytes``;

and refuses an entry when it decompresses to more than ``limits.max_entry_bytes`` (the
declared size is not trusted: reading stops one byte past the limit).
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import InputError

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ZipLimits:
    """Limits on an untrusted archive.

    The defaults are generous for interview projects (text sources are a few hundred KB;
    projects with audio or video keep them as external files or large internal entries
    that autocode never reads) and small enough that a zip bomb cannot fill memory.
    """

    max_entries: int = 20_000
    max_total_bytes: int = 4 * 1024**3  # declared, over all entries (media included)
    max_entry_bytes: int = 256 * 1024**2  # actually decompressed, per entry that is read


def unsafe_entry_reason(name: str) -> str:
    """Why an entry name is unsafe, or ``""`` when it is a plain relative path.

    >>> unsafe_entry_reason("sources/a.txt")
    ''
    >>> unsafe_entry_reason("../../etc/passwd")
    "contains a '..' component"
    """
    if "\x00" in name:
        return "contains a NUL byte"
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        return "is an absolute path"
    if any(part == ".." for part in unified.split("/")):
        return "contains a '..' component"
    return ""


class SafeArchive:
    """An opened, checked zip archive; use as a context manager.

    Example:
        >>> with SafeArchive(path) as archive:            # doctest: +SKIP
        ...     data = archive.read("project.qde")
    """

    def __init__(self, path: str | Path, *, limits: ZipLimits = ZipLimits(), what: str = "project") -> None:
        self.path = Path(path)
        self.limits = limits
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise InputError(f"{self.path}: no such file. Check the path.") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(
                f"{self.path}: not a readable zip archive ({exc}). A .qdpx {what} is a zip file; "
                "export the project again from your QDA program."
            ) from None
        try:
            self._check()
        except BaseException:
            self._zip.close()
            raise

    def _refuse(self, why: str) -> InputError:
        return InputError(
            f"{self.path}: refused: {why}. autocode reads nothing from such an archive and wrote "
            "nothing. Export the project again from your QDA program; if it came from someone "
            "else, do not open it elsewhere either."
        )

    def _check(self) -> None:
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_entries:
            raise self._refuse(
                f"{len(infos)} entries, more than the limit of {self.limits.max_entries} "
                "(a real project has one .qde file and its sources)"
            )
        seen: set[str] = set()
        total = 0
        for info in infos:
            reason = unsafe_entry_reason(info.filename)
            if reason:
                raise self._refuse(f"entry {info.filename!r} {reason} (path traversal)")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise self._refuse(f"entry {info.filename!r} is a symbolic link")
            if info.flag_bits & 0x1:
                raise self._refuse(f"entry {info.filename!r} is encrypted")
            key = info.filename.replace("\\", "/")
            if key in seen:
                raise self._refuse(f"entry {info.filename!r} occurs twice")
            seen.add(key)
            total += info.file_size
            if total > self.limits.max_total_bytes:
                raise self._refuse(
                    f"the entries declare more than {self.limits.max_total_bytes:,} bytes uncompressed "
                    "(the limit; a zip bomb declares huge sizes)"
                )
        self._infos = {info.filename.replace("\\", "/"): info for info in infos if not info.is_dir()}

    @property
    def names(self) -> tuple[str, ...]:
        """File entries (no folders), ``/``-separated, in archive order."""
        return tuple(self._infos)

    def find(self, name: str, *, ignore_case: bool = True) -> str | None:
        """The entry called ``name`` (folder names and file names compared case-insensitively)."""
        if name in self._infos:
            return name
        if ignore_case:
            lower = name.lower()
            for entry in self._infos:
                if entry.lower() == lower:
                    return entry
        return None

    def size(self, name: str) -> int:
        return self._infos[name].file_size

    def read(self, name: str) -> bytes:
        """Decompress one entry, refusing it once it exceeds ``limits.max_entry_bytes``."""
        info = self._infos[name]
        limit = self.limits.max_entry_bytes
        if info.file_size > limit:
            raise self._refuse(
                f"entry {name!r} is {info.file_size:,} bytes uncompressed, more than the limit of {limit:,}"
            )
        chunks = []
        size = 0
        try:
            with self._zip.open(info) as fh:
                while True:
                    chunk = fh.read(min(1 << 20, limit + 1 - size))
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise self._refuse(
                            f"entry {name!r} decompresses to more than {limit:,} bytes (the limit; "
                            "its declared size was false)"
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
            raise InputError(
                f"{self.path}: entry {name!r} cannot be decompressed ({exc}). The archive is damaged; "
                "export the project again."
            ) from None
        return b"".join(chunks)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

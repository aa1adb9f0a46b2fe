"""Writing files so that nothing is lost (atomic replacement, JSONL, CSV), and finding the
outputs of ``autocode classify`` that other commands read back."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from pipeline.core.errors import InputPathError


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system shows it
    (Linux: ``/proc/self/status``); elsewhere set and restored under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def give_umask_mode(path: str | Path, *, directory: bool = False, fd: int | None = None) -> None:
    """Give a file or folder made by :mod:`tempfile` (``0600``/``0700``, private) the mode
    an ordinary ``open``/``mkdir`` would have given it: ``0666``/``0777`` less the umask,
    so that colleagues on a shared project drive can read the outputs when the umask
    lets them."""
    mode = (0o777 if directory else 0o666) & ~current_umask()
    if fd is not None and os.chmod in os.supports_fd:
        os.chmod(fd, mode)
    else:
        os.chmod(path, mode)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Open ``path`` for writing so that the file appears complete or not at all.

    Writes go to a temporary file in the same folder, which is flushed to disk and then
    renamed over the target (``os.replace`` is atomic on POSIX and Windows); on any
    error, an interrupt included, the temporary file is removed and the target is
    untouched. The new file gets the mode an ordinary ``open`` would give it (``0666``
    less the umask), or keeps the mode of the file it replaces.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        try:
            os.chmod(fd if os.chmod in os.supports_fd else tmp, stat.S_IMODE(os.stat(path).st_mode))
        except FileNotFoundError:
            give_umask_mode(tmp, fd=fd)
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def dumps_jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def atomic_write_jsonl(path: str | Path, records: Iterable[dict]) -> None:
    atomic_write_text(path, dumps_jsonl(records))


def atomic_write_csv(path: str | Path, header: list[str], rows: Iterable[Iterable]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks (bounded memory for large inputs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def classify_output_files(inputs: Sequence[str | Path]) -> list[Path]:
    """Files and folders → classify outputs: a folder gives every ``*.jsonl`` with a ``.meta.json`` beside it."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.glob("*.jsonl") if f.with_name(f.stem + ".meta.json").is_file())
            if not found:
                raise InputPathError(f"{p}: no classify output in the folder (<stem>.jsonl with <stem>.meta.json). Pass the --out folder of 'autocode classify'.")
            out.extend(found)
        else:
            out.append(p)
    return out

"""Writing files so that nothing is lost (atomic replacement, JSONL, CSV), and finding the
outputs of ``autocode classify`` that other commands read back."""

from __future__ import annotations

import atexit
import contextlib
import csv
import hashlib
import io
import json
import os
import secrets
import shutil
import stat
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

from pipeline.core.errors import InputPathError, OutputPathError

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
    """Give a temporary file or folder, made private (``0600``/``0700``), the mode
    an ordinary ``open``/``mkdir`` would have given it: ``0666``/``0777`` less the umask,
    so that colleagues on a shared project drive can read the outputs when the umask
    lets them."""
    mode = (0o777 if directory else 0o666) & ~current_umask()
    if fd is not None and os.chmod in os.supports_fd:
        os.chmod(fd, mode)
    else:
        os.chmod(path, mode)


# The temporary files and folders this process is writing. A signal can interrupt
# Python wherever it checks for one, the first line of an ``__exit__`` or an ``except``
# included, so the cleanup written beside each write cannot be relied on alone: the
# command line's interrupt handler calls remove_pending_temps() before it exits.
_PENDING: set[Path] = set()


def temp_path_beside(path: Path) -> Path:
    """A name for a temporary file or folder beside ``path`` (hidden, random, ``.part``),
    registered for :func:`remove_pending_temps`; nothing is created.

    The caller creates it exclusively (``O_EXCL``, ``mkdir``), so its name is known
    before it exists. With ``tempfile.mkstemp`` the name is only known once the call
    returns, and an interrupt that arrives in between leaves the file behind.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
    _PENDING.add(tmp)
    return tmp


def temp_done(tmp: Path) -> None:
    """``tmp`` was renamed into place: nothing is left to remove."""
    _PENDING.discard(tmp)


def remove_temp(tmp: Path) -> None:
    """Remove the temporary file or folder ``tmp`` of a write that did not finish."""
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _PENDING.discard(tmp)


def remove_pending_temps() -> None:
    """Remove every temporary file or folder of this process that a write left behind."""
    for tmp in list(_PENDING):
        remove_temp(tmp)


atexit.register(remove_pending_temps)  # a script that uses the library and is stopped


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


class atomic_open:  # noqa: N801 -- used like open(); a class, not a generator, see below
    """Open ``path`` for writing so that the file appears complete or not at all::

        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write(text)

    Writes go to a temporary file in the same folder, which is flushed to disk and then
    renamed over the target (``os.replace`` is atomic on POSIX and Windows); on any
    error, an interrupt included, the temporary file is removed and the target is
    untouched. The new file gets the mode an ordinary ``open`` would give it (``0666``
    less the umask), or keeps the mode of the file it replaces.

    A class rather than a ``contextlib.contextmanager`` generator: an interrupt that
    arrives after the generator has yielded but before the ``with`` body begins reaches
    neither the body nor the generator, and the temporary file stays until the generator
    happens to be collected. An interrupt where no cleanup here can catch it (the first
    line of ``__exit__``) is left to :func:`remove_pending_temps`.
    """

    def __init__(self, path: str | Path, mode: str = "wb", **kwargs) -> None:
        self.path = Path(path)
        self.mode = mode
        self.kwargs = kwargs

    def __enter__(self) -> IO:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp = temp_path_beside(self.path)
        try:
            fd = os.open(tmp, _NEW_FILE, 0o600)
            try:
                os.chmod(fd if os.chmod in os.supports_fd else tmp, stat.S_IMODE(os.stat(self.path).st_mode))
            except FileNotFoundError:
                give_umask_mode(tmp, fd=fd)
            self.fh = os.fdopen(fd, self.mode, **self.kwargs)
        except FileExistsError:  # the name is someone else's file: not ours to remove
            temp_done(tmp)
            raise
        except BaseException:
            remove_temp(tmp)
            raise
        return self.fh

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None:
            try:
                self.fh.close()
            finally:
                remove_temp(self.tmp)
            return
        try:
            with self.fh:
                self.fh.flush()
                os.fsync(self.fh.fileno())
            os.replace(self.tmp, self.path)
        except BaseException:
            remove_temp(self.tmp)
            raise
        temp_done(self.tmp)


class atomic_folder:  # noqa: N801 -- the folder counterpart of atomic_open
    """Write a folder so that it appears complete or not at all::

        with atomic_folder(directory) as tmp:
            (tmp / "model.json").write_text(...)

    The files go to a temporary folder beside ``directory``, which then takes its place;
    a folder already there is moved aside first and removed once the new one is in
    place. On any error, an interrupt included, the temporary folder is removed and the
    folder that was there stays (or comes back, if the interrupt fell between the two
    renames).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.old = self.directory.with_name(f".{self.directory.name}.old")

    def __enter__(self) -> Path:
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp = temp_path_beside(self.directory)
        try:
            tmp.mkdir(0o700)
            give_umask_mode(tmp, directory=True)
        except FileExistsError:  # the name is someone else's folder: not ours to remove
            temp_done(tmp)
            raise
        except BaseException:
            remove_temp(tmp)
            raise
        return tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None:
            remove_temp(self.tmp)
            return
        directory, old, replacing = self.directory, self.old, False
        try:
            if old.exists():  # left by a write that was stopped
                shutil.rmtree(old)
            replacing = True  # from here on, `old` is the folder this write replaces
            if directory.exists():
                directory.rename(old)
            self.tmp.rename(directory)
            temp_done(self.tmp)
            if old.exists():
                shutil.rmtree(old)
        except BaseException:
            if replacing and old.exists():
                if directory.exists():  # stopped after the new folder was in place
                    shutil.rmtree(old, ignore_errors=True)
                else:  # stopped between the two renames: the folder it replaced comes back
                    old.rename(directory)
            remove_temp(self.tmp)
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


#: The database of a review project folder (``autocode review``; :mod:`pipeline.text.project`).
PROJECT_DB = "project.sqlite"


def classify_output_files(inputs: Sequence[str | Path]) -> list[Path]:
    """Files and folders → classify outputs: a folder gives every ``*.jsonl`` with a
    ``.meta.json`` beside it; a review project folder stands for itself (its hand codes)."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir() and (p / PROJECT_DB).is_file():
            out.append(p)
        elif p.is_dir():
            found = sorted(f for f in p.glob("*.jsonl") if f.with_name(f.stem + ".meta.json").is_file())
            if not found:
                raise InputPathError(f"{p}: no classify output in the folder (<stem>.jsonl with <stem>.meta.json). Pass the --out folder of 'autocode classify'.")
            out.extend(found)
        else:
            out.append(p)
    return out


def check_output_path(path: str | Path, *, kind: str, option: str, suffixes: tuple[str, ...] = (), example: str = "") -> Path:
    """Refuse, before any work, an output path that cannot be written as ``kind``.

    Args:
        path: What the user passed.
        kind: ``"file"`` or ``"folder"``: what the command writes there.
        option: The option's name for the message (``--out``, ``--json``).
        suffixes: Extensions a file must end in (lower case, with the dot), or () for any.
        example: The file name a message proposes (default ``results`` with the first of
            ``suffixes``, or ``.json``): a name that fits what the command writes.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputPathError: a file where a folder is expected or the reverse, something else
            than a regular file (a device, a pipe), a path below a file, a place where
            the user may not create files, or the wrong extension; the message says what
            to pass instead. (The CLI makes it exit code 2.)
    """
    if kind not in ("file", "folder"):
        raise ValueError(f"kind must be 'file' or 'folder', not {kind!r}")
    path = Path(path)
    given = f"{option} {path}"
    example = example or "results" + (suffixes[0] if suffixes else ".json")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise OutputPathError(f"{given} is a file, but a folder is written there. Pass a folder (new or existing), e.g. {option} {path.with_suffix('')}-out.")
    if kind == "file":
        if path.is_dir():
            raise OutputPathError(f"{given} is a folder, but a file is written there. Pass a file name, e.g. {option} {path / example}.")
        if path.exists() and not path.is_file():
            raise OutputPathError(f"{given} exists and is not a regular file (a device or pipe). Pass the name of a file to write.")
        if suffixes and path.suffix.lower() not in suffixes:
            raise OutputPathError(f"{given}: the file must end in {' or '.join(suffixes)}. Pass e.g. {option} {path.with_suffix(suffixes[0])}.")
    # The nearest existing folder above the path must be a folder we may write in.
    above = path.parent if kind == "file" or not path.exists() else path
    while not above.exists() and above != above.parent:
        above = above.parent
    if above.exists() and not above.is_dir():
        raise OutputPathError(
            f"{given} cannot be created: {above} is a file, not a folder. Pass a path inside a folder, "
            f"e.g. {option} {above.parent / (example if kind == 'file' else 'results')}."
        )
    if above.is_dir() and not os.access(above, os.W_OK | os.X_OK):
        raise OutputPathError(f"{given} cannot be written: no permission to create files in {above}. Pass a path in a folder you may write to.")
    return path

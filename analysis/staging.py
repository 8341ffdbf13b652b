"""Writing an edition's bundle so that no reader ever sees half of it.

:func:`staged_directory` gives the writer a fresh directory *beside* the target
(``<out>/.<edition>.partial-<pid>``, same file system) and, once everything is written, moves it
into place: the previous edition is renamed aside (``.<edition>.old-<pid>``), the new one renamed
to ``<out>/<edition>``, the old one deleted. Until the new edition is complete the previous one
stays untouched where it was; if the writer fails or is interrupted (an exception, Ctrl-C) the
partial directory is removed and the previous edition is still there. A ``kill -9`` cannot clean
up: its leftover directory carries the dead process's id, and the next run for the same target
(:func:`clean_leftovers`) deletes it — or, when the kill fell between the two renames, puts the
previous edition back first. Dot-prefixed, such directories are never read as editions.

Outputs other commands wrote into the edition — ``aimap index`` (``index/``) and
``aimap analyze --compare`` (``compare.*``, ``consistency.csv``), listed in :data:`CARRIED` — are
copied into the new directory before it is written, so the report still links them.
``MANIFEST.json`` is not carried: it certifies the files of one published edition, and a rebuilt
bundle is unpublished until ``publish`` writes its own.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Entries of an edition written by other commands, kept when the bundle is rebuilt.
CARRIED = ("index", "compare.md", "compare.csv", "consistency.csv")
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)$")


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (this one counts as dead: its leftovers are its own)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def leftovers(target: Path) -> list[Path]:
    """Directories a run for ``target`` left beside it (``.<name>.partial-<pid>`` / ``.<name>.old-<pid>``)."""
    if not target.parent.is_dir():
        return []
    found = []
    for p in sorted(target.parent.iterdir()):
        m = _LEFTOVER.match(p.name)
        if m and m["name"] == target.name:
            found.append(p)
    return found


def clean_leftovers(target: Path) -> list[Path]:
    """Remove what killed runs for ``target`` left behind; return what was removed or restored.

    A leftover of a process still alive (another run writing the same edition) is left alone. A
    previous edition renamed aside by a run killed before it could put the new one in place is
    renamed back to ``target``.
    """
    done = []
    for path in leftovers(target):
        m = _LEFTOVER.match(path.name)
        assert m is not None
        if _alive(int(m["pid"])):
            continue
        if m["kind"] == "old" and not target.exists():
            path.rename(target)
        else:
            shutil.rmtree(path, ignore_errors=True)
        done.append(path)
    return done


def _carry(target: Path, staging: Path) -> None:
    """Copy :data:`CARRIED` entries of the previous edition into the new one."""
    for name in CARRIED:
        source = target / name
        if source.is_dir():
            shutil.copytree(source, staging / name)
        elif source.is_file():
            shutil.copy2(source, staging / name)


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of ``target``; the previous edition stays until the new one is there."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        if old.exists():
            shutil.rmtree(old)
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """A fresh directory to write ``target``'s new content in; moved into place when the block ends.

    On an exception (or ``KeyboardInterrupt``) the partial directory is deleted, ``target`` is left
    as it was and the exception goes on.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        _carry(target, staging)
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap(staging, target)

"""The compile caches of `taylor_mlir.compile`: compiled artifacts in this
process, and torch-mlir imports on disk, across processes.

- In memory: the `CACHE_SIZE` most recently used compiled artifacts (JIT
  code; they cannot leave the process), keyed by the exported graph and the
  operator's structure.
- On disk, in `cache_dir()`: what compiling needs from ``torch.export`` and
  torch-mlir (~85% of a small model's compile time), so that a script
  started again rebuilds its artifacts from the stored import (taylor-jet,
  lowering and LLVM: ~0.25 s for a small MLP). Two kinds of entries:

  - ``import-<digest>.entry``: torch-mlir's module (text and node metadata)
    of one exported graph, keyed by a digest of the graph;
  - ``fingerprint-<digest>.entry``: the exported graph a model gives,
    keyed by a fingerprint of the model taken *before* exporting it (its
    modules' classes, sources, attributes, tensor names and shapes, the
    input's shape and dtype, see `taylor_mlir._fingerprint`), so that a hit
    skips ``torch.export`` too. A fingerprint can miss a change (a model
    reading state it cannot see), so a hit is always validated by the
    compile-time self-check on the example input; on disagreement the entry
    is dropped and the model is exported and imported again.

  Every key holds `FORMAT` and the versions of Python, torch, torch-mlir,
  MLIR and taylor_mlir (a digest of its Python sources). Entries are written
  to a temporary file and renamed into place (concurrent processes writing
  the same entry each write a whole one), carry a checksum, and are dropped
  and rebuilt if they cannot be read back (logged at debug level on the
  ``taylor_mlir.compile_cache`` logger, counted in `compile_cache_info`).
  The directory is kept under `MAX_DISK_BYTES`, least recently used out.

Switches: ``compile(..., cache=False)`` for one operator; `DISK_CACHE` for
the process; the environment variable ``TAYLOR_MLIR_CACHE=0``. The
directory: ``$TAYLOR_MLIR_CACHE_DIR``, else ``$XDG_CACHE_HOME/taylor_mlir``,
else ``~/.cache/taylor_mlir``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import sys
import tempfile
import threading
import time
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

#: How many compiled artifacts the in-process cache keeps (least recently
#: used first out).
CACHE_SIZE = 64

#: Whether compiles read and write the disk cache (unless
#: ``compile(..., cache=...)`` says otherwise, or ``TAYLOR_MLIR_CACHE=0``).
DISK_CACHE = True

#: Whether a compile looks its model up by fingerprint before exporting it
#: (False: always export; the import is still taken from disk).
FINGERPRINT = True

#: The disk cache's size bound, in bytes; the least recently used entries
#: (by modification time, which a hit refreshes) are removed beyond it.
MAX_DISK_BYTES = 512 * 1024 * 1024

#: The format of entries and keys; changing it invalidates every entry.
FORMAT = 1

_MAGIC = b"taylor-mlir compile cache\n"
_SUFFIX = ".entry"
_KINDS = ("import", "fingerprint")

#: Serializes compiles (torch.export is not thread-safe), imports and the
#: caches.
LOCK = threading.RLock()

_MEMORY: OrderedDict[str, Any] = OrderedDict()
_STATS = {
    "hits": 0,
    "misses": 0,
    "disk_hits": 0,
    "disk_misses": 0,
    "disk_writes": 0,
    "disk_corrupt": 0,
    "disk_rejected": 0,
    "fingerprint_hits": 0,
}

_log = logging.getLogger("taylor_mlir.compile_cache")


# -- in memory ---------------------------------------------------------------


def memory_get(key: str, counted: bool = True) -> Any | None:
    """The artifact cached in memory under ``key`` (counted as a hit or a
    miss if ``counted``), or None."""
    with LOCK:
        artifact = _MEMORY.get(key)
        if counted:
            _STATS["hits" if artifact is not None else "misses"] += 1
        if artifact is not None:
            _MEMORY.move_to_end(key)
        return artifact


def memory_put(key: str, artifact: Any) -> None:
    with LOCK:
        _MEMORY[key] = artifact
        _MEMORY.move_to_end(key)
        while len(_MEMORY) > CACHE_SIZE:
            _MEMORY.popitem(last=False)


def count(stat: str) -> None:
    with LOCK:
        _STATS[stat] += 1


# -- on disk -----------------------------------------------------------------


def cache_dir() -> Path:
    """The disk cache's directory: ``$TAYLOR_MLIR_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/taylor_mlir``, else ``~/.cache/taylor_mlir``."""
    explicit = os.environ.get("TAYLOR_MLIR_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "taylor_mlir"


def disk_enabled(cache: bool | None = None) -> bool:
    """Whether a compile uses the disk cache: ``cache`` if given
    (``compile(..., cache=)``), else `DISK_CACHE` and not
    ``TAYLOR_MLIR_CACHE=0``."""
    if cache is not None:
        return bool(cache)
    value = os.environ.get("TAYLOR_MLIR_CACHE", "1").strip().lower()
    return DISK_CACHE and value not in ("0", "false", "no", "off")


_VERSIONS: str | None = None


def versions() -> str:
    """What the stored imports depend on besides the graph: the versions of
    Python, torch, torch-mlir and MLIR, and taylor_mlir's Python sources
    (its decompositions and import worker shape the import)."""
    global _VERSIONS
    if _VERSIONS is None:
        import torch

        def version(distribution: str) -> str:
            try:
                return importlib.metadata.version(distribution)
            except importlib.metadata.PackageNotFoundError:
                return "none"

        package = Path(__file__).parent
        sources = hashlib.sha256()
        for path in sorted(package.rglob("*.py")):
            sources.update(str(path.relative_to(package)).encode())
            sources.update(path.read_bytes())
        from . import __version__

        _VERSIONS = repr(
            (
                FORMAT,
                sys.version_info[:2],
                platform.machine(),
                torch.__version__,
                version("torch-mlir"),
                version("xtc-mlir-dev"),
                __version__,
                sources.hexdigest(),
            )
        )
    return _VERSIONS


def disk_key(kind: str, what: str) -> str:
    """The name of the entry of ``kind`` for ``what`` (a digest)."""
    return hashlib.sha256(repr((versions(), kind, what)).encode()).hexdigest()


class CorruptEntry(Exception):
    pass


def _path(kind: str, key: str) -> Path:
    return cache_dir() / f"{kind}-{key}{_SUFFIX}"


def _decode(data: bytes, kind: str, key: str) -> Any:
    if not data.startswith(_MAGIC):
        raise CorruptEntry("not a cache entry")
    header, newline, body = data[len(_MAGIC) :].partition(b"\n")
    if not newline:
        raise CorruptEntry("truncated header")
    try:
        header = json.loads(header)
    except ValueError:
        raise CorruptEntry("unreadable header") from None
    expected = {"format": FORMAT, "kind": kind, "key": key}
    if {k: header.get(k) for k in expected} != expected:
        raise CorruptEntry(f"header {header} is not for this entry")
    if header.get("size") != len(body):
        raise CorruptEntry(f"{len(body)} bytes, {header.get('size')} expected")
    if header.get("sha256") != hashlib.sha256(body).hexdigest():
        raise CorruptEntry("checksum mismatch")
    try:
        return json.loads(zlib.decompress(body))
    except (zlib.error, ValueError) as error:
        raise CorruptEntry(f"unreadable payload ({error})") from None


def _encode(payload: Any, kind: str, key: str) -> bytes:
    body = zlib.compress(json.dumps(payload).encode(), 1)
    header = {
        "format": FORMAT,
        "kind": kind,
        "key": key,
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return _MAGIC + json.dumps(header).encode() + b"\n" + body


def load(kind: str, key: str) -> Any | None:
    """The payload of an entry, or None if there is none; an entry that
    cannot be read back is removed (and counted in ``disk_corrupt``)."""
    path = _path(kind, key)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        _log.debug("compile cache: cannot read %s: %s", path, error)
        return None
    try:
        payload = _decode(data, kind, key)
    except CorruptEntry as error:
        _log.debug("compile cache: %s is corrupt (%s); rebuilt", path, error)
        count("disk_corrupt")
        remove(kind, key)
        return None
    try:
        os.utime(path)  # least recently used goes first
    except OSError:
        pass
    return payload


def store(kind: str, key: str, payload: Any) -> None:
    """Writes an entry atomically (a temporary file renamed into place);
    failures (a read-only directory, a full disk) are logged and ignored."""
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(_encode(payload, kind, key))
            os.replace(temporary, _path(kind, key))
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
    except OSError as error:
        _log.debug("compile cache: cannot write to %s: %s", directory, error)
        return
    count("disk_writes")
    prune()


def exists(kind: str, key: str) -> bool:
    return _path(kind, key).is_file()


def remove(kind: str, key: str) -> None:
    try:
        _path(kind, key).unlink()
    except OSError:
        pass


def _entries() -> list[tuple[float, int, Path]]:
    """(mtime, size, path) of every entry."""
    found = []
    try:
        with os.scandir(cache_dir()) as scan:
            for item in scan:
                if item.name.endswith(_SUFFIX) and item.name.startswith(_KINDS):
                    try:
                        stat = item.stat()
                    except OSError:
                        continue
                    found.append((stat.st_mtime, stat.st_size, Path(item.path)))
    except OSError:
        pass
    return found


def prune(max_bytes: int | None = None) -> None:
    """Removes the least recently used entries beyond ``max_bytes``
    (`MAX_DISK_BYTES`), and temporary files of writers gone for an hour."""
    limit = MAX_DISK_BYTES if max_bytes is None else max_bytes
    entries = sorted(_entries())
    total = sum(size for _, size, _ in entries)
    for _, size, path in entries:
        if total <= limit:
            break
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
    try:
        with os.scandir(cache_dir()) as scan:
            for item in scan:
                if item.name.startswith(".tmp-"):
                    if item.stat().st_mtime < time.time() - 3600:
                        os.unlink(item.path)
    except OSError:
        pass


# -- the functions of taylor_mlir ---------------------------------------------


def clear_compile_cache(disk: bool = True) -> None:
    """Forgets every compiled artifact of this process and, with ``disk``
    (default), every entry of the disk cache (`cache_dir`)."""
    with LOCK:
        _MEMORY.clear()
        if disk:
            for _, _, path in _entries():
                try:
                    path.unlink()
                except OSError:
                    pass


def compile_cache_info() -> dict[str, Any]:
    """The compile caches' counters and sizes:

    - ``hits``, ``misses``, ``size``, ``max_size``: the in-process cache of
      compiled artifacts;
    - ``disk_hits``: imports read from disk (torch-mlir not run);
      ``fingerprint_hits``: of those, found by the model's fingerprint
      (torch.export not run either); ``disk_misses``: imports not found (run
      and stored); ``disk_writes``; ``disk_corrupt``: entries that could not
      be read back (removed, rebuilt); ``disk_rejected``: fingerprint hits
      the self-check refused (dropped, compiled through export);
    - ``disk_entries``, ``disk_bytes``, ``disk_max_bytes``, ``disk_dir``,
      ``disk_enabled``.
    """
    with LOCK:
        entries = _entries()
        return {
            **_STATS,
            "size": len(_MEMORY),
            "max_size": CACHE_SIZE,
            "disk_entries": len(entries),
            "disk_bytes": sum(size for _, size, _ in entries),
            "disk_max_bytes": MAX_DISK_BYTES,
            "disk_dir": str(cache_dir()),
            "disk_enabled": disk_enabled(),
        }


__all__ = [
    "CACHE_SIZE",
    "DISK_CACHE",
    "FINGERPRINT",
    "MAX_DISK_BYTES",
    "cache_dir",
    "clear_compile_cache",
    "compile_cache_info",
]

"""Where `taylor_mlir.compile` gets its compiled artifacts: `Artifacts`
gives the artifact of a model and an operator plan for a batch size,
exported, imported, built and self-checked, or taken from the compile
caches (`taylor_mlir.compile_cache`).

One resolution, with the disk cache on and the self-check on:

1. the model's fingerprint (`taylor_mlir._fingerprint`) names a stored
   exported graph and import: the artifact is built from the import (or
   taken from memory) and validated by the self-check on the example; if the
   check disagrees (or anything fails), the fingerprint entry is dropped and
   resolution goes on with 2. Neither torch.export nor torch-mlir runs.
2. the model is exported; the exported graph's digest keys the in-memory
   cache, then the stored import (torch-mlir does not run); else torch-mlir
   imports it and the import is stored. The artifact is built and checked;
   one built from a stored import that fails is built again from a fresh
   import (a stored entry never makes a compile fail).

Without the self-check (``check=False``, models that draw random numbers,
batch sizes compiled at call time), only 2 is used: a fingerprint is never
trusted unvalidated.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence

import torch

from . import _fingerprint, compile_cache
from ._artifact import _Artifact, _unsupported
from ._check import CHECK_TERM, check_artifact
from ._export import (
    as_input,
    check_program,
    export,
    named_tensors,
    program_key,
    random_ops,
)
from ._plans import _Term
from .torch_import import ImportedModule, TorchImportError, import_exported_program

_log = logging.getLogger("taylor_mlir.compile_cache")


class Artifacts:
    """The compiled artifacts of one model (as a module, `as_module`) and
    one operator structure (``terms``); `get` is its one job.

    ``cache``: use the disk cache (None: `compile_cache.disk_enabled`)."""

    def __init__(
        self,
        module: torch.nn.Module,
        terms: Sequence[_Term],
        dtype: torch.dtype,
        input_dim: int,
        collapsed: bool,
        dynamic_batch: bool,
        check: bool,
        cache: bool | None = None,
        target: str = "cpu",
    ):
        """``target``: what the artifacts are compiled for (``"cpu"`` or
        ``"cuda"``, `_artifact._Artifact`)."""
        self.module = module
        self.target = target
        self.terms = list(terms)
        self.dtype = dtype
        self.input_dim = input_dim
        self.collapsed = collapsed
        self.dynamic_batch = dynamic_batch
        self.check = check
        self.cache = cache

    def get(
        self, batch: int | None, example: torch.Tensor | None = None
    ) -> tuple[_Artifact, tuple[int, ...]]:
        """The artifact for ``batch`` (None: any batch size) and the shape
        of the model's output after the batch dimension. Checked against
        eager PyTorch when compiled for a real ``example``."""
        check = self.check and example is not None
        if example is None:
            example = torch.zeros((batch, self.input_dim), dtype=self.dtype)
        with compile_cache.LOCK:
            disk = compile_cache.disk_enabled(self.cache)
            fingerprint = None
            if disk and check and compile_cache.FINGERPRINT:
                start = time.perf_counter()
                fingerprint = _fingerprint.fingerprint(
                    self.module, example, self.dynamic_batch
                )
                taken = time.perf_counter() - start
                if fingerprint is not None:
                    found = self._by_fingerprint(fingerprint, example, taken)
                    if found is not None:
                        return found
            return self._by_export(example, check, disk, fingerprint)

    # -- the two ways ----------------------------------------------------------

    def _key(self, program: str, check: bool) -> str:
        """The in-memory key: the exported graph and the operator's
        structure."""
        return hashlib.sha256(
            repr(
                (
                    program,
                    [t.key() for t in self.terms],
                    self.collapsed,
                    self.dynamic_batch,
                    check,
                    self.target,
                )
            ).encode()
        ).hexdigest()

    def _by_fingerprint(
        self, fingerprint: str, example: torch.Tensor, taken: float
    ) -> tuple[_Artifact, tuple[int, ...]] | None:
        start = time.perf_counter()
        key = compile_cache.disk_key("fingerprint", fingerprint)
        entry = compile_cache.load("fingerprint", key)
        if entry is None:
            return None
        try:
            program, tail = entry["program"], tuple(int(d) for d in entry["tail"])
            if not isinstance(program, str):
                raise TypeError(program)
        except (KeyError, TypeError, ValueError):
            compile_cache.count("disk_corrupt")
            compile_cache.remove("fingerprint", key)
            return None
        imported = self._stored_import(program)
        if imported is None:
            compile_cache.remove("fingerprint", key)
            return None
        read = time.perf_counter() - start
        memory_key = self._key(program, True)
        artifact = compile_cache.memory_get(memory_key, counted=False)
        built = artifact is None
        try:
            if built:
                artifact = self._build(imported, True)
                artifact.timings = {
                    "fingerprint": taken,
                    "disk cache read": read,
                    **artifact.timings,
                }
                artifact.origin = "disk: fingerprint"
            self._check(artifact, example, tail, record=built)
        except Exception as error:
            # Wrong numbers are the worst outcome: any doubt is a miss.
            _log.debug(
                "compile cache: a fingerprint hit was refused (%s); compiling "
                "through torch.export",
                error,
            )
            compile_cache.count("disk_rejected")
            compile_cache.remove("fingerprint", key)
            return None
        compile_cache.count("misses" if built else "hits")
        if built:
            compile_cache.count("disk_hits")
            compile_cache.memory_put(memory_key, artifact)
        compile_cache.count("fingerprint_hits")
        return artifact, tail

    def _by_export(
        self,
        example: torch.Tensor,
        check: bool,
        disk: bool,
        fingerprint: str | None,
    ) -> tuple[_Artifact, tuple[int, ...]]:
        start = time.perf_counter()
        program = export(self.module, example, self.dynamic_batch)
        tail = check_program(program, self.module)
        exported = time.perf_counter() - start
        digest = program_key(program)
        # A model that draws random numbers differs from any other run.
        check = check and not random_ops(program)
        memory_key = self._key(digest, check)
        artifact = compile_cache.memory_get(memory_key)
        if artifact is None:
            artifact = self._build_exported(program, digest, example, tail, check, disk)
            artifact.timings = {"torch.export": exported, **artifact.timings}
            compile_cache.memory_put(memory_key, artifact)
        if (
            disk
            and check
            and fingerprint is not None
            and compile_cache.exists("import", compile_cache.disk_key("import", digest))
        ):
            # Only now known to give this graph (whose import is stored);
            # validated when it is used.
            compile_cache.store(
                "fingerprint",
                compile_cache.disk_key("fingerprint", fingerprint),
                {"program": digest, "tail": list(tail)},
            )
        return artifact, tail

    def _build_exported(
        self,
        program: torch.export.ExportedProgram,
        digest: str,
        example: torch.Tensor,
        tail: tuple[int, ...],
        check: bool,
        disk: bool,
    ) -> _Artifact:
        if disk:
            start = time.perf_counter()
            imported = self._stored_import(digest)
            if imported is not None:
                read = time.perf_counter() - start
                try:
                    artifact = self._build(imported, check)
                    artifact.timings = {"disk cache read": read, **artifact.timings}
                    if check:
                        self._check(artifact, example, tail)
                    artifact.origin = "disk: exported graph"
                    compile_cache.count("disk_hits")
                    return artifact
                except Exception as error:
                    _log.debug(
                        "compile cache: the stored import failed (%s); imported "
                        "again",
                        error,
                    )
                    compile_cache.count("disk_rejected")
                    compile_cache.remove(
                        "import", compile_cache.disk_key("import", digest)
                    )
            compile_cache.count("disk_misses")
        start = time.perf_counter()
        try:
            imported = import_exported_program(program)
        except TorchImportError as error:
            unsupported = _unsupported(error.nodes, str(error), str(error))
            raise (unsupported or error) from None
        imported_in = time.perf_counter() - start
        artifact = self._build(imported, check)
        artifact.timings = {"torch-mlir import": imported_in, **artifact.timings}
        if check:
            self._check(artifact, example, tail)
        artifact.origin = "compiled"
        if disk:
            compile_cache.store(
                "import",
                compile_cache.disk_key("import", digest),
                {"text": imported.text, "nodes": imported.nodes},
            )
        return artifact

    # -- pieces ----------------------------------------------------------------

    def _stored_import(self, digest: str) -> ImportedModule | None:
        entry = compile_cache.load("import", compile_cache.disk_key("import", digest))
        if entry is None:
            return None
        text = entry.get("text") if isinstance(entry, dict) else None
        nodes = entry.get("nodes") if isinstance(entry, dict) else None
        if not isinstance(text, str) or not isinstance(nodes, dict):
            compile_cache.count("disk_corrupt")
            compile_cache.remove("import", compile_cache.disk_key("import", digest))
            return None
        return ImportedModule(text, nodes)

    def _build(self, imported: ImportedModule, check: bool) -> _Artifact:
        return _Artifact(
            imported,
            self.terms,
            self.collapsed,
            CHECK_TERM if check else None,
            self.target,
        )

    def _check(
        self,
        artifact: _Artifact,
        example: torch.Tensor,
        tail: tuple[int, ...],
        record: bool = True,
    ) -> None:
        """The self-check (`check_artifact`) on ``example`` with the model's
        current tensors; its time goes into the artifact's timings if
        ``record``."""
        start = time.perf_counter()
        tensors = [
            as_input(t, self.dtype).cpu().numpy() for _, t in named_tensors(self.module)
        ]
        check_artifact(artifact, self.module, example, tensors, tail)
        if record:
            artifact.timings["self-check"] = time.perf_counter() - start


__all__: list[str] = []  # internal to taylor_mlir.compile

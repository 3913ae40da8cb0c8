"""Decompositions applied to every exported program before torch-mlir sees it.

Each entry replaces an aten op by aten ops whose torch-mlir lowering and
Taylor-mode rules are exact, for one of two reasons:

- torch-mlir lowers the op wrongly (``aten.gelu`` with ``approximate="tanh"``
  uses sqrt(2/π) computed with π ≈ 22/7, an error of 2e-4 in the constant);
- torch-mlir lowers the op outside linalg (into its TMTensor dialect) or not
  at all, and an exact formulation in ops it lowers to linalg exists:
  ``cumsum`` and ``logcumsumexp`` (masked sums and log-sum-exps over
  ``[..., n, n]`` prefixes), ``cumprod`` (a scan of elementwise products),
  ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``, ``median``
  (ranks from pairwise comparisons, then one-hot selection, so that each
  value carries the Taylor coefficients of the element it is: the rule of
  any piecewise selection). Indices equal torch's wherever torch's are
  determined (no ties; the sort is stable).

Gathers (``gather``, ``take_along_dim``, ``index_select``, ``flip``,
``x[:, index]``) become masked sums too: torch-mlir's lowering reads the
source inside a ``linalg.generic`` body, which Taylor mode cannot
differentiate.

What stays in TMTensor (``cummax``, ``cummin``, scatters, ``index_put``, ...)
is refused by name by the import process.

`decompose` runs only this table (``ExportedProgram.run_decompositions``
with an explicit table decomposes nothing else); torch-mlir's own
decompositions run after it, in the import process. A decomposition returns
``NotImplemented`` for the overloads or arguments it leaves alone.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch

from ._linalg_ops import DECOMPOSITIONS as LINALG_ROUTES
from ._linalg_ops import call_targets

aten = torch.ops.aten

#: sqrt(2/π), as eager PyTorch computes it (``M_SQRT2 * M_2_SQRTPI * 0.5``).
_SQRT_2_OVER_PI = math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5


def _gelu(x: torch.Tensor, approximate: str = "none"):
    """GELU's tanh approximation with the exact constant (torch-mlir's
    lowering uses π ≈ 22/7); the exact GELU is left to torch-mlir."""
    if approximate != "tanh":
        return NotImplemented
    inner = _SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))
    return 0.5 * x * (1.0 + torch.tanh(inner))


# -- scans and selections ------------------------------------------------------
#
# torch-mlir lowers these into TMTensor (``tm_tensor.scan``, ``tm_tensor.sort``,
# ``tm_tensor.topk``), which taylor-mlir cannot compile. All but cumprod are
# rewritten along their dimension ``n`` with ``[..., n, n]`` masks: O(n²) work
# and memory per row instead of O(n) or O(n log n), meant for feature
# dimensions, not for long sequences. Only real floating-point (and, where torch allows, integer)
# tensors are rewritten; anything else is left to torch-mlir (and refused).


def _row_major(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, int]:
    """``x`` with ``dim`` moved last, and ``dim`` made non-negative."""
    dim = dim % x.dim()
    return x.movedim(dim, -1), dim


def _prefix_mask(n: int, device) -> torch.Tensor:
    """``[n, n]`` bool, ``[j, i]`` true iff ``i <= j`` (``x_i`` is in the
    prefix of ``y_j``)."""
    index = torch.arange(n, device=device)
    return index[None, :] <= index[:, None]


def _scannable(x: torch.Tensor) -> bool:
    return not x.is_complex() and x.dtype != torch.bool


def _cumsum(x: torch.Tensor, dim: int, *, dtype=None):
    """``y_j = Σ_{i <= j} x_i`` as ``sum_i where(i <= j, x_i, 0)``: linear,
    with no multiplications, so every output is the same sum as torch's
    sequential one (infinities and NaNs included; float32 differs by
    rounding only, as torch accumulates float32 in double)."""
    if not _scannable(x):
        return NotImplemented
    if dtype is not None:
        x = x.to(dtype)
    elif not x.is_floating_point():
        x = x.to(torch.int64)  # torch's promotion of integer scans
    if x.dim() == 0:
        return x.clone()
    rows, dim = _row_major(x, dim)
    mask = _prefix_mask(rows.shape[-1], x.device)
    y = torch.where(mask, rows.unsqueeze(-2), torch.zeros((), dtype=x.dtype))
    return y.sum(-1).movedim(-1, dim)


def _cumprod(x: torch.Tensor, dim: int, *, dtype=None):
    """``y_j = Π_{i <= j} x_i`` by Hillis and Steele's scan: ``log2 n``
    elementwise products of ``y`` with itself shifted by 1, 2, 4, ... (ones
    shifted in). Products only, so every derivative is exact (Leibniz's
    rule, zeros of ``x`` included) and reverse mode has its rule too; the
    products are grouped as a tree, not left to right as in torch, so
    outputs differ in rounding only (and where a left-to-right product
    overflows or underflows on the way)."""
    if not _scannable(x):
        return NotImplemented
    if dtype is not None:
        x = x.to(dtype)
    elif not x.is_floating_point():
        x = x.to(torch.int64)
    if x.dim() == 0:
        return x.clone()
    y, dim = _row_major(x, dim)
    n = y.shape[-1]
    shift = 1
    while shift < n:
        ones = torch.ones((*y.shape[:-1], shift), dtype=y.dtype, device=y.device)
        y = y * torch.cat([ones, y[..., : n - shift]], dim=-1)
        shift *= 2
    return y.movedim(-1, dim)


def _logcumsumexp(x: torch.Tensor, dim: int):
    """``y_j = log Σ_{i <= j} exp(x_i)``, as torch's ``logsumexp`` computes
    each prefix: ``m + log Σ exp(x_i - m)`` with ``m`` the prefix's maximum
    (0 where it is infinite). The identity holds for any ``m``, so the
    derivatives do not depend on which element is the maximum."""
    if not x.is_floating_point():
        return NotImplemented
    if x.dim() == 0:
        return x.clone()
    rows, dim = _row_major(x, dim)
    mask = _prefix_mask(rows.shape[-1], x.device)
    prefixes = torch.where(
        mask, rows.unsqueeze(-2), torch.full((), -math.inf, dtype=x.dtype)
    )
    m = prefixes.amax(-1, keepdim=True)
    m = torch.where(torch.isinf(m), torch.zeros((), dtype=x.dtype), m)
    y = torch.log(torch.exp(prefixes - m).sum(-1)) + m.squeeze(-1)
    return y.movedim(-1, dim)


def _sorted(x: torch.Tensor, dim: int, descending: bool):
    """``(values, indices)`` of a stable sort of ``x`` along ``dim``, NaN
    above everything (torch's order).

    Each element's rank is the number of elements that sort before it
    (pairwise comparisons, ties broken by index); values and indices are
    then picked by the one-hot ``rank_i == p``. The values are selections
    (``where``), so each carries its element's Taylor coefficients, and a
    sum of one element and zeros, so exact (but -0.0 comes out as 0.0)."""
    rows, dim = _row_major(x, dim)
    n = rows.shape[-1]
    a = rows.unsqueeze(-1)  # [..., i, 1]: the element ranked
    b = rows.unsqueeze(-2)  # [..., 1, j]: the others
    nan_a, nan_b = torch.isnan(a), torch.isnan(b)
    if descending:
        before = (b > a) | (nan_b & ~nan_a)
    else:
        before = (b < a) | (nan_a & ~nan_b)
    index = torch.arange(n, device=x.device)
    tie = ((b == a) | (nan_a & nan_b)) & (index[None, :] < index[:, None])
    rank = (before | tie).to(torch.int64).sum(-1)  # [..., i]
    picks = rank.unsqueeze(-2) == index[:, None]  # [..., p, i]
    zero = torch.zeros((), dtype=x.dtype)
    values = torch.where(picks, rows.unsqueeze(-2), zero).sum(-1).to(x.dtype)
    indices = torch.where(picks, index, 0).sum(-1)
    return values.movedim(-1, dim), indices.movedim(-1, dim)


def _sortable(x: torch.Tensor) -> bool:
    return _scannable(x) and x.dim() > 0


def _sort(x: torch.Tensor, dim: int = -1, descending: bool = False):
    if not _sortable(x):
        return NotImplemented
    return _sorted(x, dim, descending)


def _sort_stable(x, *, stable=None, dim: int = -1, descending: bool = False):
    # Always stable; torch's unstable sort may order ties either way.
    return _sort(x, dim, descending)


def _argsort(x: torch.Tensor, dim: int = -1, descending: bool = False):
    if not _sortable(x):
        return NotImplemented
    return _sorted(x, dim, descending)[1]


def _argsort_stable(x, *, stable=None, dim: int = -1, descending: bool = False):
    return _argsort(x, dim, descending)


def _msort(x: torch.Tensor):
    if not _sortable(x):
        return NotImplemented
    return _sorted(x, 0, False)[0]


def _topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The first ``k`` of the sort (NaN counts as largest, as in torch). With
    ``sorted=False`` torch leaves the order unspecified; it is sorted here."""
    if not _sortable(x):
        return NotImplemented
    values, indices = _sorted(x, dim, largest)
    dim = dim % x.dim()
    return values.narrow(dim, 0, k), indices.narrow(dim, 0, k)


def _pick(values, indices, position, dim: int, keepdim: bool):
    """``values`` and ``indices`` at ``position`` (``[...]``, int64) along
    ``dim``, by one-hot selection."""
    rows, dim = _row_major(values, dim)
    index_rows = indices.movedim(dim, -1)
    picks = torch.arange(rows.shape[-1], device=values.device) == position[..., None]
    zero = torch.zeros((), dtype=values.dtype)
    value = torch.where(picks, rows, zero).sum(-1).to(values.dtype)
    index = torch.where(picks, index_rows, 0).sum(-1)
    if keepdim:
        value, index = value.unsqueeze(dim), index.unsqueeze(dim)
    return value, index


def _kthvalue(x, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest (NaN counts as largest, as in torch)."""
    if not x.is_floating_point() or x.dim() == 0:
        return NotImplemented
    values, indices = _sorted(x, dim, False)
    position = torch.full(values.movedim(dim, -1).shape[:-1], k - 1)
    return _pick(values, indices, position, dim, keepdim)


def _median_positions(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Where torch's median lies in the ascending sort: the lower median, or
    the first NaN (which the stable sort puts at ``n - #NaN``)."""
    rows = x.movedim(dim, -1)
    n = rows.shape[-1]
    nans = torch.isnan(rows).to(torch.int64).sum(-1)
    lower = torch.full(nans.shape, (n - 1) // 2)
    return torch.where(nans > 0, n - nans, lower)


def _median_dim(x, dim: int, keepdim: bool = False):
    """The lower median and its index; NaN (the first one's index) if the
    row has one. With ties torch may return any of the tied indices."""
    if not x.is_floating_point() or x.dim() == 0:
        return NotImplemented
    values, indices = _sorted(x, dim, False)
    return _pick(values, indices, _median_positions(x, dim), dim, keepdim)


def _median(x: torch.Tensor):
    if not x.is_floating_point() or x.dim() == 0 or x.numel() == 0:
        return NotImplemented
    flat = x.reshape(-1)
    values, indices = _sorted(flat, 0, False)
    return _pick(values, indices, _median_positions(flat, 0), 0, False)[0]


# -- pointwise functions ------------------------------------------------------
#
# torch-mlir has no lowering for these; each is an exact identity in ops it
# lowers (with Taylor-mode rules for each).


def _erfc(x: torch.Tensor):
    """``1 - erf(x)``: exact derivatives of every order, the value to within
    one rounding of 1 (so no relative accuracy where erfc(x) < 1e-16,
    x > 5.9)."""
    if not x.is_floating_point():
        return NotImplemented
    return 1.0 - torch.erf(x)


def _hypot(x: torch.Tensor, y: torch.Tensor):
    """``m sqrt((x/m)² + (y/m)²)`` with ``m = max(|x|, |y|)``: no overflow or
    underflow in the squares; 0 at the origin and +inf where either is
    infinite, as C's hypot. Where ``m = |x|`` the expression is the identity
    of smooth functions ``|x| sqrt(1 + (y/x)²)``, so its derivatives of every
    order are exact (both sides agree at ties)."""
    dtype = torch.promote_types(x.dtype, y.dtype)
    if not dtype.is_floating_point or dtype.is_complex:
        return NotImplemented
    x, y = x.to(dtype), y.to(dtype)
    m = torch.maximum(x.abs(), y.abs())
    scale = torch.where(m == 0, torch.ones((), dtype=dtype), m)
    u, v = x / scale, y / scale
    h = m * torch.sqrt(u * u + v * v)
    infinite = torch.isinf(x) | torch.isinf(y)
    return torch.where(infinite, torch.full((), math.inf, dtype=dtype), h)


# -- gathers ------------------------------------------------------------------
#
# torch-mlir lowers these to a `linalg.generic` that reads its source with
# `tensor.extract` at computed indices, which taylor-jet cannot differentiate
# (an active value read inside the body). Along a source dimension of size n
# with m picked elements, ``out_j = Σ_k where(index_j == k, x_k, 0)``: each
# output is exactly the picked element (0 + x; other elements, infinities
# and NaNs included, are never read) and carries its Taylor coefficients
# (the select rule); reverse mode has the rules of both. O(n·m) work and
# memory per row, so only up to n·m <= `MAX_GATHER`; a larger gather is left
# to torch-mlir, which is right for a tensor that does not depend on x (an
# embedding table, say) and refused by name otherwise.

#: The largest n·m (source size × picked elements) rewritten as a masked sum.
MAX_GATHER = 64 * 64


def _gatherable(x: torch.Tensor, dim: int, m) -> bool:
    n = x.shape[dim]
    return (
        x.is_floating_point()
        and not x.is_complex()
        and isinstance(n, int)
        and isinstance(m, int)
        and n * m <= MAX_GATHER
    )


def _pick_along(x: torch.Tensor, dim: int, index: torch.Tensor) -> torch.Tensor:
    """``torch.gather(x, dim, index)`` as a masked sum (negative indices
    count from the end)."""
    n = x.shape[dim]
    rows = x.movedim(dim, -1)
    picks = index.movedim(dim, -1)
    # gather reads the leading corner of x where index is smaller.
    rows = rows[tuple(slice(0, size) for size in picks.shape[:-1])]
    picks = torch.where(picks < 0, picks + n, picks)
    hit = picks.unsqueeze(-1) == torch.arange(n, device=x.device)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    return torch.where(hit, rows.unsqueeze(-2), zero).sum(-1).movedim(-1, dim)


def _gather(x: torch.Tensor, dim: int, index: torch.Tensor, sparse_grad=False):
    """``torch.gather`` (and ``take_along_dim``)."""
    dim = dim % max(x.dim(), 1)
    if x.dim() == 0 or not _gatherable(x, dim, index.shape[dim]):
        return NotImplemented
    return _pick_along(x, dim, index)


def _take_along_dim(x: torch.Tensor, indices: torch.Tensor, dim=None):
    """``torch.take_along_dim``: both broadcast except along ``dim``, then
    a gather (``dim=None``: of the flattened tensors)."""
    if dim is None:
        x, indices, dim = x.reshape(-1), indices.reshape(-1), 0
    if x.dim() == 0 or x.dim() != indices.dim():
        return NotImplemented
    dim = dim % x.dim()
    shape = list(
        torch.broadcast_shapes(
            x.shape[:dim] + (1,) + x.shape[dim + 1 :],
            indices.shape[:dim] + (1,) + indices.shape[dim + 1 :],
        )
    )
    x_shape, index_shape = list(shape), list(shape)
    x_shape[dim], index_shape[dim] = x.shape[dim], indices.shape[dim]
    return _gather(x.expand(x_shape), dim, indices.expand(index_shape))


def _index_select(x: torch.Tensor, dim: int, index: torch.Tensor):
    """``torch.index_select``: the 1-D ``index`` along ``dim``."""
    dim = dim % max(x.dim(), 1)
    if x.dim() == 0 or index.dim() > 1:
        return NotImplemented
    index = index.reshape(-1)
    if not _gatherable(x, dim, index.shape[0]):
        return NotImplemented
    shape = [1] * x.dim()
    shape[dim] = index.shape[0]
    sizes = list(x.shape)
    sizes[dim] = index.shape[0]
    return _pick_along(x, dim, index.reshape(shape).expand(sizes))


def _flip(x: torch.Tensor, dims):
    """``torch.flip``: an index_select of the reversed positions per dim."""
    for dim in dims:
        dim = dim % max(x.dim(), 1)
        n = x.shape[dim]
        if not isinstance(n, int):
            return NotImplemented
        reverse = torch.arange(n - 1, -1, -1, device=x.device)
        flipped = _index_select(x, dim, reverse)
        if flipped is NotImplemented:
            return NotImplemented
        x = flipped
    return x


def _index(x: torch.Tensor, indices):
    """``x[..., index, ...]`` with one integer index tensor (the others
    full slices, ``None``): an index_select, reshaped to the index's shape.
    Several index tensors and boolean masks are left to torch-mlir."""
    given = [(i, t) for i, t in enumerate(indices) if t is not None]
    if len(given) != 1:
        return NotImplemented
    dim, index = given[0]
    if index.dtype not in (torch.int64, torch.int32) or dim >= x.dim():
        return NotImplemented
    picked = _index_select(x, dim, index.reshape(-1))
    if picked is NotImplemented:
        # Too large for a masked sum: as aten.index_select, which torch-mlir
        # imports (its importer cannot take the list of indices when the
        # index is a constant of the model).
        picked = aten.index_select.default(x, dim, index.reshape(-1))
    if index.dim() == 0:
        return picked.squeeze(dim)
    return picked.unflatten(dim, tuple(index.shape))


#: aten op overload -> decomposition.
DECOMPOSITIONS: dict[torch._ops.OperatorBase, Callable] = {
    aten.gelu.default: _gelu,
    aten.cumsum.default: _cumsum,
    aten.cumprod.default: _cumprod,
    aten.logcumsumexp.default: _logcumsumexp,
    aten.sort.default: _sort,
    aten.sort.stable: _sort_stable,
    aten.argsort.default: _argsort,
    aten.argsort.stable: _argsort_stable,
    aten.msort.default: _msort,
    aten.topk.default: _topk,
    aten.kthvalue.default: _kthvalue,
    aten.median.dim: _median_dim,
    aten.median.default: _median,
    aten.erfc.default: _erfc,
    aten.hypot.default: _hypot,
    aten.gather.default: _gather,
    aten.take_along_dim.default: _take_along_dim,
    aten.index_select.default: _index_select,
    aten.flip.default: _flip,
    aten.index.Tensor: _index,
}


def decompose(program: torch.export.ExportedProgram) -> torch.export.ExportedProgram:
    """``program`` with the ops of `DECOMPOSITIONS` decomposed and the
    ``torch.linalg`` ops routed to the taylor ops (`taylor_mlir._linalg_ops`),
    in one re-trace (the program itself if it calls none of them)."""
    table = {**DECOMPOSITIONS, **LINALG_ROUTES}
    if not call_targets(program) & table.keys():
        return program
    with warnings.catch_warnings():
        # torch's own pytree deprecation notices, not about the model.
        warnings.simplefilter("ignore", FutureWarning)
        return program.run_decompositions(table)


__all__: list[str] = []  # internal to taylor_mlir.torch_import

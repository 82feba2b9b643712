"""Rewind history: snapshots of a run at batch boundaries (and hand edits), bounded in bytes.

A snapshot packs every parameter and optimiser-state array into one float64 vector (one allocation, no
per-array overhead) and keeps the tree's layout separately; equal layouts and unchanged RNG states are
shared between snapshots, so 1,000 boundaries of the default network take a few hundred kilobytes.

Snapshots stay exact float64: going back restores the run bit for bit, with no replay. What bounds memory
is bytes, not a count: a history keeps at most `max_bytes` (DEFAULT_RUN_BYTES, 16 MB) and all histories
of the process together at most their HistoryBudget's `total_bytes` (SHARED_BUDGET, 512 MB); past either,
the oldest snapshots go first. So a small network keeps its 1,000 points and a big one fewer (8 x 64 units
with Adam is ~0.7 MB a snapshot: ~23 points), each exact; the oldest point held is where Back stops. Two
points (the current boundary and one back) are always kept, whatever the budget.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

SnapshotKind = Literal["start", "batch", "edit"]
DEFAULT_HISTORY = 1000
DEFAULT_RUN_BYTES = 16 * 2**20
DEFAULT_TOTAL_BYTES = 512 * 2**20
# Python objects around a snapshot's arrays (the Snapshot, two ndarray headers, the deque slot): counted
# with the arrays so a tiny network's 1,000 points are not undercounted (measured ~0.56 KB, rounded up)
SNAPSHOT_OVERHEAD_BYTES = 600
KEPT_AT_LEAST = 2

# A layout mirrors a tree of dicts / lists / tuples whose leaves are arrays or scalars:
#   ("array", shape, dtype)  ("int",)  ("float",)  ("const", value)  ("dict", ((key, layout), ...))
#   ("list", (layout, ...))  ("tuple", (layout, ...))
Layout = tuple[Any, ...]
_interned: dict[Layout, Layout] = {}


def _layout_of(tree: Any, leaves: list[NDArray[np.float64]]) -> Layout:
    if isinstance(tree, np.ndarray):
        leaves.append(np.asarray(tree, dtype=np.float64).ravel())
        return ("array", tree.shape, tree.dtype.str)
    if isinstance(tree, bool | str) or tree is None:
        return ("const", tree)
    if isinstance(tree, int | np.integer):
        leaves.append(np.array([float(tree)]))
        return ("int",)
    if isinstance(tree, float | np.floating):
        leaves.append(np.array([float(tree)]))
        return ("float",)
    if isinstance(tree, dict):
        return ("dict", tuple((key, _layout_of(value, leaves)) for key, value in tree.items()))
    if isinstance(tree, list | tuple):
        kind = "list" if isinstance(tree, list) else "tuple"
        return (kind, tuple(_layout_of(item, leaves) for item in tree))
    raise TypeError(f"cannot snapshot a {type(tree).__name__}")


def flatten(tree: Any) -> tuple[NDArray[np.float64], Layout]:
    """A tree of arrays and scalars -> (one float64 vector (n,), its layout). Ints must be < 2**53."""
    leaves: list[NDArray[np.float64]] = []
    layout = _layout_of(tree, leaves)
    vector = np.concatenate(leaves) if leaves else np.empty(0)
    return vector, _interned.setdefault(layout, layout)


def unflatten(vector: NDArray[np.float64], layout: Layout) -> Any:
    """Inverse of flatten: fresh arrays (copies), ints and floats back in their places."""
    tree, end = _build(vector, layout, 0)
    if end != vector.shape[0]:
        raise ValueError(f"snapshot vector has {vector.shape[0]} numbers, layout needs {end}")
    return tree


def _build(vector: NDArray[np.float64], layout: Layout, start: int) -> tuple[Any, int]:
    tag = layout[0]
    if tag == "array":
        shape, dtype = layout[1], np.dtype(layout[2])
        size = int(np.prod(shape, dtype=np.int64))
        return vector[start:start + size].reshape(shape).astype(dtype, copy=True), start + size
    if tag == "int":
        return int(vector[start]), start + 1
    if tag == "float":
        return float(vector[start]), start + 1
    if tag == "const":
        return layout[1], start
    if tag == "dict":
        result: dict[Any, Any] = {}
        for key, child in layout[1]:
            result[key], start = _build(vector, child, start)
        return result, start
    items = []
    for child in layout[1]:
        item, start = _build(vector, child, start)
        items.append(item)
    return (items if tag == "list" else tuple(items)), start


@dataclass(frozen=True)
class Snapshot:
    """A run at a boundary (no batch in progress): everything needed to continue bit for bit.

    kind: 'start' (reset or import), 'batch' (after a batch's update), 'edit' (after a hand edit).
    epoch, batch: counters (batch within the epoch); updates: batches applied since the start (the
    optimiser's step number). params/optimizer: flattened trees (see flatten)."""

    kind: SnapshotKind
    epoch: int
    batch: int
    updates: int
    params: NDArray[np.float64]
    params_layout: Layout
    optimizer: NDArray[np.float64]
    optimizer_layout: Layout
    optimizer_kind: str
    rng_state: dict[str, Any]

    @property
    def nbytes(self) -> int:
        """Bytes this snapshot holds: its own arrays and the objects around them (layouts and RNG states
        are shared)."""
        return int(self.params.nbytes + self.optimizer.nbytes) + SNAPSHOT_OVERHEAD_BYTES

    def parameters(self) -> list[Any]:
        """The (weights, bias) per layer (copies), as Network.get_params gives them."""
        return list(unflatten(self.params, self.params_layout))

    def optimizer_state(self) -> Any:
        """The optimiser's state tree, as Optimizer.get_state gives it (copies)."""
        return unflatten(self.optimizer, self.optimizer_layout)


class HistoryBudget:
    """Bytes of history every History using this budget may hold together (thread-safe: runs step in
    worker threads). A history over budget drops its own oldest snapshots, never another's."""

    def __init__(self, total_bytes: int = DEFAULT_TOTAL_BYTES) -> None:
        self.total_bytes = total_bytes
        self.used = 0
        self.lock = threading.Lock()


SHARED_BUDGET = HistoryBudget()


class History:
    """Snapshots oldest first; the newest is the run's current boundary. At most `limit` snapshots and
    `max_bytes` bytes (None: DEFAULT_RUN_BYTES as it is when the history is made), and the budget's total."""

    def __init__(self, limit: int = DEFAULT_HISTORY, max_bytes: int | None = None,
                 budget: HistoryBudget | None = None) -> None:
        if limit < 1:
            raise ValueError("history: limit must be at least 1")
        self.limit = limit
        self.max_bytes = DEFAULT_RUN_BYTES if max_bytes is None else max_bytes
        self.budget = SHARED_BUDGET if budget is None else budget
        self.nbytes = 0
        self._items: deque[Snapshot] = deque()

    def push(self, snapshot: Snapshot) -> None:
        """Append; share the previous RNG state object when equal (training rarely draws numbers); then
        drop the oldest snapshots while over the count, this history's bytes or the budget."""
        if self._items and self._items[-1].rng_state == snapshot.rng_state:
            object.__setattr__(snapshot, "rng_state", self._items[-1].rng_state)
        budget = self.budget
        with budget.lock:
            self._items.append(snapshot)
            self._count(snapshot.nbytes)
            while len(self._items) > KEPT_AT_LEAST and (
                    len(self._items) > self.limit or self.nbytes > self.max_bytes
                    or budget.used > budget.total_bytes):
                self._count(-self._items.popleft().nbytes)

    def _count(self, nbytes: int) -> None:
        self.nbytes += nbytes
        self.budget.used += nbytes

    def pop(self) -> Snapshot:
        with self.budget.lock:
            snapshot = self._items.pop()
            self._count(-snapshot.nbytes)
        return snapshot

    @property
    def top(self) -> Snapshot:
        return self._items[-1]

    def truncate(self, length: int) -> None:
        """Keep the first `length` snapshots."""
        while len(self._items) > length:
            self.pop()

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Snapshot:
        return self._items[index]

    def __iter__(self) -> Iterator[Snapshot]:
        return iter(self._items)

    def clear(self) -> None:
        with self.budget.lock:
            self._count(-self.nbytes)
            self._items.clear()

    def __del__(self) -> None:
        # a run let go (deleted, evicted, reset) gives its bytes back to the budget
        budget = getattr(self, "budget", None)
        if budget is not None and self.nbytes:
            with budget.lock:
                budget.used -= self.nbytes
                self.nbytes = 0

"""A deterministic, resumable batch iterator over an in-memory image array, sharded over processes.

Batch ``b`` of the run holds the global sample positions ``b*B ... b*B+B-1``;
position ``g`` is element ``g % N`` of epoch ``g // N``'s permutation, drawn
from ``(seed, epoch)``. The iterator's whole state is therefore the number of
batches served, which goes into every checkpoint; each process materializes
only its own contiguous slice of every global batch.
"""

from __future__ import annotations

import numpy as np


class ArrayBatches:
  """Global batches of (uint8 NCHW images, one-hot labels or None); ``next()`` returns this process's slice."""

  def __init__(self, images: np.ndarray, labels: np.ndarray | None, batch_size: int, seed: int,
               xflip: bool = False, process_index: int = 0, process_count: int = 1):
    if batch_size % process_count:
      raise ValueError(f'batch_size {batch_size} does not split over {process_count} processes')
    self.images, self.labels = images, labels
    self.batch_size, self.seed, self.xflip = batch_size, seed, xflip
    self.local_size = batch_size // process_count
    self.local_start = process_index * self.local_size
    self.position = 0
    self._epoch: tuple[int, np.ndarray, np.ndarray] | None = None  # (epoch, permutation, x-flip decisions)

  def __len__(self) -> int:
    return len(self.images)

  def _order(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """(permutation, x-flip per position) of an epoch, drawn from (seed, epoch); the current epoch's is kept."""
    if self._epoch is None or self._epoch[0] != epoch:
      n = len(self.images)
      flips = np.random.default_rng([self.seed, epoch, 1]).random(n) < 0.5 if self.xflip else np.zeros(n, bool)
      self._epoch = (epoch, np.random.default_rng([self.seed, epoch]).permutation(n), flips)
    return self._epoch[1], self._epoch[2]

  def get_state(self) -> dict:
    """What a checkpoint stores to resume the iterator exactly."""
    return dict(position=self.position)

  def set_state(self, state: dict) -> None:
    """Resumes at the batch after the last one served when ``state`` was taken."""
    self.position = int(state['position'])

  def __iter__(self):
    return self

  def __next__(self) -> tuple[np.ndarray, np.ndarray | None]:
    n = len(self.images)
    first = self.position * self.batch_size + self.local_start
    positions = np.arange(first, first + self.local_size)
    index = np.empty(self.local_size, np.int64)
    flip = np.zeros(self.local_size, bool)
    for epoch in np.unique(positions // n):
      sel = positions // n == epoch
      permutation, flips = self._order(int(epoch))
      index[sel] = permutation[positions[sel] % n]
      flip[sel] = flips[positions[sel] % n]
    images = self.images[index]
    if self.xflip:
      images = np.where(flip[:, None, None, None], images[..., ::-1], images)
    labels = None if self.labels is None else self.labels[index]
    self.position += 1
    return images, labels

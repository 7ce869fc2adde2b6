"""A deterministic, resumable, prefetching batch iterator over a random-access source, sharded over processes.

Batch ``b`` of the run holds the global sample positions ``b*B ... b*B+B-1``;
position ``g`` is element ``g % N`` of epoch ``g // N``'s permutation, drawn
from ``(seed, epoch)`` (and so is its x-flip). The iterator's whole state is
therefore the number of batches served, which goes into every checkpoint; each
process reads and decodes only its own contiguous slice of every global batch,
on grain's reader threads, a few batches ahead of the training step.
"""

from __future__ import annotations

import functools

import grain
import numpy as np

_ENDLESS = 2 ** 50  # more samples than any run draws


class Batches:
  """This process's slices of the global batches: (uint8 NCHW images, float32 one-hot labels or None)."""

  def __init__(self, source, batch_size: int, seed: int, xflip: bool = False, conditional: bool = False,
               process_index: int = 0, process_count: int = 1, num_threads: int = 8, prefetch: int = 2):
    if batch_size % process_count:
      raise ValueError(f'batch_size {batch_size} does not split over {process_count} processes')
    if conditional and not source.num_classes:
      raise ValueError(f'--config.conditional=True needs labels, and {source.description} has none')
    self.source, self.batch_size, self.seed, self.xflip = source, batch_size, seed, xflip
    self.num_classes = source.num_classes if conditional else 0
    self.local_size = batch_size // process_count
    self.local_start = process_index * self.local_size
    self.num_threads, self.prefetch = num_threads, prefetch
    self.position = 0
    self._iterator = None

  def __len__(self) -> int:
    return len(self.source)

  @functools.lru_cache(maxsize=4)
  def _order(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """(permutation, x-flip per position) of an epoch, drawn from (seed, epoch)."""
    n = len(self.source)
    flips = np.random.default_rng([self.seed, epoch, 1]).random(n) < 0.5 if self.xflip else np.zeros(n, bool)
    return np.random.default_rng([self.seed, epoch]).permutation(n), flips

  def _sample(self, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k``-th sample this process reads: its place in the global batch order, read and flipped."""
    batch, j = divmod(k, self.local_size)
    epoch, i = divmod(batch * self.batch_size + self.local_start + j, len(self.source))
    permutation, flips = self._order(epoch)
    image, label = self.source.read(int(permutation[i]))
    if flips[i]:
      image = image[..., ::-1]
    onehot = np.zeros(self.num_classes, np.float32)
    if self.num_classes:
      onehot[label] = 1
    return np.ascontiguousarray(image), onehot

  def get_state(self) -> dict:
    """What a checkpoint stores to resume the iterator exactly."""
    return dict(position=self.position)

  def set_state(self, state: dict) -> None:
    """Resumes at the batch after the last one served when ``state`` was taken."""
    self.position = int(state['position'])
    self._iterator = None

  def __iter__(self):
    return self

  def __next__(self) -> tuple[np.ndarray, np.ndarray | None]:
    if self._iterator is None:
      start = self.position * self.local_size
      samples = grain.MapDataset.range(start, _ENDLESS).map(self._sample)
      options = grain.ReadOptions(num_threads=self.num_threads,
                                  prefetch_buffer_size=self.prefetch * self.local_size)
      self._iterator = iter(samples.to_iter_dataset(options).batch(self.local_size))
    images, labels = next(self._iterator)
    self.position += 1
    return images, labels if self.num_classes else None

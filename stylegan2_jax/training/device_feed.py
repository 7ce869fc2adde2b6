"""Global device batches for the training step, copied to the devices ahead of it on a background thread.

:class:`DeviceBatches` takes this process's slices from a
:class:`~stylegan2_jax.data.batches.Batches` and assembles the global sharded
arrays (``jax.make_array_from_process_local_data``). With ``depth > 0`` a
thread does that up to ``depth`` batches ahead, so the training loop's thread
only dispatches steps; with ``depth == 0`` it happens on the caller's thread.

The batches come in the same order either way. The thread reads ahead of what
the loop has used, so the position a checkpoint stores is :meth:`get_state`'s
(the batches handed out), never the reader's own.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

import jax


class DeviceBatches:
  """Iterator of ``(images, labels or None)`` global jax arrays, ``depth`` batches prefetched to the devices."""

  def __init__(self, batches, sharding: jax.sharding.Sharding, depth: int = 2):
    self.batches, self.sharding, self.depth = batches, sharding, depth
    self.position = int(batches.get_state()['position'])  # batches handed out so far (in the whole run)
    self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
    self._stop = threading.Event()
    self._thread = None
    if depth:
      self._thread = threading.Thread(target=self._fill, name='device-batches', daemon=True)
      self._thread.start()

  def _global(self, local) -> jax.Array | None:
    return None if local is None else jax.make_array_from_process_local_data(self.sharding, local)

  def _fetch(self) -> tuple[jax.Array, jax.Array | None]:
    images, labels = next(self.batches)
    return self._global(images), self._global(labels)

  def _fill(self) -> None:
    """The reader thread: fetches batches into the queue until stopped or failed (the error is queued)."""
    while not self._stop.is_set():
      try:
        item: tuple[str, Any] = ('batch', self._fetch())
      except BaseException as e:  # pylint: disable=broad-except  (handed to the loop's thread, which raises it)
        item = ('error', e)
      self._queue.put(item)  # blocks while `depth` batches wait; close() drains the queue to release it
      if item[0] == 'error':
        return

  def __iter__(self):
    return self

  def __next__(self) -> tuple[jax.Array, jax.Array | None]:
    if self._thread is None:
      batch = self._fetch()
    else:
      kind, value = self._queue.get()
      if kind == 'error':
        self._queue.put((kind, value))  # every later call fails the same way
        raise value
      batch = value
    self.position += 1
    return batch

  def get_state(self) -> dict:
    """The data position of the batches handed out (what a checkpoint stores), as ``Batches.get_state``."""
    return dict(position=self.position)

  def close(self, timeout_s: float = 60.0) -> None:
    """Stops the reader thread and drops the batches it read ahead (idempotent)."""
    self._stop.set()
    if self._thread is None:
      return
    while self._thread.is_alive():
      try:
        while True:
          self._queue.get_nowait()
      except queue.Empty:
        pass
      self._thread.join(timeout=0.05)
      timeout_s -= 0.05
      if timeout_s <= 0:  # a read that hangs: the thread is a daemon and ends with the process
        break
    self._thread = None

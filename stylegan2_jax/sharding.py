"""Device mesh and shardings: one ``data`` axis, batch sharded, parameters replicated."""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = 'data'


def data_mesh(devices=None) -> Mesh:
  """A 1D mesh over all (or the given) devices with the axis ``data``."""
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.asarray(devices), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over ``data``, other axes whole."""
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  """The same full array on every device."""
  return NamedSharding(mesh, P())


def padded_batches(fn, arrays, per_step: int, sharding: NamedSharding):
  """Yields ``fn(*chunks)`` as numpy for consecutive ``per_step``-row chunks of ``arrays`` (same leading size),
  each placed with ``sharding``; the last chunk is zero-padded to ``per_step`` and its result trimmed."""
  n = len(arrays[0])
  for start in range(0, n, per_step):
    chunks = [a[start:start + per_step] for a in arrays]
    pad = per_step - len(chunks[0])
    chunks = [np.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)) for a in chunks]
    yield np.asarray(fn(*(jax.device_put(a, sharding) for a in chunks)))[:per_step - pad]


def round_up(n: int, multiple: int) -> int:
  """Smallest multiple of ``multiple`` that is >= n."""
  return -(-n // multiple) * multiple

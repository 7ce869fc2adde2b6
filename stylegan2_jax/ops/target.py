"""Which formulation of the resampling ops to trace: chosen per backend from measured figures.

The ops compute the same numbers either way; they differ in what XLA makes of them:

* ``'default'`` (CPU, GPU): transposed convolutions in polyphase form and
  strided convolutions with hand-written VJPs (XLA:CPU runs input-dilated
  convolutions and their derivatives through a slow generic loop), separable
  FIR filters as shifted slices.
* ``'tpu'``: transposed and strided convolutions as XLA convolutions with
  ``lhs_dilation`` / ``window_strides`` and plain autodiff, FIR filters as
  depthwise convolutions. Compiled for a v5e chip (``benchmarks/tpu_compile.py``)
  these move 1.5-3x fewer bytes than the default forms, and the transposed
  convolution needs ~45% fewer FLOPs than the polyphase one.

The choice follows ``jax.default_backend()`` unless overridden with
:func:`use_target` (e.g. to compile for TPU topologies on a CPU host, or to
test the TPU formulation on CPU). It is read at trace time.
"""

from __future__ import annotations

import contextlib

import jax

TARGETS = ('default', 'tpu')
_override: list[str] = []


def ops_target() -> str:
  """The formulation the ops trace now: the :func:`use_target` override, else 'tpu' on TPU, else 'default'."""
  if _override:
    return _override[-1]
  return 'tpu' if jax.default_backend() == 'tpu' else 'default'


@contextlib.contextmanager
def use_target(target: str):
  """Within the block, trace the ops in the ``target`` formulation (one of :data:`TARGETS`)."""
  if target not in TARGETS:
    raise ValueError(f'ops target must be one of {TARGETS}, got {target!r}')
  _override.append(target)
  try:
    yield
  finally:
    _override.pop()

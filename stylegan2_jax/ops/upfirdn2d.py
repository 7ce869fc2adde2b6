"""Upsample, FIR-filter and downsample (``upfirdn2d``) in pure JAX, NHWC layout.

Semantics follow ``torch_utils/ops/upfirdn2d.py`` of the official implementation:

1. upsample by inserting ``up - 1`` zeros after every pixel,
2. pad (positive values) or crop (negative values) by ``padding = (x0, x1, y0, y1)``,
3. convolve with the FIR filter ``f`` (a true convolution, i.e. ``f`` flipped
   unless ``flip_filter``), scaled by ``gain ** (f.ndim / 2)``,
4. keep every ``down``-th pixel.

Filters are static numpy arrays. Separable (rank-1) 2D filters, which is what
``setup_filter`` makes of ``[1, 3, 3, 1]``, run as two 1D passes built from
strided slices: XLA fuses them into plain loops that are fast on CPU, GPU and
TPU alike, and their gradients are pads and slices. Other filters, and all
filters when the ops target TPU (``ops.target``; there the depthwise
convolution moves 2-3x fewer bytes than the slices, as compiled for v5e), run
as a depthwise convolution.
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import numpy as np
from jax import lax

from stylegan2_jax.ops.target import ops_target


def setup_filter(f: Sequence[float] | np.ndarray, normalize: bool = True) -> np.ndarray:
  """Returns the official 2D FIR filter for ``f``: the outer product of a 1D filter, normalized to sum 1."""
  f = np.asarray(f, dtype=np.float32)
  if f.ndim == 0:
    f = f[np.newaxis]
  if f.ndim == 1:
    f = np.outer(f, f)
  if normalize:
    f = f / f.sum()
  return f.astype(np.float32)


def _parse_padding(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
  if isinstance(padding, int):
    return padding, padding, padding, padding
  padding = tuple(int(p) for p in padding)
  if len(padding) == 2:
    px, py = padding
    return px, px, py, py
  if len(padding) != 4:
    raise ValueError(f'padding must be an int or 2 or 4 ints, got {padding}')
  return padding  # type: ignore[return-value]


def _separate(f: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
  """Splits a rank-1 2D filter into (fy, fx) with f = outer(fy, fx), else None."""
  if f.ndim != 2:
    return None
  u, s, vt = np.linalg.svd(f.astype(np.float64))
  if s.size > 1 and s[1] > 1e-7 * s[0]:
    return None
  fy = u[:, 0] * np.sqrt(s[0])
  fx = vt[0] * np.sqrt(s[0])
  if fy.sum() < 0:  # keep both halves positive for positive filters
    fy, fx = -fy, -fx
  return fy, fx


def _fir_1d(x: jnp.ndarray, taps: np.ndarray, axis: int, down: int) -> jnp.ndarray:
  """Correlates ``x`` with ``taps`` along ``axis`` (valid mode), keeping every ``down``-th output."""
  n_out = (x.shape[axis] - len(taps)) // down + 1
  if n_out <= 0:
    raise ValueError(f'FIR filter with {len(taps)} taps does not fit an input of size {x.shape[axis]}')
  out = None
  for k, tap in enumerate(taps):
    if tap == 0:
      continue
    term = lax.slice_in_dim(x, k, k + (n_out - 1) * down + 1, stride=down, axis=axis)
    term = term * jnp.asarray(tap, dtype=x.dtype)
    out = term if out is None else out + term
  if out is None:
    shape = list(x.shape)
    shape[axis] = n_out
    out = jnp.zeros(shape, x.dtype)
  return out


def upfirdn2d(x: jnp.ndarray, f: np.ndarray, up: int = 1, down: int = 1,
              padding: int | Sequence[int] = 0, flip_filter: bool = False,
              gain: float = 1.0) -> jnp.ndarray:
  """Pads, upsamples, FIR-filters and downsamples a batch of NHWC images."""
  f = np.asarray(f, dtype=np.float32)
  if f.ndim != 2:
    raise ValueError('upfirdn2d expects a 2D filter; use setup_filter() for 1D taps')
  px0, px1, py0, py1 = _parse_padding(padding)
  # Zero insertion and padding/cropping in one lax.pad (negative edges crop).
  zero = jnp.zeros((), x.dtype)
  x = lax.pad(x, zero, [(0, 0, 0), (py0, py1 + up - 1, up - 1),
                        (px0, px1 + up - 1, up - 1), (0, 0, 0)])
  f = f * np.float32(gain ** (f.ndim / 2))
  if not flip_filter:
    f = f[::-1, ::-1]
  separable = _separate(f) if ops_target() != 'tpu' else None
  if separable is not None:
    fy, fx = separable
    x = _fir_1d(x, fy.astype(np.float32), axis=1, down=down)
    return _fir_1d(x, fx.astype(np.float32), axis=2, down=down)
  channels = x.shape[-1]
  kernel = jnp.asarray(np.tile(f[:, :, None, None], [1, 1, 1, channels]), dtype=x.dtype)
  return lax.conv_general_dilated(
      x, kernel, window_strides=(down, down), padding='VALID',
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'), feature_group_count=channels)


def upsample2d(x: jnp.ndarray, f: np.ndarray, up: int = 2, gain: float = 1.0) -> jnp.ndarray:
  """Upsamples NHWC images by ``up`` with the FIR filter ``f`` (as the official ``upsample2d``)."""
  fh, fw = f.shape
  return upfirdn2d(x, f, up=up, gain=gain * up * up,
                   padding=((fw + up - 1) // 2, (fw - up) // 2,
                            (fh + up - 1) // 2, (fh - up) // 2))


def downsample2d(x: jnp.ndarray, f: np.ndarray, down: int = 2, gain: float = 1.0) -> jnp.ndarray:
  """Downsamples NHWC images by ``down`` with the FIR filter ``f`` (as the official ``downsample2d``)."""
  fh, fw = f.shape
  return upfirdn2d(x, f, down=down, gain=gain,
                   padding=((fw - down + 1) // 2, (fw - down) // 2,
                            (fh - down + 1) // 2, (fh - down) // 2))

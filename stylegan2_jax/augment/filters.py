"""Filters of the augmentation pipeline: the sym6 wavelet resampling and the 4-band image filter bank.

``HZ_GEOM`` is the low-pass filter of the geometric stage (sym6, normalized to sum 1, as
``setup_filter`` makes it). ``HZ_FBANK`` is the image-space filter bank: 4 symmetric 43-tap
band-pass filters built from sym2 (= db2) that add up to a unit impulse. The 1D FIR helpers
work along any axis with static taps.
"""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp
from jax import lax

# Daubechies' least-asymmetric wavelet of 6 vanishing moments (sym6): its decomposition
# low-pass filter, as published (PyWavelets `Wavelet('sym6').dec_lo`).
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148)


# sym2 (= db2), as published: the closed form [1-√3, 3-√3, 3+√3, 1+√3] / (4√2), rounded to float64
# as the tables print it (the closed form evaluated in float64 differs in the last bit, which moves
# the smallest filter-bank taps by 1e-13).
SYM2 = (-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025)


def sym2() -> np.ndarray:
  """The sym2 (= db2) decomposition low-pass filter."""
  return np.asarray(SYM2, dtype=np.float64)


def geometric_filter() -> np.ndarray:
  """sym6 normalized to sum 1 in float32 (``upfirdn2d.setup_filter`` of the official pipe)."""
  f = np.asarray(SYM6, dtype=np.float32)
  return (f / f.sum(dtype=np.float32)).astype(np.float32)


def filter_bank(num_bands: int = 4) -> np.ndarray:
  """The image-space filter bank ``[num_bands, taps]`` (float32).

  Band 0 is the coarsest low-pass; each step to a finer level dilates the bank by 2 (zeros
  between taps), smooths every band with the sym2 half-band low-pass H(z)H(1/z)/2 and adds the
  matching high-pass H(-z)H(-1/z)/2, centered, to the new band.
  """
  lo = sym2()
  hi = lo * (-1.0) ** np.arange(lo.size)
  lo2 = np.convolve(lo, lo[::-1]) / 2
  hi2 = np.convolve(hi, hi[::-1]) / 2
  bank = np.zeros([num_bands, 1])
  bank[0, 0] = 1.0
  for band in range(1, num_bands):
    dilated = np.zeros([num_bands, bank.shape[1] * 2 - 1])
    dilated[:, ::2] = bank
    bank = np.stack([np.convolve(row, lo2) for row in dilated])
    start = (bank.shape[1] - hi2.size) // 2
    bank[band, start:start + hi2.size] += hi2
  return bank.astype(np.float32)


HZ_GEOM = geometric_filter()  # [12]
HZ_FBANK = filter_bank()  # [4, 43]
HZ_PAD = HZ_GEOM.shape[0] // 4  # 3: the geometric filter's reach, in input pixels


def _shift_sum(x: jnp.ndarray, taps: np.ndarray, axis: int, start: int, count: int, stride: int) -> jnp.ndarray:
  """``sum_k taps[k] * x[start + stride * i + k]`` for ``i < count`` along ``axis`` (static taps)."""
  out = None
  for k, tap in enumerate(np.asarray(taps, np.float32)):
    if tap == 0:
      continue
    term = lax.slice_in_dim(x, start + k, start + k + (count - 1) * stride + 1, stride=stride, axis=axis)
    term = term * jnp.asarray(tap, x.dtype)
    out = term if out is None else out + term
  return out


def upsample_1d(x: jnp.ndarray, f: np.ndarray, axis: int) -> jnp.ndarray:
  """Doubles ``axis`` with FIR ``f`` as the official ``upsample2d`` does along one axis.

  Zero insertion, zero padding ``(len(f) + 1) // 2`` before and ``(len(f) - 2) // 2`` after, and a
  true convolution with ``2 * f`` (the per-axis half of gain 4); computed in polyphase form.
  """
  taps = np.asarray(f, np.float32) * np.float32(2)
  size = taps.shape[0]
  if size % 2:
    raise ValueError('upsample_1d expects an even number of taps')
  pad0 = (size + 1) // 2
  n = x.shape[axis]
  # out[j] = sum_m x[m] * taps[j + pad0 - 1 - 2m]: output phase r uses taps of parity (r + pad0 - 1) % 2.
  reach = size // 2
  xp = _pad_axis(x, axis, reach, reach)
  phases = []
  for r in (0, 1):
    # Terms m = (j + pad0 - 1 - t) / 2 for the taps t of matching parity, as a correlation over xp.
    j_off = r + pad0 - 1
    ts = [t for t in range(size) if (j_off - t) % 2 == 0]
    # m = i + (j_off - t) / 2 for output index j = 2i + r; xp index = m + reach.
    offsets = [(j_off - t) // 2 + reach for t in ts]
    lo = min(offsets)
    corr = np.zeros(max(offsets) - lo + 1, np.float32)
    for t, o in zip(ts, offsets):
      corr[o - lo] = taps[t]
    phases.append(_shift_sum(xp, corr, axis, lo, n, 1))
  out = jnp.stack(phases, axis=axis + 1)
  shape = list(x.shape)
  shape[axis] = 2 * n
  return out.reshape(shape)


def downsample_1d(x: jnp.ndarray, f: np.ndarray, axis: int, crop: int) -> jnp.ndarray:
  """Correlates ``axis`` with ``f`` after cropping ``crop`` samples per side, keeping every 2nd output."""
  n = x.shape[axis] - 2 * crop
  count = (n - f.shape[0]) // 2 + 1
  return _shift_sum(x, f, axis, crop, count, 2)


def _pad_axis(x: jnp.ndarray, axis: int, before: int, after: int) -> jnp.ndarray:
  widths = [(0, 0)] * x.ndim
  widths[axis] = (before, after)
  return jnp.pad(x, widths)


def correlate_per_sample(x: jnp.ndarray, taps: jnp.ndarray, axis: int) -> jnp.ndarray:
  """Valid correlation of ``x [N, ...]`` along ``axis`` with per-sample taps ``[N, K]``."""
  count = x.shape[axis] - taps.shape[1] + 1
  bshape = [x.shape[0]] + [1] * (x.ndim - 1)
  out = None
  for k in range(taps.shape[1]):
    term = lax.slice_in_dim(x, k, k + count, axis=axis) * taps[:, k].reshape(bshape)
    out = term if out is None else out + term
  return out

"""2D convolution with optional FIR up/downsampling (official ``conv2d_resample``), NHWC activations.

Weights keep the official ``[out, in, kh, kw]`` layout. The decomposition and the
padding arithmetic follow the official code path by path, so that results agree
with it to float rounding:

* up == 1, down == 1: a plain correlation (torch ``conv2d``).
* down > 1: FIR filter first, then a strided convolution (1x1 kernels: FIR
  downsample, then the 1x1 convolution).
* up > 1: a stride-``up`` transposed convolution using the weight as stored
  (no spatial flip, as ``flip_weight=False`` in the official synthesis layers),
  then the FIR filter with gain ``up**2`` (1x1 kernels: convolve, then FIR
  upsample). The transposed convolution is computed in polyphase form (one
  stride-1 convolution per output phase, fused), which XLA differentiates fast
  on every backend.

The polyphase convolution and the strided (downsampling) convolution carry
their own VJPs (:func:`_padded_conv`, :func:`_strided_conv`): XLA:CPU runs the
weight-gradient convolution of a padded or input-dilated convolution, which
plain autodiff produces in the second derivatives of the path-length and R1
regularizers, through a slow generic loop (about 25x slower). The hand-written
VJPs express the input gradients as an unpadded-output convolution and as the
polyphase transposed convolution, whose derivatives stay on the fast path.

On TPU (``ops.target``) both are XLA's own convolutions instead (``lhs_dilation``
for the transposed one, ``window_strides`` for the strided one) with plain
autodiff: there they move fewer bytes and, for the transposed convolution,
need fewer FLOPs than the polyphase form.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from stylegan2_jax.ops.target import ops_target
from stylegan2_jax.ops.upfirdn2d import upfirdn2d

_DN = ('NHWC', 'OIHW', 'NHWC')


def _conv(x, w, stride=1, padding=0):
  return lax.conv_general_dilated(
      x, w.astype(x.dtype), window_strides=(stride, stride),
      padding=[(padding, padding), (padding, padding)], dimension_numbers=_DN)


def _pad_spatial(x, pad):
  return jnp.pad(x, [(0, 0), pad[0], pad[1], (0, 0)])


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _padded_conv(x, w, pad):
  """Stride-1 correlation of NHWC ``x`` zero-padded by ``pad = ((y0, y1), (x0, x1))`` with ``w`` [out, in, kh, kw]."""
  return _conv(_pad_spatial(x, pad), w)


def _padded_conv_fwd(x, w, pad):
  return _padded_conv(x, w, pad), (x, w)


def _padded_conv_bwd(pad, residuals, g):
  x, w = residuals
  _, _, kh, kw = w.shape
  # d/dx: correlate g with the spatially reversed, transposed kernel; the output covers x only (not its padding)
  edges = [(k - 1 - lo, k - 1 - hi) for k, (lo, hi) in zip((kh, kw), pad)]
  g_cropped = lax.pad(g, jnp.zeros((), g.dtype), [(0, 0, 0)] + [(min(lo, 0), min(hi, 0), 0) for lo, hi in edges]
                      + [(0, 0, 0)])
  dx = lax.conv_general_dilated(g_cropped, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), window_strides=(1, 1),
                                padding=[(max(lo, 0), max(hi, 0)) for lo, hi in edges], dimension_numbers=_DN)
  # d/dw: the weight gradient of the unpadded (VALID) convolution of the padded input
  x_padded = _pad_spatial(x, pad)
  _, weight_vjp = jax.vjp(lambda w: _conv(x_padded, w), w)
  return dx, weight_vjp(g)[0]


_padded_conv.defvjp(_padded_conv_fwd, _padded_conv_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _strided_conv(x, w, stride):
  """Strided VALID correlation of NHWC ``x`` with ``w`` [out, in, kh, kw], with a VJP whose input gradient is the
  polyphase transposed convolution (so that its own derivatives, e.g. R1's, avoid input-dilated convolutions)."""
  return _conv(x, w, stride=stride)


def _strided_conv_fwd(x, w, stride):
  return _strided_conv(x, w, stride), (x, w)


def _strided_conv_bwd(stride, residuals, g):
  x, w = residuals
  dx = _conv_transpose(g, w.transpose(1, 0, 2, 3), stride)  # the adjoint of the strided correlation
  dx = _pad_spatial(dx, ((0, x.shape[1] - dx.shape[1]), (0, x.shape[2] - dx.shape[2])))
  _, weight_vjp = jax.vjp(lambda w: _conv(x, w, stride=stride), w)
  return dx, weight_vjp(g)[0]


_strided_conv.defvjp(_strided_conv_fwd, _strided_conv_bwd)


def _conv_transpose(x, w, stride):
  """torch ``conv_transpose2d(x, w.transpose(0, 1), stride)`` with padding 0, in the form of the ops target."""
  if ops_target() == 'tpu':
    return _conv_transpose_dilated(x, w, stride)
  return _conv_transpose_polyphase(x, w, stride)


def _conv_transpose_dilated(x, w, stride):
  """torch ``conv_transpose2d(x, w.transpose(0, 1), stride)`` with padding 0 as one input-dilated convolution."""
  _, _, kh, kw = w.shape
  return lax.conv_general_dilated(x, w[:, :, ::-1, ::-1].astype(x.dtype), window_strides=(1, 1),
                                  padding=[(kh - 1, kh - 1), (kw - 1, kw - 1)], lhs_dilation=(stride, stride),
                                  dimension_numbers=_DN)


def _conv_transpose_polyphase(x, w, stride):
  """torch ``conv_transpose2d(x, w.transpose(0, 1), stride)`` with padding 0 (full output).

  Computed in polyphase form: each of the ``stride**2`` output phases is an
  ordinary stride-1 convolution of ``x`` with the kernel taps that land on it,
  all phases in one convolution with ``stride**2 * out`` channels, then
  interleaved. The result is the transposed convolution's, but neither it nor
  its derivatives of any order use an input-dilated convolution, which XLA:CPU
  differentiates through a generic loop about 50x slower than ordinary ones.
  """
  n, h, wd, _ = x.shape
  out_ch, in_ch, kh, kw = w.shape
  flipped = w[:, :, ::-1, ::-1]
  taps_y, pad_y, m_y = _polyphase_taps(kh, stride, h)
  taps_x, pad_x, m_x = _polyphase_taps(kw, stride, wd)
  # kernel[(ty, tx, o), i, dy, dx] = flipped[o, i, jy, jx] where tap (t, d) -> j, or 0 where no tap lands
  jy, jx = taps_y[:, None, :, None], taps_x[None, :, None, :]          # [s, s, K'h, K'w] after broadcast
  valid = (jy >= 0) & (jx >= 0)
  gathered = flipped[:, :, np.clip(jy, 0, None), np.clip(jx, 0, None)]  # [out, in, s, s, K'h, K'w]
  kernel = jnp.where(valid, gathered, 0).transpose(2, 3, 0, 1, 4, 5).reshape(
      stride * stride * out_ch, in_ch, taps_y.shape[1], taps_x.shape[1])
  y = _padded_conv(x, kernel.astype(x.dtype), (pad_y, pad_x))          # [n, m_y, m_x, s*s*out]
  y = y.reshape(n, m_y, m_x, stride, stride, out_ch).transpose(0, 1, 3, 2, 4, 5)
  y = y.reshape(n, m_y * stride, m_x * stride, out_ch)
  return y[:, :(h - 1) * stride + kh, :(wd - 1) * stride + kw]


def _polyphase_taps(k: int, stride: int, size: int):
  """For a full transposed convolution along one axis: tap index ``j`` per (phase, offset) (-1 = none),
  the input padding and the number of outputs per phase."""
  offsets = {}
  for t in range(stride):
    for j in range(k):
      if (t + j - (k - 1)) % stride == 0:
        offsets[(t, (t + j - (k - 1)) // stride)] = j
  d_min = min(d for _, d in offsets)
  d_max = max(d for _, d in offsets)
  taps = np.full((stride, d_max - d_min + 1), -1)
  for (t, d), j in offsets.items():
    taps[t, d - d_min] = j
  outputs = -(-((size - 1) * stride + k) // stride)
  pad_lo = -d_min
  pad_hi = outputs + taps.shape[1] - 1 - size - pad_lo  # so the valid convolution gives `outputs` per phase
  return taps, (pad_lo, pad_hi), outputs


def resample_padding(filter_shape: tuple[int, int], up: int, down: int, padding: int) -> tuple[int, int, int, int]:
  """(x0, x1, y0, y1) padding of the official conv2d_resample: ``padding`` plus what up/down-sampling needs."""
  fh, fw = filter_shape
  px0 = px1 = py0 = py1 = padding
  if up > 1:
    px0 += (fw + up - 1) // 2
    px1 += (fw - up) // 2
    py0 += (fh + up - 1) // 2
    py1 += (fh - up) // 2
  if down > 1:
    px0 += (fw - down + 1) // 2
    px1 += (fw - down) // 2
    py0 += (fh - down + 1) // 2
    py1 += (fh - down) // 2
  return px0, px1, py0, py1


def conv2d_resample(x: jnp.ndarray, w: jnp.ndarray, f: np.ndarray | None = None,
                    up: int = 1, down: int = 1, padding: int = 0,
                    flip_weight: bool = True) -> jnp.ndarray:
  """Convolves NHWC ``x`` with ``w`` [out, in, kh, kw], optionally up/downsampling with filter ``f``.

  ``flip_weight=False`` means a true convolution for the up == 1 paths (the
  official code passes ``flip_weight = (up == 1)``, so correlation in practice).
  """
  _, _, kh, kw = w.shape
  if (up > 1 or down > 1) and f is None:
    raise ValueError('up/downsampling needs a resample filter')
  if up > 1 and down > 1:
    raise NotImplementedError('simultaneous up- and downsampling is not used by StyleGAN2')
  if not flip_weight and up == 1:
    w = w[:, :, ::-1, ::-1]
  px0, px1, py0, py1 = resample_padding(f.shape if f is not None else (1, 1), up, down, padding)

  if kh == 1 and kw == 1 and down > 1:
    x = upfirdn2d(x, f, down=down, padding=(px0, px1, py0, py1))
    return _conv(x, w)
  if kh == 1 and kw == 1 and up > 1:
    x = _conv(x, w)
    return upfirdn2d(x, f, up=up, padding=(px0, px1, py0, py1), gain=up ** 2)
  if down > 1:
    x = upfirdn2d(x, f, padding=(px0, px1, py0, py1))
    if ops_target() == 'tpu':
      return _conv(x, w, stride=down)
    return _strided_conv(x, w.astype(x.dtype), down)
  if up > 1:
    if flip_weight:  # the official synthesis layers pass flip_weight=False: weight used as stored
      w = w[:, :, ::-1, ::-1]
    x = _conv_transpose(x, w, stride=up)
    return upfirdn2d(x, f, padding=(px0 - (kw - 1), px1 - (kw - up), py0 - (kh - 1), py1 - (kh - up)),
                     gain=up ** 2)
  if px0 != px1 or py0 != py1 or px0 != py0 or px0 < 0:
    raise NotImplementedError(f'asymmetric padding {(px0, px1, py0, py1)} is not supported')
  return _conv(x, w, padding=px0)

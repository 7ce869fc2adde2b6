"""Slow, obviously-correct numpy versions of the ops, for tests (NCHW, as the official code).

These follow the official *generic* reference path (zero-insert, pad, dense
correlation, subsample), not the fast decompositions in ``conv2d_resample.py``,
so agreement between the two is a real check. Both use the official padding
arithmetic (``resample_padding``), which the fixture parity tests check.
"""

from __future__ import annotations

import numpy as np

from stylegan2_jax.ops.conv2d_resample import resample_padding


def correlate2d(x: np.ndarray, w: np.ndarray, stride: int = 1) -> np.ndarray:
  """Valid-mode correlation: x [N, I, H, W], w [O, I, kh, kw] -> [N, O, H', W'] (float64)."""
  n, i, h, wd = x.shape
  o, i2, kh, kw = w.shape
  assert i == i2, (x.shape, w.shape)
  oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
  out = np.zeros((n, o, oh, ow))
  for a in range(kh):
    for b in range(kw):
      patch = x[:, :, a:a + (oh - 1) * stride + 1:stride, b:b + (ow - 1) * stride + 1:stride]
      out += np.einsum('nihw,oi->nohw', patch, w[:, :, a, b])
  return out


def upfirdn2d_ref(x: np.ndarray, f: np.ndarray, up: int = 1, down: int = 1,
                  padding=(0, 0, 0, 0), flip_filter: bool = False, gain: float = 1.0) -> np.ndarray:
  """upfirdn2d on NCHW numpy arrays, step by step as documented by the official op."""
  x = np.asarray(x, np.float64)
  px0, px1, py0, py1 = padding
  n, c, h, w = x.shape
  up_x = np.zeros((n, c, h * up, w * up))
  up_x[:, :, ::up, ::up] = x
  x = np.pad(up_x, [(0, 0), (0, 0), (max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0))])
  x = x[:, :, max(-py0, 0):x.shape[2] - max(-py1, 0), max(-px0, 0):x.shape[3] - max(-px1, 0)]
  f = np.asarray(f, np.float64) * gain ** (f.ndim / 2)
  if not flip_filter:
    f = f[::-1, ::-1]
  out = np.stack([correlate2d(x[:, ch:ch + 1], f[None, None])[:, 0] for ch in range(c)], axis=1)
  return out[:, :, ::down, ::down]


def conv2d_resample_ref(x: np.ndarray, w: np.ndarray, f: np.ndarray | None = None, up: int = 1,
                        down: int = 1, padding: int = 0, flip_weight: bool = True) -> np.ndarray:
  """The official generic conv2d_resample path: upsample+filter, convolve, filter+downsample."""
  px0, px1, py0, py1 = resample_padding(f.shape if f is not None else (1, 1), up, down, padding)
  x = upfirdn2d_ref(x, f if up > 1 else np.ones((1, 1)), up=up, padding=(px0, px1, py0, py1),
                    gain=up ** 2 if up > 1 else 1)
  w = np.asarray(w, np.float64)
  if not flip_weight:
    w = w[:, :, ::-1, ::-1]
  x = correlate2d(x, w)
  if down > 1:
    x = upfirdn2d_ref(x, f, down=down)
  return x


def bias_act_ref(x: np.ndarray, b: np.ndarray | None, act: str = 'linear', gain: float | None = None,
                 clamp: float | None = None) -> np.ndarray:
  """bias_act on NCHW (or NC) arrays for the linear and lrelu activations."""
  x = np.asarray(x, np.float64)
  if b is not None:
    x = x + np.asarray(b).reshape((1, -1) + (1,) * (x.ndim - 2))
  if act == 'lrelu':
    x = np.where(x >= 0, x, 0.2 * x)
    gain = np.sqrt(2) if gain is None else gain
  elif act == 'linear':
    gain = 1.0 if gain is None else gain
  else:
    raise ValueError(act)
  x = x * gain
  if clamp is not None:
    x = np.clip(x, -clamp, clamp)
  return x

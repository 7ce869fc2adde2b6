"""The geometric stage: pixel blitting and general transforms, composed into one resampling.

``geometric_matrix`` builds the official ``G_inv`` (output pixel -> input pixel, both measured
from the image center) from the draws. ``apply_geometric`` then resamples as the official pipe:
reflect padding (sized from the batch's transformed corners), 2x upsampling with the sym6
filter, bilinear ``grid_sample`` (zeros outside, ``align_corners=False``) onto a canvas of
``2H + 12`` x ``2W + 12``, and 2x downsampling with the same filter.

The official padding depends on the draws, hence its array shapes do. Here every sample gets a
fixed-size canvas that holds the largest padding the official code can choose (``W - 1`` per
side): the reflected image sits at the canvas origin as in the official padded image, with the
official (dynamic) extent; what lies beyond that extent is zero, as in the official code, where
it is outside the array. The values are therefore the official ones while shapes stay static.
To spend less at small ``p`` (small padding), the canvas comes in a few static sizes
(``CANVAS_FRACTIONS`` of the largest padding); ``lax.switch`` runs the smallest that holds the
batch's padding. The size changes the cost, never the values.
"""

from __future__ import annotations

import functools

import numpy as np
import jax.numpy as jnp
from jax import lax

from stylegan2_jax.augment import filters
from stylegan2_jax.augment.settings import AugmentSettings

F32 = jnp.float32
CANVAS_FRACTIONS = (0.25, 0.5, 0.75, 1.0)  # canvas sizes: these fractions of the largest padding, 2 * (size - 1)


def _mm(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
  return jnp.matmul(a, b, precision=lax.Precision.HIGHEST)


def _matrix(rows, n: int) -> jnp.ndarray:
  """``[n, R, C]`` from rows of scalars or ``[n]`` arrays (float32)."""
  return jnp.stack([jnp.stack([jnp.broadcast_to(jnp.asarray(e, F32), (n,)) for e in row], axis=-1)
                    for row in rows], axis=-2)


def translate2d(tx, ty, n):
  """Batched 2D homogeneous translation."""
  return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], n)


def scale2d(sx, sy, n):
  """Batched 2D homogeneous scaling."""
  return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], n)


def rotate2d(theta, n):
  """Batched 2D homogeneous rotation by ``theta`` (radians, counter-clockwise in x-right/y-up)."""
  return _matrix([[jnp.cos(theta), jnp.sin(-theta), 0], [jnp.sin(theta), jnp.cos(theta), 0], [0, 0, 1]], n)


def _gate(gate, prob, value, identity):
  return jnp.where(gate < prob, value, identity)


def geometric_matrix(draws: dict, p: jnp.ndarray, settings: AugmentSettings, height: int,
                     width: int) -> jnp.ndarray:
  """The composed inverse transform ``G_inv [N, 3, 3]`` of the official pipe (before execution).

  Each enabled step right-multiplies, in the official order: xflip, rotate90, xint, scale,
  pre-rotation, aniso, post-rotation, xfrac. A step applies to sample k iff its gate draw is
  below its probability (``multiplier * p``; rotations use ``1 - sqrt(1 - rotate * p)`` twice).
  """
  s = settings
  p = jnp.asarray(p, F32)
  n = next(v.shape[0] for v in draws.values())
  g = jnp.broadcast_to(jnp.eye(3, dtype=F32), (n, 3, 3))
  zero, one = jnp.zeros((), F32), jnp.ones((), F32)
  if s.xflip > 0:
    i = jnp.floor(draws['xflip_i'] * 2)
    i = _gate(draws['xflip_gate'], F32(s.xflip) * p, i, zero)
    g = _mm(g, scale2d(1 / (1 - 2 * i), 1, n))
  if s.rotate90 > 0:
    i = jnp.floor(draws['rotate90_i'] * 4)
    i = _gate(draws['rotate90_gate'], F32(s.rotate90) * p, i, zero)
    g = _mm(g, rotate2d(-(F32(-np.pi / 2) * i), n))
  if s.xint > 0:
    t = (draws['xint_t'] * 2 - 1) * F32(s.xint_max)
    t = _gate(draws['xint_gate'], F32(s.xint) * p, t, zero)
    g = _mm(g, translate2d(-jnp.round(t[:, 0] * F32(width)), -jnp.round(t[:, 1] * F32(height)), n))
  if s.scale > 0:
    sc = jnp.exp2(draws['scale_s'] * F32(s.scale_std))
    sc = _gate(draws['scale_gate'], F32(s.scale) * p, sc, one)
    g = _mm(g, scale2d(1 / sc, 1 / sc, n))
  p_rot = 1 - jnp.sqrt(jnp.clip(1 - F32(s.rotate) * p, 0, 1))
  if s.rotate > 0:
    theta = (draws['rotate_pre_theta'] * 2 - 1) * F32(np.pi) * F32(s.rotate_max)
    theta = _gate(draws['rotate_pre_gate'], p_rot, theta, zero)
    g = _mm(g, rotate2d(theta, n))
  if s.aniso > 0:
    sc = jnp.exp2(draws['aniso_s'] * F32(s.aniso_std))
    sc = _gate(draws['aniso_gate'], F32(s.aniso) * p, sc, one)
    g = _mm(g, scale2d(1 / sc, 1 / (1 / sc), n))
  if s.rotate > 0:
    theta = (draws['rotate_post_theta'] * 2 - 1) * F32(np.pi) * F32(s.rotate_max)
    theta = _gate(draws['rotate_post_gate'], p_rot, theta, zero)
    g = _mm(g, rotate2d(theta, n))
  if s.xfrac > 0:
    t = draws['xfrac_t'] * F32(s.xfrac_std)
    t = _gate(draws['xfrac_gate'], F32(s.xfrac) * p, t, zero)
    g = _mm(g, translate2d(-(t[:, 0] * F32(width)), -(t[:, 1] * F32(height)), n))
  return g


def reflect_padding(g_inv: jnp.ndarray, height: int, width: int, shards: int = 1) -> jnp.ndarray:
  """The official reflect padding ``[N, 4]`` = ``(left, right, top, bottom)`` (int32).

  The margin covers the four transformed image corners of every sample in the group plus the
  filter's reach, clamped to ``[0, W - 1] x [0, H - 1]``. The official code pools the margin over
  the batch of one device; ``shards`` splits the batch into that many consecutive groups (one per
  device) and pools within each group, so no value crosses a device.
  """
  n = g_inv.shape[0]
  if n % shards:
    raise ValueError(f'augment: batch {n} is not divisible by shards={shards}')
  cx, cy = (width - 1) / 2, (height - 1) / 2
  corners = jnp.asarray(np.array([[-cx, cx, cx, -cx], [-cy, -cy, cy, cy], [1, 1, 1, 1]], np.float32))
  cp = _mm(g_inv, corners)[:, :2, :].reshape(shards, n // shards, 2, 4)  # [shard, sample, xy, corner]
  cp = jnp.moveaxis(cp, 2, 1).reshape(shards, 2, -1)
  margin = jnp.concatenate([jnp.max(-cp, axis=2), jnp.max(cp, axis=2)], axis=1)  # [shard, (x0, y0, x1, y1)]
  reach = 2 * filters.HZ_PAD
  margin = margin + jnp.asarray(np.array([reach - cx, reach - cy] * 2, np.float32))
  margin = jnp.maximum(margin, 0)
  margin = jnp.minimum(margin, jnp.asarray(np.array([width - 1, height - 1] * 2, np.float32)))
  margin = jnp.ceil(margin).astype(jnp.int32)
  pad = margin[:, jnp.array([0, 2, 1, 3])]  # (x0, x1, y0, y1)
  return jnp.repeat(pad, n // shards, axis=0)


def _torch_linspace_centers(size: int) -> np.ndarray:
  """``affine_grid``'s base coordinates for ``align_corners=False``, in float32 as torch computes them."""
  steps = np.arange(size)
  step = np.float32(2) / np.float32(max(size - 1, 1))
  lin = np.where(steps < size // 2, np.float32(-1) + step * steps.astype(np.float32),
                 np.float32(1) - step * (size - 1 - steps).astype(np.float32)).astype(np.float32)
  return (lin * np.float32(size - 1) / np.float32(size)).astype(np.float32)


def sampling_matrix(g_inv: jnp.ndarray, pad: jnp.ndarray, height: int, width: int):
  """The official ``theta [N, 2, 3]`` for ``affine_grid`` and the upsampled padded size ``(Hup, Wup)``."""
  n = g_inv.shape[0]
  px0, px1, py0, py1 = (pad[:, k] for k in range(4))
  g = _mm(translate2d((px0 - px1).astype(F32) / 2, (py0 - py1).astype(F32) / 2, n), g_inv)
  g = _mm(_mm(scale2d(2, 2, n), g), scale2d(0.5, 0.5, n))
  g = _mm(_mm(translate2d(-0.5, -0.5, n), g), translate2d(0.5, 0.5, n))
  w_up = 2 * (width + px0 + px1)
  h_up = 2 * (height + py0 + py1)
  w_out, h_out = 2 * width + 4 * filters.HZ_PAD, 2 * height + 4 * filters.HZ_PAD
  g = _mm(_mm(scale2d(F32(2) / w_up.astype(F32), F32(2) / h_up.astype(F32), n), g),
          scale2d(w_out / 2, h_out / 2, n))
  return g[:, :2, :], h_up, w_up


def _reflect_gather(x: jnp.ndarray, axis: int, before: jnp.ndarray, size: int, canvas: int) -> jnp.ndarray:
  """Per-sample reflect padding of ``x`` along ``axis`` onto ``canvas`` samples starting at the canvas origin.

  Sample k holds the image reflected by ``before[k]`` samples; canvas positions at or past
  ``size + before[k] + after[k]`` are filled by the caller's mask.
  """
  pos = jnp.arange(canvas)[None, :] - before[:, None]  # [N, canvas]
  pos = jnp.abs(pos)
  pos = jnp.where(pos > size - 1, 2 * (size - 1) - pos, pos)
  pos = jnp.clip(pos, 0, size - 1)
  shape = [x.shape[0]] + [1] * (x.ndim - 1)
  shape[axis] = canvas
  return jnp.take_along_axis(x, pos.reshape(shape), axis=axis)


def _padded_upsampled_canvas(x: jnp.ndarray, pad: jnp.ndarray, extra_h: int, extra_w: int) -> jnp.ndarray:
  """Reflect-pad (per sample) and upsample 2x with sym6, on a static canvas (NCHW in and out).

  The canvas holds ``H + extra_h`` x ``W + extra_w`` padded pixels, at least every sample's padded size.
  """
  n, _, h, w = x.shape
  canvas_h, canvas_w = h + extra_h, w + extra_w
  px0, px1, py0, py1 = (pad[:, k] for k in range(4))
  x = _reflect_gather(x, 3, px0, w, canvas_w)
  x = x * (jnp.arange(canvas_w)[None, :] < (w + px0 + px1)[:, None]).astype(x.dtype)[:, None, None, :]
  x = filters.upsample_1d(x, filters.HZ_GEOM, axis=3)
  x = _reflect_gather(x, 2, py0, h, canvas_h)
  x = x * (jnp.arange(canvas_h)[None, :] < (h + py0 + py1)[:, None]).astype(x.dtype)[:, None, :, None]
  return filters.upsample_1d(x, filters.HZ_GEOM, axis=2)


def _canvas_sizes(height: int, width: int, fractions) -> list[tuple[int, int]]:
  """The static canvas paddings ``(extra_h, extra_w)`` to choose from, smallest first."""
  sizes = []
  for fraction in fractions:
    size = (max(int(np.ceil(fraction * 2 * (height - 1))), 0), max(int(np.ceil(fraction * 2 * (width - 1))), 0))
    if size not in sizes:
      sizes.append(size)
  return sizes


def grid_sample_bilinear(x: jnp.ndarray, ix: jnp.ndarray, iy: jnp.ndarray, h_valid: jnp.ndarray,
                         w_valid: jnp.ndarray) -> jnp.ndarray:
  """Bilinear sampling of NCHW ``x`` at pixel coordinates ``ix, iy [N, P]`` -> ``[N, C, P]``; zero outside ``[0, w_valid) x [0, h_valid)``.

  The per-sample valid extent may be smaller than the array (torch ``grid_sample`` with
  ``padding_mode='zeros'``, in unnormalized pixel coordinates).
  """
  n, c, h, w = x.shape
  x0 = jnp.floor(ix)
  y0 = jnp.floor(iy)
  wx = ix - x0
  wy = iy - y0
  ex, ey = 1 - wx, 1 - wy
  x0 = x0.astype(jnp.int32)
  y0 = y0.astype(jnp.int32)
  flat = x.reshape(n, c, h * w)
  out = None
  for dy, fy in ((0, ey), (1, wy)):
    for dx, fx in ((0, ex), (1, wx)):
      xi, yi = x0 + dx, y0 + dy
      valid = (xi >= 0) & (xi < w_valid[:, None]) & (yi >= 0) & (yi < h_valid[:, None])
      idx = jnp.clip(yi, 0, h - 1) * w + jnp.clip(xi, 0, w - 1)
      val = jnp.take_along_axis(flat, idx[:, None, :], axis=2)
      term = val * jnp.where(valid, fy * fx, 0)[:, None, :]
      out = term if out is None else out + term
  return out


def _resample(x, pad, ix, iy, h_up, w_up, extra_h, extra_w):
  canvas = _padded_upsampled_canvas(x, pad, extra_h, extra_w)
  return grid_sample_bilinear(canvas, ix, iy, h_up, w_up)


def apply_geometric(images: jnp.ndarray, g_inv: jnp.ndarray, shards: int = 1,
                    canvas_fractions: tuple[float, ...] = CANVAS_FRACTIONS):
  """Resamples NCHW ``images`` by ``G_inv`` as the official pipe; returns ``(images, pad, theta)``."""
  n, c, h, w = images.shape
  pad = reflect_padding(g_inv, h, w, shards)
  theta, h_up, w_up = sampling_matrix(g_inv, pad, h, w)
  w_out, h_out = 2 * w + 4 * filters.HZ_PAD, 2 * h + 4 * filters.HZ_PAD
  bx = jnp.asarray(_torch_linspace_centers(w_out))[None, None, :]
  by = jnp.asarray(_torch_linspace_centers(h_out))[None, :, None]
  t = theta[:, :, :, None, None]
  gx = bx * t[:, 0, 0] + by * t[:, 0, 1] + t[:, 0, 2]  # [N, Hout, Wout]
  gy = bx * t[:, 1, 0] + by * t[:, 1, 1] + t[:, 1, 2]
  wf, hf = w_up.astype(F32)[:, None, None], h_up.astype(F32)[:, None, None]
  ix = (gx * (wf / 2) + (wf - 1) / 2).reshape(n, -1)
  iy = (gy * (hf / 2) + (hf - 1) / 2).reshape(n, -1)
  x = images
  sizes = _canvas_sizes(h, w, canvas_fractions)
  if sizes[-1] != (2 * (h - 1), 2 * (w - 1)):
    raise ValueError('apply_geometric: the largest canvas must hold the largest padding (fraction 1)')
  branches = [functools.partial(_resample, extra_h=eh, extra_w=ew) for eh, ew in sizes]
  operands = (x, pad, ix, iy, h_up, w_up)
  if len(branches) == 1:
    x = branches[0](*operands)
  else:
    need_h = jnp.max(pad[:, 2] + pad[:, 3])
    need_w = jnp.max(pad[:, 0] + pad[:, 1])
    fits = [(need_h <= eh) & (need_w <= ew) for eh, ew in sizes[:-1]]
    index = len(sizes) - 1 - jnp.sum(jnp.stack(fits).astype(jnp.int32))  # the smallest canvas that fits
    x = lax.switch(index, branches, *operands)
  x = x.reshape(n, c, h_out, w_out)
  crop = 1  # the official padding -2 * Hz_pad on top of downsample2d's own (len(f) - 1) // 2
  x = filters.downsample_1d(x, filters.HZ_GEOM, axis=3, crop=crop)
  x = filters.downsample_1d(x, filters.HZ_GEOM, axis=2, crop=crop)
  return x, pad, theta

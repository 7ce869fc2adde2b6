"""The color stage: brightness, contrast, luma flip, hue rotation and saturation as one 4x4 matrix."""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp
from jax import lax

from stylegan2_jax.augment.settings import AugmentSettings

F32 = jnp.float32
LUMA_AXIS = (np.asarray([1, 1, 1, 0]) / np.sqrt(3)).astype(np.float32)  # v: the luma axis (1,1,1)/sqrt(3)


def _mm(a, b):
  return jnp.matmul(a, b, precision=lax.Precision.HIGHEST)


def _matrix4(rows, n):
  return jnp.stack([jnp.stack([jnp.broadcast_to(jnp.asarray(e, F32), (n,)) for e in row], axis=-1)
                    for row in rows], axis=-2)


def _rotate3d(v, theta, n):
  """Rotation by ``theta`` about the unit axis ``v`` (Rodrigues), as a homogeneous 4x4 matrix."""
  vx, vy, vz = (F32(v[k]) for k in range(3))
  s, c = jnp.sin(theta), jnp.cos(theta)
  cc = 1 - c
  return _matrix4([[vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
                   [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
                   [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
                   [0, 0, 0, 1]], n)


def color_matrix(draws: dict, p: jnp.ndarray, settings: AugmentSettings, batch_size: int,
                 num_channels: int) -> jnp.ndarray:
  """The official color matrix ``C [N, 4, 4]`` (color_in -> color_out, homogeneous).

  Each enabled step left-multiplies, in the official order: brightness, contrast, lumaflip,
  hue, saturation (the last two only for more than one channel).
  """
  s = settings
  n = batch_size
  p = jnp.asarray(p, F32)
  eye = jnp.eye(4, dtype=F32)
  c = jnp.broadcast_to(eye, (n, 4, 4))
  v = jnp.asarray(LUMA_AXIS)
  vv = jnp.outer(v, v)
  if s.brightness > 0:
    b = draws['brightness_b'] * F32(s.brightness_std)
    b = jnp.where(draws['brightness_gate'] < F32(s.brightness) * p, b, 0)
    c = _mm(_matrix4([[1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]], n), c)
  if s.contrast > 0:
    k = jnp.exp2(draws['contrast_c'] * F32(s.contrast_std))
    k = jnp.where(draws['contrast_gate'] < F32(s.contrast) * p, k, 1)
    c = _mm(_matrix4([[k, 0, 0, 0], [0, k, 0, 0], [0, 0, k, 0], [0, 0, 0, 1]], n), c)
  if s.lumaflip > 0:
    i = jnp.floor(draws['lumaflip_i'] * 2)
    i = jnp.where(draws['lumaflip_gate'] < F32(s.lumaflip) * p, i, 0)  # [N, 1, 1]
    c = _mm(eye - 2 * vv * i, c)  # Householder reflection
  if s.hue > 0 and num_channels > 1:
    theta = (draws['hue_theta'] * 2 - 1) * F32(np.pi) * F32(s.hue_max)
    theta = jnp.where(draws['hue_gate'] < F32(s.hue) * p, theta, 0)
    c = _mm(_rotate3d(LUMA_AXIS, theta, n), c)
  if s.saturation > 0 and num_channels > 1:
    k = jnp.exp2(draws['saturation_s'] * F32(s.saturation_std))
    k = jnp.where(draws['saturation_gate'] < F32(s.saturation) * p, k, 1)  # [N, 1, 1]
    c = _mm(vv + (eye - vv) * k, c)
  return c


def apply_color(images: jnp.ndarray, c: jnp.ndarray) -> jnp.ndarray:
  """Applies ``C`` to NCHW images: ``C[:3, :3] @ rgb + C[:3, 3]``; 1 channel uses the mean of the 3 rows."""
  n, channels, h, w = images.shape
  x = images.reshape(n, channels, h * w)
  if channels == 3:
    x = _mm(c[:, :3, :3], x) + c[:, :3, 3:]
  elif channels == 1:
    m = jnp.mean(c[:, :3, :], axis=1, keepdims=True)  # [N, 1, 4]
    x = x * jnp.sum(m[:, :, :3], axis=2, keepdims=True) + m[:, :, 3:]
  else:
    raise ValueError(f'augment: color augmentation needs RGB (3 channels) or L (1 channel) images, '
                     f'got {channels} channels')
  return x.reshape(n, channels, h, w)

"""The image-space stages of the pipe: the 4-band filter, additive noise and cutout."""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp
from jax import lax

from stylegan2_jax.augment import filters
from stylegan2_jax.augment.settings import AugmentSettings

F32 = jnp.float32
EXPECTED_POWER = (np.array([10, 1, 1, 1]) / 13).astype(np.float32)  # expected power spectrum of the bands (1/f)


def filter_gains(draws: dict, p: jnp.ndarray, settings: AugmentSettings, batch_size: int) -> jnp.ndarray:
  """Per-band gains ``g [N, 4]``: each gated band amplification ``2^(imgfilter_std z)``, power-normalized."""
  s = settings
  p = jnp.asarray(p, F32)
  num_bands = filters.HZ_FBANK.shape[0]
  e = jnp.asarray(EXPECTED_POWER)
  g = jnp.ones([batch_size, num_bands], F32)
  for band, band_strength in enumerate(s.imgfilter_bands):
    t_i = jnp.exp2(draws[f'imgfilter_band{band}_t'] * F32(s.imgfilter_std))
    prob = F32(s.imgfilter) * p * F32(band_strength)
    t_i = jnp.where(draws[f'imgfilter_band{band}_gate'] < prob, t_i, 1)
    t = jnp.ones([batch_size, num_bands], F32).at[:, band].set(t_i)
    t = t / jnp.sqrt(jnp.sum(e * jnp.square(t), axis=-1, keepdims=True))
    g = g * t
  return g


def apply_filter(images: jnp.ndarray, g: jnp.ndarray) -> jnp.ndarray:
  """Filters NCHW images with ``g @ Hz_fbank`` (reflect padding, along W then H); needs H, W > 21."""
  n, c, h, w = images.shape
  taps = filters.HZ_FBANK.shape[1]
  pad = taps // 2
  if h <= pad or w <= pad:
    raise ValueError(f'augment: imgfilter needs images larger than {pad}x{pad} (reflect padding), got {h}x{w}')
  hz = jnp.matmul(g, jnp.asarray(filters.HZ_FBANK), precision=lax.Precision.HIGHEST)  # [N, taps]
  x = jnp.pad(images, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode='reflect')
  x = filters.correlate_per_sample(x, hz, axis=3)
  return filters.correlate_per_sample(x, hz, axis=2)


def noise_sigma(draws: dict, p: jnp.ndarray, settings: AugmentSettings) -> jnp.ndarray:
  """The gated noise standard deviation ``[N, 1, 1, 1]``: ``|z| * noise_std`` or 0."""
  p = jnp.asarray(p, F32)
  sigma = jnp.abs(draws['noise_sigma']) * F32(settings.noise_std)
  return jnp.where(draws['noise_gate'] < F32(settings.noise) * p, sigma, 0)


def cutout_mask(draws: dict, p: jnp.ndarray, settings: AugmentSettings, height: int, width: int) -> jnp.ndarray:
  """The 0/1 cutout mask ``[N, 1, H, W]``: zero inside the square of side ``cutout_size`` at the drawn center."""
  p = jnp.asarray(p, F32)
  size = jnp.where(draws['cutout_gate'] < F32(settings.cutout) * p, F32(settings.cutout_size), 0)  # [N,1,1,1,1]
  center = draws['cutout_center']  # [N, 2, 1, 1, 1]
  coord_x = ((np.arange(width, dtype=np.float32) + np.float32(0.5)) / np.float32(width)).reshape(1, 1, -1)
  coord_y = ((np.arange(height, dtype=np.float32) + np.float32(0.5)) / np.float32(height)).reshape(1, -1, 1)
  mask_x = jnp.abs(jnp.asarray(coord_x) - center[:, 0]) >= size[:, 0] / 2
  mask_y = jnp.abs(jnp.asarray(coord_y) - center[:, 1]) >= size[:, 0] / 2
  return jnp.logical_or(mask_x, mask_y).astype(F32)

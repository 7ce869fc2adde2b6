"""The ADA augmentation pipeline (the official ``AugmentPipe.forward``) as a pure, jittable function.

Stages, in the official order: geometric (blitting and general transforms, one resampling) ->
color -> image-space filter -> additive noise -> cutout. ``augment`` is deterministic given the
draws (``draws.draw_augment_inputs``), differentiable with respect to the images, and ``p`` is a
traced float32 scalar, so changing it does not recompile. Every operation is per sample except the
geometric padding size, which the official code pools over a device's batch (see ``shards``).
"""

from __future__ import annotations

import jax.numpy as jnp

from stylegan2_jax.augment import color, geometric, image_space
from stylegan2_jax.augment.draws import check_draws
from stylegan2_jax.augment.settings import AugmentSettings


def augment_with_intermediates(images: jnp.ndarray, draws: dict, p, settings: AugmentSettings,
                               shards: int = 1) -> tuple[jnp.ndarray, dict]:
  """``augment`` that also returns the official intermediates.

  Intermediates (present when their stage is enabled): ``geom_G_inv [N,3,3]``, ``geom_pad [N,4]``
  (left, right, top, bottom; the same for all samples of a shard), ``geom_theta [N,2,3]``,
  ``color_C [N,4,4]``, ``filter_g [N,4]``, ``noise_sigma [N,1,1,1]``, ``cutout_mask [N,1,H,W]``, and
  ``stage_{geom,color,filter,noise,cutout}`` (images after each enabled stage).
  """
  if images.ndim != 4:
    raise ValueError(f'augment: images must be NCHW (4 dimensions), got shape {tuple(images.shape)}')
  n, c, h, w = images.shape
  check_draws(draws, settings, images.shape)
  p = jnp.asarray(p, jnp.float32)
  if c not in (1, 3) and settings.color_enabled(c):
    raise ValueError(f'augment: color augmentation needs RGB (3 channels) or L (1 channel) images, '
                     f'got {c} channels')
  interm = {}
  x = images
  if settings.geometric_enabled:
    g_inv = geometric.geometric_matrix(draws, p, settings, h, w)
    x, pad, theta = geometric.apply_geometric(x, g_inv, shards)
    interm.update(geom_G_inv=g_inv, geom_pad=pad, geom_theta=theta, stage_geom=x)
  if settings.color_enabled(c):
    cm = color.color_matrix(draws, p, settings, n, c)
    x = color.apply_color(x, cm)
    interm.update(color_C=cm, stage_color=x)
  if settings.imgfilter > 0:
    g = image_space.filter_gains(draws, p, settings, n)
    x = image_space.apply_filter(x, g)
    interm.update(filter_g=g, stage_filter=x)
  if settings.noise > 0:
    sigma = image_space.noise_sigma(draws, p, settings)
    x = x + draws['noise_n'] * sigma
    interm.update(noise_sigma=sigma, stage_noise=x)
  if settings.cutout > 0:
    mask = image_space.cutout_mask(draws, p, settings, h, w)
    x = x * mask
    interm.update(cutout_mask=mask, stage_cutout=x)
  return x, interm


def augment(images: jnp.ndarray, draws: dict, p, settings: AugmentSettings, shards: int = 1) -> jnp.ndarray:
  """Augments NCHW float32 ``images`` as the official ``AugmentPipe`` with probability multiplier ``p``.

  Args:
    images: ``[N, C, H, W]`` float32, C = 1 or 3 when color augmentations are enabled.
    draws: every random input, ``draw_augment_inputs(key, settings, images.shape)`` or recorded
      official draws under the same names.
    p: overall augmentation probability (float32 scalar; may be traced).
    settings: ``AugmentSettings`` (static), e.g. ``preset('bgc')``.
    shards: number of consecutive batch groups (devices) over which the geometric padding is
      pooled, as the official code pools it over each GPU's batch; 1 = the whole batch.
  """
  return augment_with_intermediates(images, draws, p, settings, shards)[0]

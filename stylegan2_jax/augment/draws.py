"""Every random draw of the official ``AugmentPipe.forward``, as explicit inputs.

``draw_specs`` lists the draws the official forward makes for given settings and image
shape, with the same names, shapes and distributions and in the same order (the order of
the ``torch.rand`` / ``torch.randn`` calls). ``draw_augment_inputs`` makes them from a JAX
key. ``augment`` is deterministic given the draws, so draws recorded from the official
code replay exactly.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from stylegan2_jax.augment.settings import AugmentSettings

UNIFORM = 'uniform'  # U[0, 1), as torch.rand
NORMAL = 'normal'  # N(0, 1), as torch.randn
NUM_FILTER_BANDS = 4


@dataclasses.dataclass(frozen=True)
class DrawSpec:
  """One random draw: its name, shape and distribution (``'uniform'`` or ``'normal'``)."""
  name: str
  shape: tuple[int, ...]
  dist: str


def draw_specs(settings: AugmentSettings, images_shape: tuple[int, int, int, int]) -> list[DrawSpec]:
  """The draws of the official forward for NCHW ``images_shape``, in call order.

  Only enabled augmentations draw. Hue and saturation do not draw for 1-channel images. The
  noise field ``noise_n`` is drawn for every sample, and cutout draws its gate before its center.
  """
  n, c, h, w = images_shape
  s = settings
  specs: list[DrawSpec] = []

  def add(name, shape, dist):
    specs.append(DrawSpec(name, tuple(shape), dist))

  if s.xflip > 0:
    add('xflip_i', [n], UNIFORM)
    add('xflip_gate', [n], UNIFORM)
  if s.rotate90 > 0:
    add('rotate90_i', [n], UNIFORM)
    add('rotate90_gate', [n], UNIFORM)
  if s.xint > 0:
    add('xint_t', [n, 2], UNIFORM)
    add('xint_gate', [n, 1], UNIFORM)
  if s.scale > 0:
    add('scale_s', [n], NORMAL)
    add('scale_gate', [n], UNIFORM)
  if s.rotate > 0:
    add('rotate_pre_theta', [n], UNIFORM)
    add('rotate_pre_gate', [n], UNIFORM)
  if s.aniso > 0:
    add('aniso_s', [n], NORMAL)
    add('aniso_gate', [n], UNIFORM)
  if s.rotate > 0:
    add('rotate_post_theta', [n], UNIFORM)
    add('rotate_post_gate', [n], UNIFORM)
  if s.xfrac > 0:
    add('xfrac_t', [n, 2], NORMAL)
    add('xfrac_gate', [n, 1], UNIFORM)
  if s.brightness > 0:
    add('brightness_b', [n], NORMAL)
    add('brightness_gate', [n], UNIFORM)
  if s.contrast > 0:
    add('contrast_c', [n], NORMAL)
    add('contrast_gate', [n], UNIFORM)
  if s.lumaflip > 0:
    add('lumaflip_i', [n, 1, 1], UNIFORM)
    add('lumaflip_gate', [n, 1, 1], UNIFORM)
  if s.hue > 0 and c > 1:
    add('hue_theta', [n], UNIFORM)
    add('hue_gate', [n], UNIFORM)
  if s.saturation > 0 and c > 1:
    add('saturation_s', [n, 1, 1], NORMAL)
    add('saturation_gate', [n, 1, 1], UNIFORM)
  if s.imgfilter > 0:
    for band in range(NUM_FILTER_BANDS):
      add(f'imgfilter_band{band}_t', [n], NORMAL)
      add(f'imgfilter_band{band}_gate', [n], UNIFORM)
  if s.noise > 0:
    add('noise_sigma', [n, 1, 1, 1], NORMAL)
    add('noise_gate', [n, 1, 1, 1], UNIFORM)
    add('noise_n', [n, c, h, w], NORMAL)
  if s.cutout > 0:
    add('cutout_gate', [n, 1, 1, 1, 1], UNIFORM)
    add('cutout_center', [n, 2, 1, 1, 1], UNIFORM)
  return specs


def draw_augment_inputs(key: jax.Array, settings: AugmentSettings,
                        images_shape: tuple[int, int, int, int]) -> dict[str, jax.Array]:
  """Draws every random input of ``augment`` for NCHW ``images_shape``: ``{name: float32 array}``.

  Draw ``index`` (its position in ``draw_specs``) uses ``jax.random.fold_in(key, index)``; the dict
  keeps the official order.
  """
  draws = {}
  for index, spec in enumerate(draw_specs(settings, images_shape)):
    sub = jax.random.fold_in(key, index)
    if spec.dist == UNIFORM:
      draws[spec.name] = jax.random.uniform(sub, spec.shape, jnp.float32)
    else:
      draws[spec.name] = jax.random.normal(sub, spec.shape, jnp.float32)
  return draws


def check_draws(draws: dict, settings: AugmentSettings, images_shape: tuple[int, int, int, int]) -> None:
  """Raises one clear ``ValueError`` when ``draws`` lacks a draw or has one of the wrong shape."""
  for spec in draw_specs(settings, images_shape):
    if spec.name not in draws:
      raise ValueError(f'augment: draws lack {spec.name!r} (make them with draw_augment_inputs)')
    if tuple(draws[spec.name].shape) != spec.shape:
      raise ValueError(f'augment: draw {spec.name!r} has shape {tuple(draws[spec.name].shape)}, '
                       f'expected {spec.shape} for images of shape {tuple(images_shape)}')

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


@dataclasses.dataclass(frozen=True)
class DrawRow:
  """One row of ``DRAW_TABLE``: the draw ``name`` made when probability multiplier ``setting`` is > 0.

  ``shape`` names the image dimensions (``'n'``, ``'c'``, ``'h'``, ``'w'``) or gives sizes; ``color_mixing``
  draws are skipped for 1-channel images (the official pipe draws hue and saturation only for RGB).
  """
  setting: str
  name: str
  shape: tuple[str | int, ...]
  dist: str
  color_mixing: bool = False


def _rows(setting, draws, color_mixing=False):
  return tuple(DrawRow(setting, name, shape, dist, color_mixing) for name, shape, dist in draws)


# Every draw of the official AugmentPipe.forward, in its torch.rand / torch.randn call order. Rotation draws
# twice (before and after the anisotropic scaling); cutout draws its gate before its center.
DRAW_TABLE: tuple[DrawRow, ...] = (
    _rows('xflip', [('xflip_i', ('n',), UNIFORM), ('xflip_gate', ('n',), UNIFORM)])
    + _rows('rotate90', [('rotate90_i', ('n',), UNIFORM), ('rotate90_gate', ('n',), UNIFORM)])
    + _rows('xint', [('xint_t', ('n', 2), UNIFORM), ('xint_gate', ('n', 1), UNIFORM)])
    + _rows('scale', [('scale_s', ('n',), NORMAL), ('scale_gate', ('n',), UNIFORM)])
    + _rows('rotate', [('rotate_pre_theta', ('n',), UNIFORM), ('rotate_pre_gate', ('n',), UNIFORM)])
    + _rows('aniso', [('aniso_s', ('n',), NORMAL), ('aniso_gate', ('n',), UNIFORM)])
    + _rows('rotate', [('rotate_post_theta', ('n',), UNIFORM), ('rotate_post_gate', ('n',), UNIFORM)])
    + _rows('xfrac', [('xfrac_t', ('n', 2), NORMAL), ('xfrac_gate', ('n', 1), UNIFORM)])
    + _rows('brightness', [('brightness_b', ('n',), NORMAL), ('brightness_gate', ('n',), UNIFORM)])
    + _rows('contrast', [('contrast_c', ('n',), NORMAL), ('contrast_gate', ('n',), UNIFORM)])
    + _rows('lumaflip', [('lumaflip_i', ('n', 1, 1), UNIFORM), ('lumaflip_gate', ('n', 1, 1), UNIFORM)])
    + _rows('hue', [('hue_theta', ('n',), UNIFORM), ('hue_gate', ('n',), UNIFORM)], color_mixing=True)
    + _rows('saturation', [('saturation_s', ('n', 1, 1), NORMAL), ('saturation_gate', ('n', 1, 1), UNIFORM)],
            color_mixing=True)
    + _rows('imgfilter', [(f'imgfilter_band{band}_{kind}', ('n',), dist) for band in range(NUM_FILTER_BANDS)
                          for kind, dist in (('t', NORMAL), ('gate', UNIFORM))])
    + _rows('noise', [('noise_sigma', ('n', 1, 1, 1), NORMAL), ('noise_gate', ('n', 1, 1, 1), UNIFORM),
                      ('noise_n', ('n', 'c', 'h', 'w'), NORMAL)])
    + _rows('cutout', [('cutout_gate', ('n', 1, 1, 1, 1), UNIFORM), ('cutout_center', ('n', 2, 1, 1, 1), UNIFORM)])
)


def draw_specs(settings: AugmentSettings, images_shape: tuple[int, int, int, int]) -> list[DrawSpec]:
  """The draws of the official forward for NCHW ``images_shape``, in call order (``DRAW_TABLE``).

  Only enabled augmentations draw. Hue and saturation do not draw for 1-channel images. The
  noise field ``noise_n`` is drawn for every sample, and cutout draws its gate before its center.
  """
  n, c, h, w = images_shape
  dims = {'n': n, 'c': c, 'h': h, 'w': w}
  return [DrawSpec(row.name, tuple(dims.get(d, d) for d in row.shape), row.dist)
          for row in DRAW_TABLE
          if getattr(settings, row.setting) > 0 and not (row.color_mixing and c == 1)]


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

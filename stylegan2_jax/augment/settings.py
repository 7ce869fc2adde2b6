"""ADA augmentation settings: the official ``AugmentPipe`` constructor arguments and the ``--augpipe`` presets.

Names, meanings and defaults are those of ``training/augment.py`` (``AugmentPipe.__init__``) in
stylegan2-ada-pytorch; the presets are its ``train.py`` ``augpipe_specs``. Each probability
multiplier is multiplied by the overall augmentation probability ``p`` at run time.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping


@dataclasses.dataclass(frozen=True)
class AugmentSettings:
  """Which augmentations run and how strong they are (hashable: a static argument under ``jax.jit``)."""
  # Pixel blitting.
  xflip: float = 0.0  # probability multiplier for x-flip
  rotate90: float = 0.0  # probability multiplier for 90 degree rotations
  xint: float = 0.0  # probability multiplier for integer translation
  xint_max: float = 0.125  # range of integer translation, relative to image dimensions
  # General geometric transformations.
  scale: float = 0.0  # probability multiplier for isotropic scaling
  rotate: float = 0.0  # probability multiplier for arbitrary rotation
  aniso: float = 0.0  # probability multiplier for anisotropic scaling
  xfrac: float = 0.0  # probability multiplier for fractional translation
  scale_std: float = 0.2  # log2 standard deviation of isotropic scaling
  rotate_max: float = 1.0  # range of arbitrary rotation, 1 = full circle
  aniso_std: float = 0.2  # log2 standard deviation of anisotropic scaling
  xfrac_std: float = 0.125  # standard deviation of fractional translation, relative to image dimensions
  # Color transformations.
  brightness: float = 0.0  # probability multiplier for brightness
  contrast: float = 0.0  # probability multiplier for contrast
  lumaflip: float = 0.0  # probability multiplier for luma flip
  hue: float = 0.0  # probability multiplier for hue rotation
  saturation: float = 0.0  # probability multiplier for saturation
  brightness_std: float = 0.2  # standard deviation of brightness (in units of the [-1, 1] pixel range)
  contrast_std: float = 0.5  # log2 standard deviation of contrast
  hue_max: float = 1.0  # range of hue rotation, 1 = full circle
  saturation_std: float = 1.0  # log2 standard deviation of saturation
  # Image-space filtering.
  imgfilter: float = 0.0  # probability multiplier for image-space filtering
  imgfilter_bands: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)  # probability multipliers of the 4 frequency bands
  imgfilter_std: float = 1.0  # log2 standard deviation of image-space filter amplification
  # Image-space corruptions.
  noise: float = 0.0  # probability multiplier for additive RGB noise
  cutout: float = 0.0  # probability multiplier for cutout
  noise_std: float = 0.1  # standard deviation of additive RGB noise
  cutout_size: float = 0.5  # size of the cutout square, relative to image dimensions

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if field.name == 'imgfilter_bands':
        bands = tuple(float(b) for b in value)
        if len(bands) != 4:
          raise ValueError(f'AugmentSettings: imgfilter_bands needs 4 values (one per band), got {len(bands)}')
        object.__setattr__(self, field.name, bands)
      else:
        object.__setattr__(self, field.name, float(value))

  @classmethod
  def from_kwargs(cls, kwargs: Mapping[str, Any]) -> 'AugmentSettings':
    """Settings from official ``AugmentPipe`` keyword arguments (unknown names raise one clear error)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
      raise ValueError(f'AugmentSettings: unknown AugmentPipe argument(s) {unknown}; known: {sorted(names)}')
    return cls(**dict(kwargs))

  @property
  def geometric_enabled(self) -> bool:
    """Whether the geometric stage runs (it then runs for every sample, even at p = 0, as the official pipe)."""
    return any(v > 0 for v in (self.xflip, self.rotate90, self.xint, self.scale, self.rotate, self.aniso,
                               self.xfrac))

  def color_enabled(self, num_channels: int) -> bool:
    """Whether the color matrix is applied to images with ``num_channels`` channels."""
    return (self.brightness > 0 or self.contrast > 0 or self.lumaflip > 0
            or (num_channels > 1 and (self.hue > 0 or self.saturation > 0)))


# The official train.py --augpipe presets (every other argument keeps its default).
AUGPIPE_SPECS: dict[str, dict[str, float]] = {
    'blit': dict(xflip=1, rotate90=1, xint=1),
    'geom': dict(scale=1, rotate=1, aniso=1, xfrac=1),
    'color': dict(brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1),
    'filter': dict(imgfilter=1),
    'noise': dict(noise=1),
    'cutout': dict(cutout=1),
    'bg': dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1),
    'bgc': dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1, contrast=1,
                lumaflip=1, hue=1, saturation=1),
    'bgcf': dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1, contrast=1,
                 lumaflip=1, hue=1, saturation=1, imgfilter=1),
    'bgcfn': dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1, contrast=1,
                  lumaflip=1, hue=1, saturation=1, imgfilter=1, noise=1),
    'bgcfnc': dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1, contrast=1,
                   lumaflip=1, hue=1, saturation=1, imgfilter=1, noise=1, cutout=1),
}
DEFAULT_AUGPIPE = 'bgc'  # the official train.py default --augpipe


def preset(name: str = DEFAULT_AUGPIPE, **overrides: Any) -> AugmentSettings:
  """Settings of an official ``--augpipe`` preset, optionally with some arguments overridden."""
  if name not in AUGPIPE_SPECS:
    raise ValueError(f'augpipe: unknown preset {name!r}; choose one of {", ".join(AUGPIPE_SPECS)}')
  return AugmentSettings.from_kwargs({**AUGPIPE_SPECS[name], **overrides})

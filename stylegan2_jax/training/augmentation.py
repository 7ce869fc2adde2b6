"""ADA in training (official ``training_loop.py`` and ``loss.py``): what D sees and how ``p`` adapts.

With augmentation on, every image D sees (real and generated, in Gmain, Dmain and
Dreg) goes through the ADA pipe first (``stylegan2_jax.augment``) with the
probability ``p`` held in the train state. ``augment='fixed'`` keeps ``p`` at
``augment_p``. ``augment='ada'`` adjusts it every ``ada_interval`` iterations from
the sign of D's outputs on the (augmented) reals, collected in every phase that
computes them (Dmain and Dreg, as the official ``Loss/signs/real`` reports)::

    adjust = sign(mean_sign - ada_target) * (batch_size * ada_interval) / (ada_kimg * 1000)
    p = max(p + adjust, 0)

The running sum and count of the signs live in the train state too, so a run
resumed between two adjustments continues exactly. ``rt``, the overfitting
heuristic of the ADA paper, is that mean sign over a tick.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import ml_collections
import numpy as np

from stylegan2_jax.augment import preset
from stylegan2_jax.augment.settings import AugmentSettings
from stylegan2_jax.training.config import ADDED_FIELDS


@dataclasses.dataclass(frozen=True)
class TrainingAugment:
  """How a run augments what D sees (hashable: a static part of the jitted steps)."""
  pipe: AugmentSettings      # the official AugmentPipe arguments of --config.augpipe
  adaptive: bool             # True: ADA adjusts p; False: p stays at its initial value
  initial_p: float           # p at the start of a run (official augment_p)
  ada_target: float          # target of the mean sign of D(real)
  ada_interval: int          # iterations between adjustments
  ada_kimg: float            # kimg for p to move by 1

  def adjustment(self, batch_size: int) -> float:
    """How far one adjustment moves p: ``batch_size * ada_interval / (ada_kimg * 1000)``."""
    return batch_size * self.ada_interval / (self.ada_kimg * 1000)


def _setting(config: ml_collections.ConfigDict, key: str):
  """A config value, or what runs written before the key existed did (config.json of older runs)."""
  return config.get(key, ADDED_FIELDS[key])


def training_augment(config: ml_collections.ConfigDict, img_channels: int) -> TrainingAugment | None:
  """The augmentation of a config for data with ``img_channels`` channels; None for ``augment='none'``.

  Raises ValueError (one line naming the flag) when the pipe cannot augment that data.
  """
  mode = _setting(config, 'augment')
  if mode == 'none':
    return None
  pipe = preset(_setting(config, 'augpipe'))
  if pipe.color_enabled(img_channels) and img_channels not in (1, 3):
    raise ValueError(f'--config.augpipe={_setting(config, "augpipe")}: color augmentations need RGB or grayscale '
                     f'images, the dataset has {img_channels} channels; use --config.augpipe=bg (no color) or '
                     '--config.augment=none')
  return TrainingAugment(pipe=pipe, adaptive=mode == 'ada', initial_p=float(_setting(config, 'augment_p')),
                         ada_target=float(_setting(config, 'ada_target')),
                         ada_interval=int(_setting(config, 'ada_interval')),
                         ada_kimg=float(_setting(config, 'ada_kimg')))


def use_fixed_augment(config: ml_collections.ConfigDict, pipe: str, p: float) -> ml_collections.ConfigDict:
  """Sets ``config`` to augment every image D sees with the ``pipe`` preset at a fixed ``p`` (as benchmarks do)."""
  config.augment, config.augpipe, config.augment_p = 'fixed', pipe, float(p)
  return config


def state_fields(augment: TrainingAugment | None) -> dict:
  """The augmentation fields of a fresh :class:`~stylegan2_jax.training.state.TrainState` (empty without)."""
  if augment is None:
    return {}
  fields = dict(augment_p=jnp.asarray(augment.initial_p, jnp.float32))
  if augment.adaptive:
    fields['ada_stats'] = jnp.zeros([2], jnp.float32)
  return fields


def ada_adjust(p, ada_stats, augment: TrainingAugment, batch_size: int):
  """One official ADA adjustment -> (new p, cleared statistics); ``ada_stats = [sum of signs, count]``.

  The mean is compared with the target in float32 (the official code divides in
  float64); with integer sums and counts they differ only if the mean were within
  1e-7 of the target without equalling it, which needs counts above millions.
  """
  mean_sign = ada_stats[0] / ada_stats[1]
  adjust = jnp.sign(mean_sign - jnp.float32(augment.ada_target)) * augment.adjustment(batch_size)
  return jnp.maximum(p + adjust, 0.0), jnp.zeros_like(ada_stats)


def with_signs(ada_stats, mean_sign, count: int):
  """``ada_stats`` plus the signs of ``count`` real images whose mean sign is ``mean_sign``."""
  return ada_stats + jnp.stack([jnp.round(mean_sign * count), jnp.float32(count)])


def tick_rt(tick_metrics: list[dict]) -> float | None:
  """``rt``: the mean sign of D(real) over a tick's phases (each reports it for one batch), None if none did."""
  signs = [v for metrics in tick_metrics for k, v in metrics.items() if k.endswith('/signs_real')]
  return float(np.mean(signs)) if signs else None

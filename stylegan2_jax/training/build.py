"""What a training config builds: the networks (at the data's resolution, channels and labels), optimizers, loss
settings, and all of them with the augmentation and the jitted phase steps (:func:`build_training`)."""

from __future__ import annotations

import dataclasses

import jax
import ml_collections
import optax

from stylegan2_jax.losses import LossSettings
from stylegan2_jax.networks.config import discriminator_from_kwargs, generator_from_kwargs
from stylegan2_jax.networks.discriminator import Discriminator
from stylegan2_jax.networks.generator import Generator
from stylegan2_jax.training import augmentation, state as train_state
from stylegan2_jax.training.steps import TrainSteps
from stylegan2_jax.training.config import accumulation_rounds, training_config


def build_networks(config: ml_collections.ConfigDict, img_channels: int, c_dim: int = 0):
  """(G, D) for the config at the dataset's resolution, channel count and label count (blocks remat'ed per ``remat``)."""
  common = dict(img_resolution=config.resolution, img_channels=img_channels, c_dim=c_dim)
  remat = bool(config.get('remat', False))
  return (generator_from_kwargs({**config.G.to_dict(), **common}).clone(remat=remat),
          discriminator_from_kwargs({**config.D.to_dict(), **common}).clone(remat=remat))


def build_optimizers(config: ml_collections.ConfigDict):
  """The official G and D Adam, with the lazy-regularization compensation.

  As the official loop, the compensation follows the interval alone: a config
  that sets ``pl_weight=0`` or ``r1_gamma=0`` but keeps its interval still gets
  ``lr * k/(k+1)`` (the official cifar config does this); set the interval to
  None to train without it.
  """
  betas = tuple(config.adam_betas)
  D_opt = train_state.lazy_adam(config.D_lr, config.D_reg_interval, betas, config.adam_eps)
  # Which layers freeze depends on the resolution and architecture, not on the data's channels or labels.
  shape = dict(img_resolution=config.resolution, img_channels=3, c_dim=0)
  frozen = discriminator_from_kwargs({**config.D.to_dict(), **shape}).frozen_layers()
  if frozen:  # freezeD: the first D layers keep their (e.g. pretrained) weights
    D_opt = optax.chain(D_opt, optax.masked(optax.set_to_zero(), lambda params: frozen_mask(params, frozen)))
  return train_state.lazy_adam(config.G_lr, config.G_reg_interval, betas, config.adam_eps), D_opt


def frozen_mask(params, frozen_layers) -> dict:
  """True for every parameter of the layers ``frozen_layers`` (names like ``b64.conv0``)."""
  frozen = set(frozen_layers)
  return jax.tree_util.tree_map_with_path(
      lambda path, _: '.'.join(str(getattr(k, 'key', k)) for k in path[:2]) in frozen, params)


def loss_settings(config: ml_collections.ConfigDict, num_devices: int) -> LossSettings:
  """The step hyperparameters of a config."""
  return LossSettings(batch_size=config.batch_size, batch_rounds=accumulation_rounds(config, num_devices),
                      r1_gamma=config.r1_gamma, pl_weight=config.pl_weight,
                      pl_decay=config.pl_decay, pl_batch_shrink=config.pl_batch_shrink,
                      style_mixing_prob=config.style_mixing_prob, G_reg_interval=config.G_reg_interval,
                      D_reg_interval=config.D_reg_interval, ema_kimg=config.ema_kimg, ema_rampup=config.ema_rampup,
                      mbstd_shards=config.mbstd_shards or num_devices,
                      sequential_terms=bool(config.get('sequential_terms', True)))


def default_loss_settings(batch_size: int, num_devices: int = 1, **overrides) -> LossSettings:
  """The training config's defaults as step settings (for a global ``batch_size``), with ``overrides``."""
  config = training_config()
  config.batch_size = batch_size
  return dataclasses.replace(loss_settings(config, num_devices), **overrides)


@dataclasses.dataclass(frozen=True)
class Training:
  """What the trainer builds from a config before it has a state: networks, optimizers, augmentation, phase steps."""
  G: Generator
  D: Discriminator
  G_opt: optax.GradientTransformation
  D_opt: optax.GradientTransformation
  augment: augmentation.TrainingAugment | None
  steps: TrainSteps

  def create_state(self, key: jax.Array, init=None) -> train_state.TrainState:
    """A new state from ``key`` (``init``: optional initial G, D and G_ema variables); jit it with the shardings."""
    return train_state.create_train_state(self.G, self.D, self.G_opt, self.D_opt, key, *(init or ()),
                                          augment_fields=augmentation.state_fields(self.augment))

  def abstract_state(self, sharding) -> train_state.TrainState:
    """The state's shapes, dtypes and ``sharding`` without computing it (to restore or to compile into)."""
    return train_state.abstract_train_state(self.G, self.D, self.G_opt, self.D_opt, sharding,
                                            augmentation.state_fields(self.augment))


def build_training(config: ml_collections.ConfigDict, mesh, img_channels: int, c_dim: int = 0) -> Training:
  """The trainer's networks, optimizers, augmentation and jitted phase steps for ``config`` on ``mesh``."""
  G, D = build_networks(config, img_channels, c_dim)
  G_opt, D_opt = build_optimizers(config)
  augment = augmentation.training_augment(config, img_channels)
  steps = TrainSteps(G, D, G_opt, D_opt, loss_settings(config, mesh.size), mesh, augment)
  return Training(G, D, G_opt, D_opt, augment, steps)

"""The training hyperparameters every config starts from (official names; units in the comments), and what they build.

Config files (``configs/*.py``) call :func:`training_config` and override what
they need; every field can be overridden on the command line as
``--config.r1_gamma=10``.
"""

from __future__ import annotations

import jax
import ml_collections
import optax

from stylegan2_jax import state as train_state
from stylegan2_jax.networks.config import (discriminator_config, discriminator_from_kwargs, generator_config,
                                           generator_from_kwargs)
from stylegan2_jax.train_steps import LossSettings

# Fields a resumed run may change; every other field must equal the run's saved config.
RESUMABLE_CHANGES = ('batch_gpu', 'total_kimg', 'kimg_per_tick', 'image_kimg', 'checkpoint_kimg', 'keep_checkpoints',
                     'init_from', 'grid_seed', 'data_dir', 'data_threads', 'data_prefetch', 'metrics', 'metrics_num_gen',
                     'metrics_batch', 'inception', 'vgg16', 'lpips')


def training_config(resolution: int = 256) -> ml_collections.ConfigDict:
  """Official StyleGAN2 defaults (config F losses; the network sizes are the config's business)."""
  return ml_collections.ConfigDict(dict(
      seed=0,                    # seeds initialization, latents, noise and data order
      dataset='demo_mnist',      # a name from stylegan2_jax.data.datasets.DATASETS or a prepared dataset's directory
      data_dir='',               # where named datasets live ('' = $TFDS_DATA_DIR or ~/tensorflow_datasets)
      data_threads=8,            # reader threads decoding images ahead of the training step
      data_prefetch=2,           # batches read ahead
      resolution=resolution,     # image resolution, a power of two
      conditional=False,         # train on the dataset's labels
      xflip=False,               # add x-flipped copies of the images (randomly, per sample)
      batch_size=32,             # global batch, split over all devices (official --batch)
      batch_gpu=0,               # images per device in one gradient-accumulation round (official --batch-gpu);
                                 # 0 = batch_size / devices (no accumulation); smaller saves memory
      total_kimg=25000.0,        # training length, in thousands of real images shown
      G=generator_config(resolution),
      D=discriminator_config(resolution),
      G_lr=0.0025,               # Adam learning rate of G
      D_lr=0.0025,               # Adam learning rate of D
      adam_betas=(0.0, 0.99),    # Adam betas of both networks
      adam_eps=1e-8,
      r1_gamma=10.0,             # R1 weight; 0 disables R1
      pl_weight=2.0,             # path-length weight; 0 disables it
      pl_decay=0.01,             # decay of the path-length mean
      pl_batch_shrink=2,         # path length runs on batch_size // pl_batch_shrink
      style_mixing_prob=0.9,     # probability of style-mixing regularization
      G_reg_interval=ml_collections.FieldReference(4, field_type=int),   # lazy path length every k steps, None = each step
      D_reg_interval=ml_collections.FieldReference(16, field_type=int),  # lazy R1 every k steps, None = each step
      ema_kimg=10.0,             # half-life of the G EMA, in kimg
      ema_rampup=ml_collections.FieldReference(None, field_type=float),  # EMA ramp-up ratio, None = off
      mbstd_shards=0,            # minibatch-stddev groups stay inside this many batch slices; 0 = one per device
      kimg_per_tick=4.0,         # progress is logged every tick
      image_kimg=50.0,           # a sample grid of G_ema is written every this many kimg (and at the end)
      checkpoint_kimg=50.0,      # a checkpoint is written every this many kimg (and at the end, and on SIGTERM)
      keep_checkpoints=3,        # how many checkpoints to keep
      grid_rows=4,               # sample grid layout
      grid_cols=8,
      grid_seed=0,               # the grid's latents: np.random.RandomState(grid_seed)
      init_from='',              # start from this checkpoint (a run's workdir) or official .pkl (weights only)
      metrics='',                # metrics of G_ema at every checkpoint, e.g. 'fid50k_full,pr50k3_full' (first ranks)
      metrics_num_gen=0,         # generated images per metric; 0 = the metric's own (50k)
      metrics_batch=64,          # images per feature-network step, over all devices
      inception='',              # pytorch-fid pt_inception-2015-12-05-*.pth (fid50k_full, kid50k_full, is50k)
      vgg16='',                  # torchvision vgg16-397923af.pth (pr50k3_full)
      lpips='',                  # lpips heads vgg.pth (trunk from vgg16) or .npz of the lpips VGG state_dict (PPL)
  ))


def build_networks(config: ml_collections.ConfigDict, img_channels: int, c_dim: int = 0):
  """(G, D) for the config at the dataset's resolution, channel count and label count."""
  common = dict(img_resolution=config.resolution, img_channels=img_channels, c_dim=c_dim)
  return (generator_from_kwargs({**config.G.to_dict(), **common}),
          discriminator_from_kwargs({**config.D.to_dict(), **common}))


def build_optimizers(config: ml_collections.ConfigDict):
  """The official G and D Adam, with the lazy-regularization compensation.

  As the official loop, the compensation follows the interval alone: a config
  that sets ``pl_weight=0`` or ``r1_gamma=0`` but keeps its interval still gets
  ``lr * k/(k+1)`` (the official cifar config does this); set the interval to
  None to train without it.
  """
  betas = tuple(config.adam_betas)
  D_opt = train_state.lazy_adam(config.D_lr, config.D_reg_interval, betas, config.adam_eps)
  frozen = discriminator_from_kwargs({**config.D.to_dict(), 'img_resolution': config.resolution}).frozen_layers()
  if frozen:  # freezeD: the first D layers keep their (e.g. pretrained) weights
    D_opt = optax.chain(D_opt, optax.masked(optax.set_to_zero(), lambda params: frozen_mask(params, frozen)))
  return train_state.lazy_adam(config.G_lr, config.G_reg_interval, betas, config.adam_eps), D_opt


def frozen_mask(params, frozen_layers) -> dict:
  """True for every parameter of the layers ``frozen_layers`` (names like ``b64.conv0``)."""
  frozen = set(frozen_layers)
  return jax.tree_util.tree_map_with_path(
      lambda path, _: '.'.join(str(getattr(k, 'key', k)) for k in path[:2]) in frozen, params)


def accumulation_rounds(config: ml_collections.ConfigDict, num_devices: int) -> int:
  """Gradient-accumulation rounds per phase: ``batch_size // (batch_gpu * devices)`` (1 without ``batch_gpu``)."""
  per_device = config.batch_size // num_devices
  return per_device // config.batch_gpu if config.batch_gpu else 1


def loss_settings(config: ml_collections.ConfigDict, num_devices: int) -> LossSettings:
  """The step hyperparameters of a config."""
  return LossSettings(batch_size=config.batch_size, batch_rounds=accumulation_rounds(config, num_devices),
                      r1_gamma=config.r1_gamma, pl_weight=config.pl_weight,
                      pl_decay=config.pl_decay, pl_batch_shrink=config.pl_batch_shrink,
                      style_mixing_prob=config.style_mixing_prob, G_reg_interval=config.G_reg_interval,
                      D_reg_interval=config.D_reg_interval, ema_kimg=config.ema_kimg, ema_rampup=config.ema_rampup,
                      mbstd_shards=config.mbstd_shards or num_devices)

"""The official constructor defaults of G and D as ml_collections configs (imports nothing but ml_collections).

Config files build on these; :mod:`stylegan2_jax.networks.config` turns them
into modules. Keep this module free of jax and flax so that reading a config
file stays cheap.
"""

from __future__ import annotations

import ml_collections

ARCHITECTURES = ('orig', 'skip', 'resnet')  # G and D architectures of the paper (Figure 7)


def generator_config(img_resolution: int = 1024, **top) -> ml_collections.ConfigDict:
  """Generator hyperparameters with the official defaults (config F at 1024 unless told otherwise)."""
  cfg = ml_collections.ConfigDict(dict(
      z_dim=512,                 # input latent (Z) dimensionality
      c_dim=0,                   # conditioning label (C) dimensionality, 0 = unconditional
      w_dim=512,                 # intermediate latent (W) dimensionality
      img_resolution=img_resolution,  # output resolution, a power of two
      img_channels=3,            # number of output color channels
      mapping_kwargs=dict(
          num_layers=8,          # mapping network depth
          lr_multiplier=0.01,    # learning-rate multiplier of the mapping layers
          w_avg_beta=0.995,      # decay of the tracked average w (for truncation)
      ),
      synthesis_kwargs=dict(
          channel_base=32768,    # channels at resolution r: min(channel_base // r, channel_max)
          channel_max=512,
          architecture='skip',   # 'orig', 'skip' or 'resnet'
          num_fp16_res=0,        # run the N highest resolutions in reduced precision
          fp16_dtype='float16',  # that precision: 'float16' (official) or 'bfloat16'
          conv_clamp=ml_collections.FieldReference(None, field_type=float),  # activation clamp, 256 with fp16
          use_noise=True,        # per-pixel noise inputs
      ),
  ))
  cfg.update(top)
  return cfg


def discriminator_config(img_resolution: int = 1024, **top) -> ml_collections.ConfigDict:
  """Discriminator hyperparameters with the official defaults."""
  cfg = ml_collections.ConfigDict(dict(
      c_dim=0,
      img_resolution=img_resolution,
      img_channels=3,
      architecture='resnet',     # 'orig', 'skip' or 'resnet'
      channel_base=32768,
      channel_max=512,
      num_fp16_res=0,
      fp16_dtype='float16',
      conv_clamp=ml_collections.FieldReference(None, field_type=float),
      cmap_dim=ml_collections.FieldReference(None, field_type=int),  # label embedding size, None = channels at 4x4
      block_kwargs=dict(
          freeze_layers=0,       # freeze the first N conv layers, from the top resolution down (official --freezed)
      ),
      epilogue_kwargs=dict(
          mbstd_group_size=4,    # samples per minibatch-stddev group
          mbstd_num_channels=1,  # minibatch-stddev features, 0 = off
      ),
  ))
  cfg.update(top)
  return cfg

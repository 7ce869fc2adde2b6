"""The official hyperparameter sets the config files are made of.

- :data:`ADA_SPECS`: ``stylegan2-ada-pytorch`` ``train.py --cfg`` presets (paper256, paper512,
  paper1024, stylegan2, cifar) and its ``auto`` rule;
- :func:`config_f`: the StyleGAN2 paper's config F (the original TensorFlow ``run_training.py``);
- :func:`set_precision`: float32 (these presets' default) or the official mixed precision (``precision=bf16``);
- :func:`parse_arg`: ``"res=256,tiny"`` -> ``{'res': '256', 'tiny': True}`` for ``get_config(arg)``;
- :func:`make_tiny`: the seconds-long local version of any config (16x16, few channels, the embedded digits).
"""

from __future__ import annotations

import ml_collections

from stylegan2_jax.training.config import training_config

# name: (batch, mbstd group, channel_base, lr, r1_gamma, ema_kimg, ema_rampup, mapping layers, total_kimg)
ADA_SPECS = {
    'paper256': (64, 8, 16384, 0.0025, 1.0, 20.0, None, 8, 25000),
    'paper512': (64, 8, 32768, 0.0025, 0.5, 20.0, None, 8, 25000),
    'paper1024': (32, 4, 32768, 0.002, 2.0, 10.0, None, 8, 25000),
    'stylegan2': (32, 4, 32768, 0.002, 10.0, 10.0, None, 8, 25000),
    'cifar': (64, 32, 32768, 0.0025, 0.01, 500.0, 0.05, 2, 100000),
}


def ada_spec(name: str, resolution: int, gpus: int = 8) -> tuple:
  """An ``ADA_SPECS`` entry, or the official ``auto`` rule for ``resolution`` on ``gpus`` GPUs."""
  if name != 'auto':
    return ADA_SPECS[name]
  batch = max(min(gpus * min(4096 // resolution, 32), 64), gpus)
  return (batch, min(batch // gpus, 4), 32768 if resolution >= 512 else 16384,
          0.002 if resolution >= 1024 else 0.0025, 0.0002 * resolution ** 2 / batch, batch * 10 / 32, 0.05, 2,
          25000)


def apply_spec(config: ml_collections.ConfigDict, spec: tuple) -> ml_collections.ConfigDict:
  """Sets batch, minibatch-std group, network width, learning rates, R1 gamma, EMA and mapping depth."""
  batch, mbstd, channel_base, lr, gamma, ema, rampup, map_layers, kimg = spec
  config.batch_size, config.total_kimg = batch, float(kimg)
  config.G.synthesis_kwargs.channel_base = config.D.channel_base = channel_base
  config.G.synthesis_kwargs.channel_max = config.D.channel_max = 512
  config.G.mapping_kwargs.num_layers = map_layers
  config.D.epilogue_kwargs.mbstd_group_size = mbstd
  config.G_lr = config.D_lr = lr
  config.r1_gamma, config.ema_kimg, config.ema_rampup = float(gamma), float(ema), rampup
  return config


def config_f(resolution: int) -> ml_collections.ConfigDict:
  """StyleGAN2 config F: channel_base 32768, batch 32, lr 0.002, gamma 10, EMA 10 kimg, mixing 0.9, PL 2."""
  config = training_config(resolution)
  config.augment = 'none'  # the StyleGAN2 paper trained without augmentation
  return apply_spec(config, ADA_SPECS['stylegan2'])


PRECISIONS = ('fp32', 'bf16', 'fp16')


def set_precision(config: ml_collections.ConfigDict, precision: str) -> ml_collections.ConfigDict:
  """``fp32``: everything float32 (the presets' default, as the paper's config F and the official ``--fp32``).

  ``bf16`` / ``fp16``: what the official ``train.py`` turns on for every
  ``--cfg``: the top 4 resolutions of G and D in reduced precision
  (``num_fp16_res=4``, bfloat16 for TPUs or the official float16) with
  ``conv_clamp=256``. On TPU, bf16 halves the activation bytes of those
  resolutions, which is what lets config F at 1024 fit a 16 GB chip (see the
  README's accelerator figures).
  """
  if precision not in PRECISIONS:
    raise ValueError(f'precision={precision!r}: choose one of {", ".join(PRECISIONS)}')
  low = precision != 'fp32'
  for net in (config.G.synthesis_kwargs, config.D):
    net.num_fp16_res = 4 if low else 0
    net.conv_clamp = 256.0 if low else None
    if low:
      net.fp16_dtype = 'bfloat16' if precision == 'bf16' else 'float16'
  return config


def parse_arg(arg: str, allowed: dict[str, tuple]) -> dict:
  """``'key=value,...,tiny'`` -> dict; ``allowed`` maps each key to its permitted values (empty = any)."""
  parsed = {}
  for item in filter(None, (part.strip() for part in arg.split(','))):
    key, _, value = item.partition('=')
    if key == 'tiny' and not value:
      parsed['tiny'] = True
      continue
    if key not in allowed or not value:
      raise ValueError(f'unknown config argument {item!r}; use {", ".join(f"{k}=..." for k in allowed)} and/or tiny')
    if allowed[key] and value not in allowed[key]:
      raise ValueError(f'{key}={value!r}: choose one of {", ".join(allowed[key])}')
    parsed[key] = value
  return parsed


def make_tiny(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The config's seconds-long local version: 16x16 on the embedded digits, tiny networks, 64 images."""
  config.dataset, config.resolution = 'demo_mnist', 16
  config.conditional = False
  config.batch_size, config.total_kimg = 8, 0.064
  config.G.update(z_dim=32, w_dim=32)
  config.G.synthesis_kwargs.update(channel_base=256, channel_max=32)
  config.D.update(channel_base=256, channel_max=32)
  config.D.epilogue_kwargs.mbstd_group_size = 4
  config.kimg_per_tick, config.image_kimg, config.checkpoint_kimg = 0.016, 0.032, 0.032
  config.grid_rows, config.grid_cols = 2, 4
  return config

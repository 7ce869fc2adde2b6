"""Network hyperparameters: official constructor kwargs <-> ml_collections configs <-> Flax modules.

The config layout mirrors the official constructors (``Generator(z_dim, c_dim,
w_dim, img_resolution, img_channels, mapping_kwargs, synthesis_kwargs)`` and
``Discriminator(c_dim, img_resolution, img_channels, ..., block_kwargs,
mapping_kwargs, epilogue_kwargs)``) with the official defaults, so an official
``init_kwargs`` dict and a config are interchangeable, e.g.
``--config.G.synthesis_kwargs.channel_base=16384``. The defaults themselves
live in :mod:`stylegan2_jax.networks.defaults` (no jax there).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import ml_collections
from flax.core import FrozenDict

from stylegan2_jax.networks.discriminator import Discriminator
from stylegan2_jax.networks.generator import Generator

MAPPING_KEYS = ('num_layers', 'embed_features', 'layer_features', 'activation', 'lr_multiplier', 'w_avg_beta')
SYNTHESIS_KEYS = ('channel_base', 'channel_max', 'num_fp16_res', 'fp16_dtype', 'architecture', 'resample_filter',
                  'conv_clamp', 'kernel_size', 'use_noise', 'activation', 'fp16_channels_last')
D_TOP_KEYS = ('c_dim', 'img_resolution', 'img_channels', 'architecture', 'channel_base', 'channel_max',
              'num_fp16_res', 'conv_clamp', 'cmap_dim', 'block_kwargs', 'mapping_kwargs', 'epilogue_kwargs',
              'fp16_dtype')
D_BLOCK_KEYS = ('activation', 'resample_filter', 'fp16_channels_last', 'freeze_layers')
D_EPILOGUE_KEYS = ('mbstd_group_size', 'mbstd_num_channels', 'activation')
G_TOP_KEYS = ('z_dim', 'c_dim', 'w_dim', 'img_resolution', 'img_channels', 'mapping_kwargs', 'synthesis_kwargs')


def _plain(value: Any) -> Any:
  """Config values -> hashable plain data (lists become tuples, dicts FrozenDicts)."""
  if isinstance(value, ml_collections.ConfigDict):
    value = value.to_dict()
  if isinstance(value, Mapping):
    return FrozenDict({k: _plain(v) for k, v in dict(value).items()})
  if isinstance(value, (list, tuple)):
    return tuple(_plain(v) for v in value)
  return value


def _check_keys(where: str, kwargs: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
  unknown = sorted(set(kwargs) - set(allowed))
  if unknown:
    raise ValueError(f'unsupported {where} argument(s) {unknown}; supported: {list(allowed)}')


def generator_from_kwargs(kwargs: Mapping[str, Any], **overrides) -> Generator:
  """Builds our ``Generator`` from official-style constructor kwargs (dict or ConfigDict).

  Accepts both layouts NVIDIA used: stylegan2-ada-pytorch nests the synthesis
  arguments in ``synthesis_kwargs``; stylegan3's ``networks_stylegan2`` takes them
  flat at the top level (where ``num_fp16_res`` defaults to 4). ``overrides``
  replace synthesis kwargs, e.g. ``num_fp16_res=0`` for float32 inference.
  """
  kwargs = dict(_plain(kwargs))
  synthesis = dict(kwargs.pop('synthesis_kwargs', {}) or {})
  flat = {k: kwargs.pop(k) for k in list(kwargs) if k in SYNTHESIS_KEYS + ('fused_modconv_default',)}
  if flat:
    synthesis = {'num_fp16_res': 4, **flat, **synthesis}
  # fused vs. non-fused modulated convolution is a PyTorch speed choice; the numbers are the same.
  synthesis.pop('fused_modconv_default', None)
  _check_keys('Generator', kwargs, G_TOP_KEYS)
  mapping = dict(kwargs.pop('mapping_kwargs', {}) or {})
  synthesis.update(overrides)
  _check_keys('mapping_kwargs', mapping, MAPPING_KEYS)
  _check_keys('synthesis_kwargs', synthesis, SYNTHESIS_KEYS)
  return Generator(mapping_kwargs=FrozenDict(mapping), synthesis_kwargs=FrozenDict(synthesis), **kwargs)


def discriminator_from_kwargs(kwargs: Mapping[str, Any], **overrides) -> Discriminator:
  """Builds our ``Discriminator`` from official-style constructor kwargs (dict or ConfigDict)."""
  kwargs = dict(_plain(kwargs))
  kwargs.update(overrides)
  _check_keys('Discriminator', kwargs, D_TOP_KEYS)
  _check_keys('block_kwargs', kwargs.get('block_kwargs', {}) or {}, D_BLOCK_KEYS)
  _check_keys('epilogue_kwargs', kwargs.get('epilogue_kwargs', {}) or {}, D_EPILOGUE_KEYS)
  _check_keys('mapping_kwargs', kwargs.get('mapping_kwargs', {}) or {}, MAPPING_KEYS)
  for key in ('block_kwargs', 'mapping_kwargs', 'epilogue_kwargs'):
    kwargs[key] = FrozenDict(kwargs.get(key) or {})
  return Discriminator(**kwargs)


def module_kwargs(module) -> dict[str, Any]:
  """The constructor arguments of a G or D as plain JSON-able data (official names)."""
  def plain(value):
    if isinstance(value, (dict, FrozenDict)):
      return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
      return [plain(v) for v in value]
    return value
  return {f.name: plain(getattr(module, f.name)) for f in dataclasses.fields(module)
          if f.name not in ('parent', 'name')}


def init_generator(G: Generator, key: jax.Array, batch_size: int = 1) -> dict:
  """Initializes G's variables ('params' and 'buffers') the way the official constructor does."""
  z = jnp.zeros((batch_size, G.z_dim), jnp.float32)
  c = jnp.zeros((batch_size, G.c_dim), jnp.float32)
  params_key, noise_key = jax.random.split(key)
  return dict(G.init({'params': params_key, 'noise': noise_key}, z, c))


def abstract_variables(module: Generator | Discriminator) -> dict:
  """Shapes and dtypes of a network's variables without computing them (``jax.eval_shape`` of init)."""
  init = init_generator if isinstance(module, Generator) else init_discriminator
  return jax.eval_shape(lambda: init(module, jax.random.PRNGKey(0)))


def init_discriminator(D: Discriminator, key: jax.Array, batch_size: int = 1) -> dict:
  """Initializes D's parameters the way the official constructor does."""
  img = jnp.zeros((batch_size, D.img_channels, D.img_resolution, D.img_resolution), jnp.float32)
  c = jnp.zeros((batch_size, D.c_dim), jnp.float32)
  return dict(D.init({'params': key}, img, c))

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


# Module fields that choose how, not what, a network computes (not official constructor arguments):
# never written into networks.json or exports, so a network reads back the same whatever they were.
COMPUTE_OPTIONS = ('remat',)

MAX_KWARGS_VALUES = 10_000  # values in one network's constructor kwargs (official ones hold about 40)
MAX_KWARGS_DEPTH = 16       # their nesting (official ones nest 2 deep)


def _plain(value: Any) -> Any:
  """Config values -> hashable plain data (lists become tuples, dicts FrozenDicts).

  The kwargs may come from a file: a structure whose parts are shared (tiny in the
  file, exponential as a tree) is refused once it exceeds ``MAX_KWARGS_VALUES``
  values or ``MAX_KWARGS_DEPTH`` levels, with a ValueError, instead of being walked.
  """
  count = [0]

  def plain(value, depth):
    count[0] += 1
    if count[0] > MAX_KWARGS_VALUES or depth > MAX_KWARGS_DEPTH:
      raise ValueError(f'network constructor kwargs hold more than {MAX_KWARGS_VALUES} values or nest deeper than '
                       f'{MAX_KWARGS_DEPTH} levels; these are not StyleGAN2 hyperparameters')
    if isinstance(value, ml_collections.ConfigDict):
      value = value.to_dict()
    if isinstance(value, Mapping):
      return FrozenDict({k: plain(v, depth + 1) for k, v in dict(value).items()})
    if isinstance(value, (list, tuple)):
      return tuple(plain(v, depth + 1) for v in value)
    return value
  return plain(value, 0)


def _check_keys(where: str, kwargs: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
  if not isinstance(kwargs, Mapping):
    raise ValueError(f'{where} arguments are a {type(kwargs).__name__}, not a dict')
  unknown = sorted(repr(k)[:60] for k in kwargs if k not in allowed)  # keys from a file may be of any type
  if unknown:
    raise ValueError(f'unsupported {where} argument(s) [{", ".join(unknown)}]; supported: {list(allowed)}')


_MAX_DIM = 1 << 20


def _count(low: int, none: bool = False):
  return lambda v: (v is None and none) or (type(v) is int and low <= v <= _MAX_DIM)


def _number(v) -> bool:
  return type(v) in (int, float)


_KWARG_TYPES = {  # what each official constructor argument may be; checked before building a network
    'z_dim': ('an integer >= 0', _count(0)), 'c_dim': ('an integer >= 0', _count(0)),
    'w_dim': ('an integer >= 1', _count(1)), 'img_channels': ('an integer >= 1', _count(1)),
    'img_resolution': ('a power of two >= 4', lambda v: type(v) is int and 4 <= v <= 1 << 16 and v & (v - 1) == 0),
    'channel_base': ('an integer >= 1', _count(1)), 'channel_max': ('an integer >= 1', _count(1)),
    'num_fp16_res': ('an integer >= 0', _count(0)), 'num_layers': ('an integer >= 0', _count(0)),
    'embed_features': ('an integer >= 0 or None', _count(0, none=True)),
    'layer_features': ('an integer >= 0 or None', _count(0, none=True)),
    'cmap_dim': ('an integer >= 0 or None', _count(0, none=True)),
    'kernel_size': ('an integer >= 1', _count(1)), 'freeze_layers': ('an integer >= 0', _count(0)),
    'mbstd_group_size': ('an integer >= 1 or None', _count(1, none=True)),
    'mbstd_num_channels': ('an integer >= 0', _count(0)),
    'architecture': ("'orig', 'skip' or 'resnet'", lambda v: v in ('orig', 'skip', 'resnet')),
    'activation': ('a string', lambda v: isinstance(v, str)), 'fp16_dtype': ('a string', lambda v: isinstance(v, str)),
    'lr_multiplier': ('a number', _number), 'w_avg_beta': ('a number or None', lambda v: v is None or _number(v)),
    'conv_clamp': ('a number or None', lambda v: v is None or _number(v)),
    'use_noise': ('true or false', lambda v: type(v) is bool),
    'fp16_channels_last': ('true or false', lambda v: type(v) is bool),
    'resample_filter': ('a list of at most 16 numbers', lambda v: isinstance(v, tuple) and 0 < len(v) <= 16
                        and all(_number(x) for x in v)),
}


def _sub_kwargs(where: str, value) -> dict:
  value = value or {}
  if not isinstance(value, Mapping):
    raise ValueError(f'{where} is a {type(value).__name__}, not a dict')
  return dict(value)


def _check_types(where: str, kwargs: Mapping[str, Any]) -> None:
  """Refuses constructor arguments of the wrong type or range with one ValueError naming the argument."""
  for key, value in kwargs.items():
    if key in _KWARG_TYPES and not _KWARG_TYPES[key][1](value):
      shown = repr(value) if isinstance(value, (int, float, str, type(None))) else f'a {type(value).__name__}'
      raise ValueError(f'{where} argument {key} must be {_KWARG_TYPES[key][0]}, got {shown[:60]}')


def generator_from_kwargs(kwargs: Mapping[str, Any], **overrides) -> Generator:
  """Builds our ``Generator`` from official-style constructor kwargs (dict or ConfigDict).

  Accepts both layouts NVIDIA used: stylegan2-ada-pytorch nests the synthesis
  arguments in ``synthesis_kwargs``; stylegan3's ``networks_stylegan2`` takes them
  flat at the top level (where ``num_fp16_res`` defaults to 4). ``overrides``
  replace synthesis kwargs, e.g. ``num_fp16_res=0`` for float32 inference.
  """
  kwargs = _plain(kwargs)
  _check_keys('Generator', kwargs, G_TOP_KEYS + SYNTHESIS_KEYS + ('fused_modconv_default',))
  kwargs = dict(kwargs)
  synthesis = _sub_kwargs('synthesis_kwargs', kwargs.pop('synthesis_kwargs', {}))
  flat = {k: kwargs.pop(k) for k in list(kwargs) if k in SYNTHESIS_KEYS + ('fused_modconv_default',)}
  if flat:
    synthesis = {'num_fp16_res': 4, **flat, **synthesis}
  # fused vs. non-fused modulated convolution is a PyTorch speed choice; the numbers are the same.
  synthesis.pop('fused_modconv_default', None)
  _check_keys('Generator', kwargs, G_TOP_KEYS)
  mapping = _sub_kwargs('mapping_kwargs', kwargs.pop('mapping_kwargs', {}))
  synthesis.update(overrides)
  _check_keys('mapping_kwargs', mapping, MAPPING_KEYS)
  _check_keys('synthesis_kwargs', synthesis, SYNTHESIS_KEYS)
  for where, part in (('Generator', kwargs), ('mapping_kwargs', mapping), ('synthesis_kwargs', synthesis)):
    _check_types(where, part)
  missing = [k for k in ('z_dim', 'c_dim', 'w_dim', 'img_resolution', 'img_channels') if k not in kwargs]
  if missing:
    raise ValueError(f'Generator arguments {missing} are missing')
  return Generator(mapping_kwargs=FrozenDict(mapping), synthesis_kwargs=FrozenDict(synthesis), **kwargs)


def discriminator_from_kwargs(kwargs: Mapping[str, Any], **overrides) -> Discriminator:
  """Builds our ``Discriminator`` from official-style constructor kwargs (dict or ConfigDict)."""
  kwargs = _plain(kwargs)
  _check_keys('Discriminator', kwargs, D_TOP_KEYS)
  kwargs = dict(kwargs)
  kwargs.update(overrides)
  _check_types('Discriminator', kwargs)
  missing = [k for k in ('c_dim', 'img_resolution', 'img_channels') if k not in kwargs]
  if missing:
    raise ValueError(f'Discriminator arguments {missing} are missing')
  for key, allowed in (('block_kwargs', D_BLOCK_KEYS), ('epilogue_kwargs', D_EPILOGUE_KEYS),
                       ('mapping_kwargs', MAPPING_KEYS)):
    _check_keys(key, kwargs.get(key, {}) or {}, allowed)
    _check_types(key, kwargs.get(key, {}) or {})
  for key in ('block_kwargs', 'mapping_kwargs', 'epilogue_kwargs'):
    kwargs[key] = FrozenDict(kwargs.get(key) or {})
  return Discriminator(**kwargs)


def module_kwargs(module) -> dict[str, Any]:
  """The constructor arguments of a G or D as plain JSON-able data (official names; no :data:`COMPUTE_OPTIONS`)."""
  def plain(value):
    if isinstance(value, (dict, FrozenDict)):
      return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
      return [plain(v) for v in value]
    return value
  return {f.name: plain(getattr(module, f.name)) for f in dataclasses.fields(module)
          if f.name not in ('parent', 'name') + COMPUTE_OPTIONS}


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

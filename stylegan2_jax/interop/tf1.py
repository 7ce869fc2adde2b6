"""NVIDIA's original TensorFlow StyleGAN2 pickles (``(G, D, Gs)`` of ``dnnlib.tflib.network.Network``) -> ours.

Read by ``official_pickle.read_pickle`` (no TensorFlow, no code from the file).
Supported: ``G_main`` with ``G_mapping`` and ``G_synthesis_stylegan2`` and
``D_stylegan2``, any architecture (paper configs B-F; E and F are the skip G and
resnet D), unconditional. The layout conversions, from the TF graph to the
stylegan2-ada-pytorch names our networks use:

* dense weights ``[in, out]`` -> ``[out, in]``; conv weights ``[kh, kw, in, out]`` -> ``[out, in, kh, kw]``;
* kernels of upsampling convolutions (``Conv0_up``, ``Skip``) flipped, since TF runs
  them as a transposed convolution of the flipped kernel;
* style biases: TF adds 1 at run time, PyTorch stores it (``affine.bias = mod_bias + 1``);
* ``Gs``'s ``dlatent_avg`` is ``mapping.w_avg``; ``noise{i}`` are the ``noise_const`` buffers.

TF channel counts are ``nf(stage) = clip(fmap_base / 2**(stage * fmap_decay), fmap_min,
fmap_max)``, i.e. ``channel_base = 2 * fmap_base`` when ``fmap_decay`` is 1.
"""

from __future__ import annotations

import re

import numpy as np

from stylegan2_jax.networks.handle import LoadedNetwork, UnsupportedNetworkError
from stylegan2_jax.interop.official_pickle import TF1Network
from stylegan2_jax.interop.state_dict import flatten_variables, from_state_dict
from stylegan2_jax.networks.config import abstract_variables, discriminator_from_kwargs, generator_from_kwargs

# Defaults of the TF build functions, for keys a pickle's static_kwargs leave out.
_SYNTHESIS_DEFAULTS = dict(dlatent_size=512, num_channels=3, resolution=1024, fmap_base=16 << 10, fmap_decay=1.0,
                           fmap_min=1, fmap_max=512, architecture='skip', nonlinearity='lrelu',
                           resample_kernel=[1, 3, 3, 1])
_MAPPING_DEFAULTS = dict(latent_size=512, label_size=0, dlatent_size=512, mapping_layers=8, mapping_fmaps=512,
                         mapping_lrmul=0.01, mapping_nonlinearity='lrelu', normalize_latents=True)
_D_DEFAULTS = dict(num_channels=3, resolution=1024, label_size=0, fmap_base=16 << 10, fmap_decay=1.0, fmap_min=1,
                   fmap_max=512, architecture='resnet', nonlinearity='lrelu', mbstd_group_size=4,
                   mbstd_num_features=1, resample_kernel=[1, 3, 3, 1])
# G_main's progressive-growing level of detail (a scalar beside dlatent_avg), unused by StyleGAN2.
_IGNORED_VARIABLES = ('G/lod',)


def _dense(w):
  return np.asarray(w).T


def _conv(w, flip=False):
  w = np.asarray(w)
  return (w[::-1, ::-1] if flip else w).transpose(3, 2, 0, 1)


def _check_func(net: TF1Network, *names: str) -> None:
  if net.build_func_name not in names:
    raise UnsupportedNetworkError(
        f'TF1 network {net.name!r} is built by {net.build_func_name!r}; supported: {list(names)} '
        '(the original StyleGAN2 release, configs B-F)')


def _same_kind(value, default) -> bool:
  """True if a static kwarg from the file has the kind of value its default has (numbers within sane bounds)."""
  if isinstance(default, bool) or isinstance(default, str):
    return type(value) is type(default)
  if isinstance(default, int):
    return type(value) is int and 0 <= value <= 1 << 20
  if isinstance(default, float):
    return type(value) in (int, float)
  return (isinstance(value, (list, tuple)) and 0 < len(value) <= 16
          and all(type(v) in (int, float) for v in value))


def _settings(net: TF1Network, defaults: dict) -> dict:
  settings = {**defaults, **{k: v for k, v in net.static_kwargs.items() if k in defaults}}
  for key, value in settings.items():
    if not _same_kind(value, defaults[key]):
      raise UnsupportedNetworkError(f'TF1 network {net.name[:60]!r}: static kwarg {key} is a {type(value).__name__}, '
                                    f'unlike its default {defaults[key]!r}')
  if settings.get('label_size', 0):
    raise UnsupportedNetworkError(
        f'TF1 network {net.name!r} is conditional (label_size {settings["label_size"]}); the original TF StyleGAN2 '
        'conditions differently from stylegan2-ada-pytorch (labels concatenated before normalization, output '
        'summed over labels), so it has no exact equivalent here')
  for key in ('nonlinearity', 'mapping_nonlinearity'):
    if settings.get(key, 'lrelu') != 'lrelu':
      raise UnsupportedNetworkError(f'TF1 network {net.name!r}: {key}={settings[key]!r} is not supported (lrelu only)')
  if settings.get('fmap_decay', 1.0) != 1.0:
    raise UnsupportedNetworkError(f'TF1 network {net.name!r}: fmap_decay {settings["fmap_decay"]} is not supported')
  return settings


def _check_channels(settings: dict, channel_base: int, channel_max: int, name: str) -> None:
  """TF's channels at every resolution equal ours from ``channel_base``/``channel_max`` (fmap_min may break it)."""
  for stage in range(1, int(np.log2(settings['resolution']))):
    tf_channels = int(np.clip(int(settings['fmap_base'] / 2.0 ** stage), settings['fmap_min'], settings['fmap_max']))
    if tf_channels != min(channel_base // 2 ** (stage + 1), channel_max):
      raise UnsupportedNetworkError(f'TF1 network {name!r}: fmap_min {settings["fmap_min"]} raises the channel '
                                    'counts above fmap_base / 2**stage, which has no equivalent here')


def _convert(net_name: str, module, sources: dict[str, np.ndarray], lookup, resample_filter) -> dict:
  """Fills our variables through ``lookup(official_name) -> (tf_name, transform)``; checks every TF variable is used."""
  state_dict, missing, used = {}, [], set(_IGNORED_VARIABLES)
  for name in flatten_variables(abstract_variables(module)):
    tf_name, transform = lookup(name)
    if tf_name not in sources:
      missing.append(f'{tf_name} (for {name})')
      continue
    try:
      state_dict[name] = transform(sources[tf_name]).astype(np.float32)
    except (ValueError, IndexError) as e:
      raise UnsupportedNetworkError(f'TF1 network {net_name!r}: variable {tf_name} has shape '
                                    f'{np.shape(sources[tf_name])}, unlike {name}') from e
    used.add(tf_name)
  unused = sorted(set(sources) - used)
  if missing or unused:
    raise UnsupportedNetworkError(f'TF1 network {net_name!r} does not match the architecture its settings describe:'
                                  + ''.join(f'\n  missing {m}' for m in missing[:20])
                                  + ''.join(f'\n  unexpected {u[:100]}' for u in unused[:20])
                                  + (f'\n  ({len(missing)} missing, {len(unused)} unexpected in all)'
                                     if len(missing) > 20 or len(unused) > 20 else ''))
  return from_state_dict(state_dict, abstract_variables(module), resample_filter=resample_filter)


def _layer_source(prefix: str, layer: str, res: int, suffix: str, noise_index):
  """TF name and transform of a synthesis layer's parameter (``layer`` is conv0/conv1/torgb/skip)."""
  scope = {'conv0': 'Conv0_up', 'conv1': 'Conv' if res == 4 else 'Conv1', 'torgb': 'ToRGB', 'skip': 'Skip'}[layer]
  base = f'{prefix}/{res}x{res}/{scope}'
  identity = np.asarray
  return {
      'weight': (f'{base}/weight', lambda w: _conv(w, flip=scope in ('Conv0_up', 'Skip'))),
      'bias': (f'{base}/bias', identity),
      'noise_strength': (f'{base}/noise_strength', lambda v: np.asarray(v).reshape(())),
      'affine.weight': (f'{base}/mod_weight', _dense),
      'affine.bias': (f'{base}/mod_bias', lambda b: np.asarray(b) + 1),
      'noise_const': (f'{prefix}/noise{noise_index(layer, res)}', lambda n: np.asarray(n)[0, 0]),
  }[suffix]


def convert_tf1_generator(G: TF1Network) -> LoadedNetwork:
  """A TF1 ``G_main`` network (``G`` or ``Gs``) as our Generator and variables."""
  _check_func(G, 'G_main')
  if set(G.components) != {'mapping', 'synthesis'}:
    raise UnsupportedNetworkError(f'TF1 network {G.name!r} has components {sorted(G.components)}, '
                                  'not mapping and synthesis')
  mapping, synthesis = G.components['mapping'], G.components['synthesis']
  _check_func(mapping, 'G_mapping', 'training.networks_stylegan2.G_mapping')
  _check_func(synthesis, 'G_synthesis_stylegan2', 'training.networks_stylegan2.G_synthesis_stylegan2')
  m, s = _settings(mapping, _MAPPING_DEFAULTS), _settings(synthesis, _SYNTHESIS_DEFAULTS)
  if not m['normalize_latents']:
    raise UnsupportedNetworkError(f'TF1 network {G.name!r}: normalize_latents=False is not supported')
  channel_base, channel_max = 2 * int(s['fmap_base']), int(s['fmap_max'])
  _check_channels(s, channel_base, channel_max, G.name)
  init_kwargs = dict(
      z_dim=int(m['latent_size']), c_dim=0, w_dim=int(s['dlatent_size']), img_resolution=int(s['resolution']),
      img_channels=int(s['num_channels']),
      mapping_kwargs=dict(num_layers=int(m['mapping_layers']), layer_features=int(m['mapping_fmaps']),
                          lr_multiplier=float(m['mapping_lrmul']),
                          w_avg_beta=float(G.static_kwargs.get('dlatent_avg_beta', 0.995))),
      synthesis_kwargs=dict(channel_base=channel_base, channel_max=channel_max, architecture=s['architecture'],
                            resample_filter=[int(v) for v in s['resample_kernel']], num_fp16_res=0,
                            conv_clamp=None))
  module = generator_from_kwargs(init_kwargs)
  sources = {**{f'G/{k}': v for k, v in G.variables.items()},
             **{f'mapping/{k}': v for k, v in mapping.variables.items()},
             **{f'synthesis/{k}': v for k, v in synthesis.variables.items()}}

  def noise_index(layer, res):
    return 0 if res == 4 else 2 * int(np.log2(res // 8)) + (1 if layer == 'conv0' else 2)

  def lookup(name):
    if name == 'mapping.w_avg':
      return 'G/dlatent_avg', np.asarray
    if (match := re.fullmatch(r'mapping\.fc(\d+)\.(weight|bias)', name)):
      return f'mapping/Dense{match[1]}/{match[2]}', _dense if match[2] == 'weight' else np.asarray
    if name == 'synthesis.b4.const':
      return 'synthesis/4x4/Const/const', lambda c: np.asarray(c)[0]
    if (match := re.fullmatch(r'synthesis\.b(\d+)\.(conv0|conv1|torgb|skip)\.(.+)', name)):
      return _layer_source('synthesis', match[2], int(match[1]), match[3], noise_index)
    return f'<no TF variable for {name}>', np.asarray

  variables = _convert(G.name, module, sources, lookup, s['resample_kernel'])
  return LoadedNetwork(module=module, variables=variables, init_kwargs=init_kwargs, class_name='Generator')


def convert_tf1_discriminator(D: TF1Network) -> LoadedNetwork:
  """A TF1 ``D_stylegan2`` network as our Discriminator and variables."""
  _check_func(D, 'D_stylegan2', 'training.networks_stylegan2.D_stylegan2')
  s = _settings(D, _D_DEFAULTS)
  channel_base, channel_max = 2 * int(s['fmap_base']), int(s['fmap_max'])
  _check_channels(s, channel_base, channel_max, D.name)
  init_kwargs = dict(c_dim=0, img_resolution=int(s['resolution']), img_channels=int(s['num_channels']),
                     architecture=s['architecture'], channel_base=channel_base, channel_max=channel_max,
                     num_fp16_res=0, conv_clamp=None,
                     block_kwargs=dict(resample_filter=[int(v) for v in s['resample_kernel']]),
                     epilogue_kwargs=dict(mbstd_group_size=int(s['mbstd_group_size']),
                                          mbstd_num_channels=int(s['mbstd_num_features'])))
  module = discriminator_from_kwargs(init_kwargs)
  scopes = {'fromrgb': 'FromRGB', 'conv0': 'Conv0', 'conv1': 'Conv1_down', 'skip': 'Skip', 'conv': 'Conv',
            'fc': 'Dense0'}

  def lookup(name):
    if (match := re.fullmatch(r'b4\.out\.(weight|bias)', name)):
      return f'Output/{match[1]}', _dense if match[1] == 'weight' else np.asarray
    if (match := re.fullmatch(r'b(\d+)\.(\w+)\.(weight|bias)', name)) and match[2] in scopes:
      tf_name = f'{match[1]}x{match[1]}/{scopes[match[2]]}/{match[3]}'
      if match[3] == 'bias':
        return tf_name, np.asarray
      return tf_name, _dense if match[2] == 'fc' else (lambda w: _conv(w, flip=match[2] == 'skip'))
    return f'<no TF variable for {name}>', np.asarray

  variables = _convert(D.name, module, dict(D.variables), lookup, s['resample_kernel'])
  return LoadedNetwork(module=module, variables=variables, init_kwargs=init_kwargs, class_name='Discriminator')


def is_tf1_pickle(data) -> bool:
  """True if unpickled ``data`` is a TF1 StyleGAN2 pickle: a tuple of networks (``(G, D, Gs)``)."""
  return isinstance(data, tuple) and len(data) > 0 and all(isinstance(n, TF1Network) for n in data)


def convert_tf1_pickle(data: tuple, keys=('G', 'D', 'G_ema')) -> dict[str, LoadedNetwork]:
  """The networks ``keys`` of a TF1 ``(G, D, Gs)`` tuple; ``G_ema`` is ``Gs``."""
  if not is_tf1_pickle(data) or len(data) != 3:
    raise UnsupportedNetworkError('expected a TF1 StyleGAN2 pickle holding the tuple (G, D, Gs)')
  G, D, Gs = data
  convert = {'G': lambda: convert_tf1_generator(G), 'D': lambda: convert_tf1_discriminator(D),
             'G_ema': lambda: convert_tf1_generator(Gs)}
  return {k: convert[k]() for k in keys if k in convert}

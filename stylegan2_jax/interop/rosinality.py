"""Our networks <-> the checkpoint layout of rosinality/stylegan2-pytorch (used by e4e, pSp, StyleCLIP, GANSpace).

A rosinality checkpoint is a ``torch.save`` dict: ``g_ema`` (a Generator state
dict), ``latent_avg`` (the average w), optionally ``g`` and ``d``. The networks
compute exactly what the official ones do; only names and shapes differ (every
conversion is a rename plus a reshape, so round trips are exact):

* mapping ``style.{i+1}`` = ``mapping.fc{i}`` (``style.0`` is the pixel norm);
* ``input.input`` = ``synthesis.b4.const``; ``conv1``/``to_rgb1`` = the 4x4 block;
  ``convs.{2i}``/``convs.{2i+1}``/``to_rgbs.{i}`` = ``conv0``/``conv1``/``torgb`` of the
  block at ``8 * 2**i``; styled convs keep ``conv.weight`` ``[1, out, in, k, k]``,
  ``conv.modulation`` (the affine), ``noise.weight`` (noise strength),
  ``activate.bias``; ``noises.noise_{j}`` are the const noise maps in layer order;
* D: ``convs.0`` = ``fromrgb``, ``convs.{j}`` = the resnet blocks (``conv1.0``,
  ``conv2.1``, ``skip.1`` hold the weights of ``conv0``, ``conv1``, ``skip``),
  ``final_conv`` = ``b4.conv``, ``final_linear.0``/``.1`` = ``b4.fc``/``b4.out``;
* the FIR ``kernel`` buffers of the blur/upsample modules are recreated on export and
  checked on import.

rosinality's networks are unconditional, RGB, skip G / resnet D, with z_dim = w_dim
and a mapping lr multiplier of 0.01 (``lr_mlp``, not stored in checkpoints).
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np

from stylegan2_jax.networks.handle import LoadedNetwork, UnsupportedNetworkError
from stylegan2_jax.interop.state_dict import StateDictMismatchError, flatten_variables, from_state_dict, to_state_dict
from stylegan2_jax.networks.config import abstract_variables, discriminator_from_kwargs, generator_from_kwargs
from stylegan2_jax.ops.upfirdn2d import setup_filter

_FILTER = (1, 3, 3, 1)


def _g_names(name: str, shape: tuple) -> tuple[str, tuple]:
  """Official G name and shape -> rosinality name and shape."""
  if (m := re.fullmatch(r'mapping\.fc(\d+)\.(weight|bias)', name)):
    return f'style.{int(m[1]) + 1}.{m[2]}', shape
  if name == 'synthesis.b4.const':
    return 'input.input', (1, *shape)
  m = re.fullmatch(r'synthesis\.b(\d+)\.(conv0|conv1|torgb)\.(.+)', name)
  if not m:
    raise UnsupportedNetworkError(f'{name} has no counterpart in rosinality networks')
  res, layer, leaf = int(m[1]), m[2], m[3]
  index = int(np.log2(res)) - 3  # block index from 8x8
  if layer == 'torgb':
    module = 'to_rgb1' if res == 4 else f'to_rgbs.{index}'
  else:
    module = 'conv1' if res == 4 else f'convs.{2 * index + (layer == "conv1")}'
  layer_index = 0 if res == 4 else 2 * index + 1 + (layer == 'conv1')  # noise maps in layer order
  return {
      'weight': (f'{module}.conv.weight', (1, *shape)),
      'affine.weight': (f'{module}.conv.modulation.weight', shape),
      'affine.bias': (f'{module}.conv.modulation.bias', shape),
      'noise_strength': (f'{module}.noise.weight', (1,)),
      'bias': (f'{module}.bias', (1, *shape, 1, 1)) if layer == 'torgb' else (f'{module}.activate.bias', shape),
      'noise_const': (f'noises.noise_{layer_index}', (1, 1, *shape)),
  }[leaf]


def _d_names(name: str, shape: tuple, top: int) -> tuple[str, tuple]:
  """Official D name and shape -> rosinality name and shape (``top`` = image resolution)."""
  if (m := re.fullmatch(r'b4\.(conv|fc|out)\.(weight|bias)', name)):
    module = {'conv': 'final_conv', 'fc': 'final_linear.0', 'out': 'final_linear.1'}[m[1]]
    if m[1] == 'conv':
      module += '.0' if m[2] == 'weight' else '.1'
    return f'{module}.{m[2]}', shape
  m = re.fullmatch(r'b(\d+)\.(fromrgb|conv0|conv1|skip)\.(weight|bias)', name)
  if not m:
    raise UnsupportedNetworkError(f'{name} has no counterpart in rosinality networks')
  res, layer, leaf = int(m[1]), m[2], m[3]
  if layer == 'fromrgb':
    return f'convs.0.{0 if leaf == "weight" else 1}.{leaf}', shape
  block = int(np.log2(top // res)) + 1
  index = {('conv0', 'weight'): 'conv1.0', ('conv0', 'bias'): 'conv1.1', ('conv1', 'weight'): 'conv2.1',
           ('conv1', 'bias'): 'conv2.2', ('skip', 'weight'): 'skip.1'}[(layer, leaf)]
  return f'convs.{block}.{index}.{leaf}', shape


def _kernels(is_d: bool, resolution: int) -> dict[str, np.ndarray]:
  """The FIR kernel buffers rosinality registers (upsampling ones scaled by 4)."""
  f = setup_filter(_FILTER)
  blocks = int(np.log2(resolution)) - 2
  if is_d:
    return {f'convs.{j}.{m}.0.kernel': f for j in range(1, blocks + 1) for m in ('conv2', 'skip')}
  return {**{f'convs.{2 * i}.conv.blur.kernel': f * 4 for i in range(blocks)},
          **{f'to_rgbs.{i}.upsample.kernel': f * 4 for i in range(blocks)}}


def _check_supported(net: LoadedNetwork) -> None:
  m = net.module
  problems = []
  if m.c_dim:
    problems.append('conditional networks')
  if m.img_channels != 3:
    problems.append(f'{m.img_channels} image channels (RGB only)')
  if net.class_name == 'Generator':
    mapping, synthesis = dict(m.mapping_kwargs), dict(m.synthesis_kwargs)
    if m.z_dim != m.w_dim or mapping.get('layer_features', m.w_dim) != m.w_dim:
      problems.append('z_dim, w_dim and the mapping width must be equal')
    if mapping.get('lr_multiplier', 0.01) != 0.01 or mapping.get('activation', 'lrelu') != 'lrelu':
      problems.append('mapping lr_multiplier 0.01 with lrelu only')
    if synthesis.get('architecture', 'skip') != 'skip' or not synthesis.get('use_noise', True):
      problems.append('the skip generator with noise inputs only')
    filt = tuple(synthesis.get('resample_filter', _FILTER))
  else:
    epilogue = dict(m.epilogue_kwargs)
    if m.architecture != 'resnet':
      problems.append('the resnet discriminator only')
    if (epilogue.get('mbstd_group_size', 4), epilogue.get('mbstd_num_channels', 1)) != (4, 1):
      problems.append('minibatch stddev with group 4 and 1 channel only')
    filt = tuple(dict(m.block_kwargs).get('resample_filter', _FILTER))
  if filt != _FILTER:
    problems.append('the [1, 3, 3, 1] resampling filter only')
  if problems:
    raise UnsupportedNetworkError(f'the rosinality layout cannot hold this {net.class_name}: ' + '; '.join(problems))


def to_rosinality_state_dict(net: LoadedNetwork) -> dict[str, np.ndarray]:
  """Our G or D -> a rosinality ``state_dict`` (numpy), kernel buffers included; ``w_avg`` left out."""
  _check_supported(net)
  is_d = net.class_name == 'Discriminator'
  out = {}
  for name, value in to_state_dict(net.variables).items():
    if name == 'mapping.w_avg':
      continue
    ros_name, shape = _d_names(name, value.shape, net.module.img_resolution) if is_d else _g_names(name, value.shape)
    out[ros_name] = np.array(value.reshape(shape), dtype=np.float32, order='C')
  out.update(_kernels(is_d, net.module.img_resolution))
  return out


def export_rosinality(nets: dict[str, LoadedNetwork]) -> dict[str, np.ndarray | dict]:
  """The rosinality checkpoint dict: ``g_ema``, ``latent_avg`` and, when present, ``g`` and ``d``."""
  if 'G_ema' not in nets:
    raise ValueError('the rosinality format needs G_ema')
  ckpt = {'g_ema': to_rosinality_state_dict(nets['G_ema']),
          'latent_avg': np.asarray(jax.device_get(nets['G_ema'].variables['buffers']['mapping']['w_avg']))}
  for ours, theirs in (('G', 'g'), ('D', 'd')):
    if ours in nets:
      ckpt[theirs] = to_rosinality_state_dict(nets[ours])
  return ckpt


def _channels_config(channels: dict[int, int]) -> tuple[int, int]:
  """(channel_base, channel_max) with ``min(channel_base // r, channel_max) == channels[r]`` for every r."""
  channel_max = max(channels.values())
  below = [r for r, c in channels.items() if c < channel_max]
  channel_base = channels[min(below)] * min(below) if below else channel_max * max(channels)
  if any(min(channel_base // r, channel_max) != c for r, c in channels.items()):
    raise UnsupportedNetworkError(f'channel counts {channels} do not follow min(channel_base // res, channel_max)')
  return channel_base, channel_max


def _generator_from(sd: dict[str, np.ndarray]) -> LoadedNetwork:
  n_mlp = len([k for k in sd if re.fullmatch(r'style\.\d+\.weight', k)])
  blocks = len([k for k in sd if re.fullmatch(r'to_rgbs\.\d+\.conv\.weight', k)])
  if not n_mlp or 'input.input' not in sd or 'style.1.weight' not in sd:
    raise UnsupportedNetworkError('not a rosinality generator state dict (no style.* mapping or input.input)')
  w_dim, resolution = sd['style.1.weight'].shape[1], 4 * 2 ** blocks
  channels = {4: sd['input.input'].shape[1], **{8 * 2 ** i: sd[f'convs.{2 * i}.conv.weight'].shape[1]
                                                  for i in range(blocks) if f'convs.{2 * i}.conv.weight' in sd}}
  channel_base, channel_max = _channels_config(channels)
  init_kwargs = dict(z_dim=w_dim, c_dim=0, w_dim=w_dim, img_resolution=resolution, img_channels=3,
                     mapping_kwargs=dict(num_layers=n_mlp), synthesis_kwargs=dict(
                         channel_base=channel_base, channel_max=channel_max, architecture='skip'))
  return LoadedNetwork(generator_from_kwargs(init_kwargs), {}, init_kwargs, 'Generator')


def _discriminator_from(sd: dict[str, np.ndarray]) -> LoadedNetwork:
  blocks = len([k for k in sd if re.fullmatch(r'convs\.\d+\.conv1\.0\.weight', k)])
  if 'convs.0.0.weight' not in sd or not blocks:
    raise UnsupportedNetworkError('not a rosinality discriminator state dict (no convs.0 / resnet blocks)')
  resolution = 4 * 2 ** blocks
  channels = {resolution // 2 ** (j - 1): sd[f'convs.{j}.conv1.0.weight'].shape[0] for j in range(1, blocks + 1)}
  channels[4] = sd['final_conv.0.weight'].shape[0]
  channel_base, channel_max = _channels_config(channels)
  init_kwargs = dict(c_dim=0, img_resolution=resolution, img_channels=3, architecture='resnet',
                     channel_base=channel_base, channel_max=channel_max)
  return LoadedNetwork(discriminator_from_kwargs(init_kwargs), {}, init_kwargs, 'Discriminator')


def from_rosinality_state_dict(sd: dict[str, np.ndarray], is_d: bool, latent_avg=None) -> LoadedNetwork:
  """A rosinality G or D state dict -> our network; the architecture is read from the shapes."""
  net = _discriminator_from(sd) if is_d else _generator_from(sd)
  template = abstract_variables(net.module)
  official, problems, used = {}, [], set()
  for name, leaf in flatten_variables(template).items():
    if name == 'mapping.w_avg':
      official[name] = np.zeros(leaf[1].shape, np.float32) if latent_avg is None else np.asarray(latent_avg)
      continue
    ros_name, shape = (_d_names(name, leaf[1].shape, net.module.img_resolution) if is_d
                       else _g_names(name, leaf[1].shape))
    used.add(ros_name)
    if ros_name not in sd:
      problems.append(f'missing {ros_name} {shape}')
    elif tuple(sd[ros_name].shape) != tuple(shape):
      problems.append(f'{ros_name}: shape {tuple(sd[ros_name].shape)} in the file, {shape} expected')
    else:
      official[name] = np.asarray(sd[ros_name]).reshape(leaf[1].shape)
  for name, kernel in _kernels(is_d, net.module.img_resolution).items():
    used.add(name)
    if name in sd and not np.allclose(sd[name], kernel, rtol=0, atol=1e-7):
      problems.append(f'{name}: blur kernel differs from [1, 3, 3, 1]')
  problems += [f'unexpected {k} {tuple(v.shape)}' for k, v in sd.items() if k not in used]
  if problems:
    raise StateDictMismatchError('rosinality state dict does not match:\n  ' + '\n  '.join(problems))
  net.variables = from_state_dict(official, template)
  if not is_d and latent_avg is None:
    net.variables['buffers']['mapping']['w_avg'] = _mean_w(net)
  return net


def _mean_w(net: LoadedNetwork, n: int = 10000) -> np.ndarray:
  """The average mapping output of ``n`` normal z, for checkpoints without ``latent_avg``."""
  z = jax.random.normal(jax.random.key(0), (n, net.module.z_dim))
  ws = net.module.apply(net.variables, z, jnp.zeros((n, 0)), method='map')
  return np.asarray(ws[:, 0].mean(axis=0))


def is_rosinality_checkpoint(data) -> bool:
  """True if unpickled ``data`` looks like a rosinality checkpoint (a dict with a ``g_ema`` or ``g`` state dict)."""
  return isinstance(data, dict) and any(isinstance(data.get(k), dict) and 'input.input' in data[k]
                                        for k in ('g_ema', 'g'))


def import_rosinality(data: dict, keys=('G', 'D', 'G_ema')) -> dict[str, LoadedNetwork]:
  """Our networks ``keys`` from a rosinality checkpoint dict (those it holds)."""
  latent_avg = data.get('latent_avg')
  nets = {}
  for ours, theirs in (('G', 'g'), ('D', 'd'), ('G_ema', 'g_ema')):
    if ours in keys and isinstance(data.get(theirs), dict):
      nets[ours] = from_rosinality_state_dict(data[theirs], is_d=ours == 'D', latent_avg=latent_avg)
  if not nets:
    raise UnsupportedNetworkError(f'the rosinality checkpoint has none of {list(keys)} (keys: {sorted(data)})')
  return nets

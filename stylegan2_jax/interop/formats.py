"""One entry point for every network source: ``load_networks(path)`` whatever the format.

Recognised (files are read without executing anything from them):

* a training workdir (``--checkpoint`` picks latest, best or a step);
* an export directory of ``stylegan2-jax export --format torch|safetensors``;
* an official stylegan2-ada-pytorch / stylegan3 network pickle;
* an original TensorFlow StyleGAN2 pickle (``(G, D, Gs)``; ``Gs`` is ``G_ema``);
* a rosinality/stylegan2-pytorch checkpoint (``g_ema``, ``g``, ``d``, ``latent_avg``);
* a single exported ``.pt``/``.safetensors`` state dict, with ``networks.json`` beside it.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from stylegan2_jax.interop import official, rosinality, tf1, torch_export
from stylegan2_jax.interop.official import LoadedNetwork, UnsupportedNetworkError
from stylegan2_jax.interop.official_pickle import (OfficialModule, UnsafePickleError, UnsupportedPickleError,
                                                   read_pickle)
from stylegan2_jax.interop.read_limits import brief_list, check_network_path

NETWORK_KEYS = ('G', 'D', 'G_ema')


def _from_data(data, path: pathlib.Path, keys) -> dict[str, LoadedNetwork]:
  if tf1.is_tf1_pickle(data):
    return tf1.convert_tf1_pickle(data, keys)
  if isinstance(data, dict) and any(isinstance(v, OfficialModule) for v in data.values()):
    return official.convert_official_networks(data, keys, source=path)
  if rosinality.is_rosinality_checkpoint(data):
    return rosinality.import_rosinality(data, keys)
  if isinstance(data, dict) and data and all(isinstance(v, np.ndarray) for v in data.values()):
    name = path.stem
    if name in NETWORK_KEYS and (path.parent / torch_export.KWARGS_FILE).exists():
      return torch_export.load_torch_export(path.parent, [name])
    raise UnsupportedNetworkError(f'{path} is a bare state dict; name it G.pt, G_ema.pt or D.pt and put the '
                                  f'{torch_export.KWARGS_FILE} of its export beside it')
  kind = type(data).__name__ + (f' with keys {brief_list(data)}' if isinstance(data, dict) else '')
  raise UnsupportedNetworkError(f'{path}: not a network format this project reads (found a {kind})')


def load_networks(path: str | os.PathLike, keys=NETWORK_KEYS, checkpoint: str = 'latest') -> dict[str, LoadedNetwork]:
  """The networks ``keys`` (of G, D, G_ema) that ``path`` holds, in any supported format; raises if none."""
  path = pathlib.Path(path)
  if not path.exists():
    raise FileNotFoundError(f'network {path} does not exist')
  check_network_path(path, UnsupportedPickleError)  # a FIFO would hang the reader, a device never end
  if path.is_dir():
    from stylegan2_jax.runs import is_run_dir, load_run_networks  # training code, only needed for workdirs
    if is_run_dir(path):
      nets = load_run_networks(path, checkpoint)
    elif torch_export.is_torch_export(path):
      nets = torch_export.load_torch_export(path, keys)
    else:
      raise FileNotFoundError(f'{path} is neither a training workdir nor an export directory')
  else:
    if checkpoint != 'latest':
      raise ValueError(f'--checkpoint {checkpoint} applies to training workdirs, not to {path.name}')
    if path.suffix == '.safetensors':
      nets = _from_data(torch_export.read_safetensors(path), path, keys)
    else:
      try:
        data = read_pickle(path)
      except (UnsafePickleError, UnsupportedPickleError) as e:
        raise type(e)(f'{path}: {e}') from e
      nets = _from_data(data, path, keys)
  nets = {k: nets[k] for k in keys if k in nets}
  if not nets:
    raise UnsupportedNetworkError(f'{path} holds none of the networks {list(keys)}')
  return nets


def load_generator_any(path: str | os.PathLike, checkpoint: str = 'latest') -> LoadedNetwork:
  """The generator to sample from (``G_ema``, else ``G``) of any supported source."""
  nets = load_networks(path, ('G_ema', 'G'), checkpoint)
  return nets.get('G_ema') or nets['G']

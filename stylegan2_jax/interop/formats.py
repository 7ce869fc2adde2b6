"""Network files and export directories by content: every format the interop modules read, in one dispatcher.

Recognised (files are read without executing anything from them):

* an export directory of ``stylegan2-jax export --format torch|safetensors``;
* an official stylegan2-ada-pytorch / stylegan3 network pickle;
* an original TensorFlow StyleGAN2 pickle (``(G, D, Gs)``; ``Gs`` is ``G_ema``);
* a rosinality/stylegan2-pytorch checkpoint (``g_ema``, ``g``, ``d``, ``latent_avg``);
* a single exported ``.pt``/``.safetensors`` state dict, with ``networks.json`` beside it.

Training workdirs are the trainer's business; :mod:`stylegan2_jax.loading` puts both together.
"""

from __future__ import annotations

import pathlib

import numpy as np

from stylegan2_jax.interop import official, rosinality, tf1, torch_export
from stylegan2_jax.interop.official_pickle import (OfficialModule, UnsafePickleError, UnsupportedPickleError,
                                                   read_pickle)
from stylegan2_jax.networks.handle import NETWORK_KEYS, LoadedNetwork, UnsupportedNetworkError
from stylegan2_jax.interop.read_limits import brief_list


def networks_from_data(data, path: pathlib.Path, keys=NETWORK_KEYS) -> dict[str, LoadedNetwork]:
  """The networks in an unpickled (or safetensors-read) object, by what it holds."""
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


def is_export_dir(path: pathlib.Path) -> bool:
  """True if ``path`` is an export directory (``networks.json`` with state dicts)."""
  return torch_export.is_torch_export(path)


def read_export_dir(path: pathlib.Path, keys=NETWORK_KEYS) -> dict[str, LoadedNetwork]:
  """The networks ``keys`` of an export directory."""
  return torch_export.load_torch_export(path, keys)


def read_network_file(path: pathlib.Path, keys=NETWORK_KEYS) -> dict[str, LoadedNetwork]:
  """The networks ``keys`` in one file (pickle, torch zip or safetensors), detected by content."""
  if path.suffix == '.safetensors':
    return networks_from_data(torch_export.read_safetensors(path), path, keys)
  try:
    data = read_pickle(path)
  except (UnsafePickleError, UnsupportedPickleError) as e:
    raise type(e)(f'{path}: {e}') from e
  return networks_from_data(data, path, keys)

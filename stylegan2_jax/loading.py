"""``load_networks(path)``: the networks of any source this project reads, whatever its format.

A training workdir (``checkpoint`` picks latest, best or a step; only the
networks asked for are restored from it), an export directory, or a network
file (official or TF1 pickle, rosinality checkpoint, exported state dict),
each detected by content. This module sits above the importers
(:mod:`stylegan2_jax.interop`) and the trainer's workdir reader
(:mod:`stylegan2_jax.training.runs`); neither imports it.
"""

from __future__ import annotations

import os
import pathlib

from stylegan2_jax.interop.formats import is_export_dir, read_export_dir, read_network_file
from stylegan2_jax.interop.official_pickle import UnsupportedPickleError
from stylegan2_jax.interop.read_limits import check_network_path
from stylegan2_jax.networks.handle import NETWORK_KEYS, LoadedNetwork, UnsupportedNetworkError
from stylegan2_jax.training.runs import is_run_dir, load_run_networks


def load_networks(path: str | os.PathLike, keys=NETWORK_KEYS, checkpoint: str = 'latest') -> dict[str, LoadedNetwork]:
  """The networks ``keys`` (of G, D, G_ema) that ``path`` holds, in any supported format; raises if none."""
  path = pathlib.Path(path)
  if not path.exists():
    raise FileNotFoundError(f'network {path} does not exist')
  check_network_path(path, UnsupportedPickleError)  # a FIFO would hang the reader, a device never end
  if path.is_dir():
    if is_run_dir(path):
      nets = load_run_networks(path, checkpoint, keys)
    elif is_export_dir(path):
      nets = read_export_dir(path, keys)
    else:
      raise FileNotFoundError(f'{path} is neither a training workdir nor an export directory')
  else:
    if checkpoint != 'latest':
      raise ValueError(f'--checkpoint {checkpoint} applies to training workdirs, not to {path.name}')
    nets = read_network_file(path, keys)
  nets = {k: nets[k] for k in keys if k in nets}
  if not nets:
    raise UnsupportedNetworkError(f'{path} holds none of the networks {list(keys)}')
  return nets


def load_generator(path: str | os.PathLike, checkpoint: str = 'latest') -> LoadedNetwork:
  """The generator to sample from (``G_ema``, else ``G``) of any supported source."""
  nets = load_networks(path, ('G_ema', 'G'), checkpoint)
  return nets.get('G_ema') or nets['G']

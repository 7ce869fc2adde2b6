"""Our networks <-> NVIDIA's stylegan2-ada-pytorch layout: state dicts plus constructor kwargs.

An export directory holds, for each network it has (``G``, ``G_ema``, ``D``), the
complete official ``state_dict`` (official names and layouts, including the
constant ``resample_filter`` buffers) as ``<name>.safetensors`` and, with the
``torch`` extra, as ``<name>.pt`` (``torch.save`` of the state dict), and
``networks.json`` with the official constructor kwargs of ``G`` (also for
``G_ema``) and ``D``. In PyTorch, with stylegan2-ada-pytorch on the path::

    kwargs = json.load(open('export/networks.json'))
    G = training.networks.Generator(**kwargs['G'])
    G.load_state_dict(torch.load('export/G_ema.pt'), strict=True)
"""

from __future__ import annotations

import collections
import json
import os
import pathlib

import numpy as np

from stylegan2_jax.extras import missing_extra_message
from stylegan2_jax.files import write_atomically
from stylegan2_jax.networks.handle import LoadedNetwork
from stylegan2_jax.interop.official_pickle import UnsupportedPickleError, load_official_pickle
from stylegan2_jax.interop.read_limits import open_regular_file
from stylegan2_jax.interop.state_dict import from_state_dict, to_state_dict
from stylegan2_jax.networks.config import (abstract_variables, discriminator_from_kwargs, generator_from_kwargs,
                                           module_kwargs)

NETWORK_NAMES = ('G', 'G_ema', 'D')
KWARGS_FILE = 'networks.json'
# Our own constructor arguments, which the official constructors do not take.
_OURS_ONLY = ('fp16_dtype',)
MAX_KWARGS_FILE_BYTES = 1 << 20  # networks.json holds two small dicts of hyperparameters


class MissingExtraError(ImportError):
  """An optional dependency of a format is not installed; the message names the extra to install."""


def require_extra(module: str, extra: str, what: str):
  """Imports ``module`` or raises :class:`MissingExtraError` naming the README's command that installs ``extra``."""
  import importlib  # pylint: disable=import-outside-toplevel
  try:
    return importlib.import_module(module)
  except ImportError as e:
    raise MissingExtraError(missing_extra_message(what, module.split('.')[0], extra)) from e


def official_kwargs(module) -> dict:
  """The official constructor kwargs of our G or D (our-only arguments such as ``fp16_dtype`` left out)."""
  kwargs = module_kwargs(module)
  for part in (kwargs, kwargs.get('synthesis_kwargs') or {}):
    for key in _OURS_ONLY:
      part.pop(key, None)
  return kwargs


def _resample_filter(module) -> tuple:
  kwargs = module.synthesis_kwargs if hasattr(module, 'synthesis_kwargs') else module.block_kwargs
  return tuple(kwargs.get('resample_filter', (1, 3, 3, 1)))


def official_state_dict(net: LoadedNetwork) -> dict[str, np.ndarray]:
  """The complete official ``state_dict`` of a network, as float32 numpy arrays in C order."""
  return {name: np.array(value, order='C')
          for name, value in to_state_dict(net.variables, with_derived=True,
                                           resample_filter=_resample_filter(net.module)).items()}


def to_torch(tree):
  """Nested dicts of numpy arrays -> ``OrderedDict``s of torch tensors (extra ``torch``), for ``torch.save``."""
  torch = require_extra('torch', 'torch', 'writing .pt files')
  if isinstance(tree, dict):
    return collections.OrderedDict((k, to_torch(v)) for k, v in tree.items())
  return torch.from_numpy(np.array(tree))


def write_torch_export(nets: dict[str, LoadedNetwork], out_dir: str | os.PathLike,
                       pt: bool = True) -> list[pathlib.Path]:
  """Writes ``<name>.safetensors`` (and ``<name>.pt`` if ``pt``, which needs torch) and ``networks.json``."""
  from safetensors.numpy import save_file  # pylint: disable=import-outside-toplevel
  torch = require_extra('torch', 'torch', 'writing .pt files') if pt else None
  out = pathlib.Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  written, kwargs = [], {}
  for name in NETWORK_NAMES:
    if name not in nets:
      continue
    net = nets[name]
    kwargs['D' if net.class_name == 'Discriminator' else 'G'] = official_kwargs(net.module)
    state_dict = official_state_dict(net)
    metadata = {'format': 'pt', 'class_name': net.class_name}
    written.append(write_atomically(out / f'{name}.safetensors',
                                    lambda p, sd=state_dict: save_file(sd, p, metadata=metadata)))
    if torch is not None:
      written.append(write_atomically(out / f'{name}.pt', lambda p, sd=to_torch(state_dict): torch.save(sd, p)))
  path = out / KWARGS_FILE
  path.write_text(json.dumps(kwargs, indent=2))
  return [*written, path]


def is_torch_export(path: str | os.PathLike) -> bool:
  """True if ``path`` is a directory written by :func:`write_torch_export`."""
  path = pathlib.Path(path)
  return (path.is_dir() and (path / KWARGS_FILE).exists() and not (path / 'checkpoints').exists()
          and any((path / f'{n}.{ext}').exists() for n in NETWORK_NAMES for ext in ('safetensors', 'pt')))


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """The arrays of a ``.safetensors`` file; a damaged file raises :class:`UnsupportedPickleError` naming it."""
  from safetensors.numpy import load_file  # pylint: disable=import-outside-toplevel
  open_regular_file(path, UnsupportedPickleError).close()  # a FIFO or device would hang or never end
  try:
    return load_file(str(path))
  except Exception as e:  # safetensors raises its own SafetensorError (and OSError for short files)
    raise UnsupportedPickleError(f'{path} is not a readable safetensors file: {e}') from e


def _read_state_dict(out: pathlib.Path, name: str) -> dict[str, np.ndarray] | None:
  if (out / f'{name}.safetensors').exists():
    return read_safetensors(out / f'{name}.safetensors')
  if (out / f'{name}.pt').exists():
    state_dict = load_official_pickle(out / f'{name}.pt')  # torch's zip format, read without torch or code
    if not all(isinstance(v, np.ndarray) for v in state_dict.values()):
      raise UnsupportedPickleError(f'{out / name}.pt does not hold a state dict of tensors')
    return state_dict
  return None


def read_kwargs_file(path: pathlib.Path) -> dict:
  """The constructor kwargs of ``networks.json``: a dict of dicts; anything else is a ValueError naming the file."""
  with open_regular_file(path, ValueError) as f:
    raw = f.read(MAX_KWARGS_FILE_BYTES + 1)
  if len(raw) > MAX_KWARGS_FILE_BYTES:
    raise ValueError(f'{path} is larger than {MAX_KWARGS_FILE_BYTES} bytes; it should hold two small dicts')
  try:
    kwargs = json.loads(raw.decode('utf-8'))
  except (UnicodeDecodeError, ValueError, RecursionError) as e:
    raise ValueError(f'{path} is not valid JSON ({type(e).__name__}: {str(e)[:100]})') from e
  if not isinstance(kwargs, dict) or not all(isinstance(v, dict) for v in kwargs.values()):
    raise ValueError(f'{path} must hold a JSON object of constructor kwargs objects ("G", "D"), not '
                     + (f'{type(kwargs).__name__}' if not isinstance(kwargs, dict) else
                        'values of type ' + ', '.join(sorted({type(v).__name__ for v in kwargs.values()}))))
  return kwargs


def load_torch_export(path: str | os.PathLike, keys=NETWORK_NAMES) -> dict[str, LoadedNetwork]:
  """Reads the networks ``keys`` present in an export directory (safetensors preferred over .pt)."""
  out = pathlib.Path(path)
  kwargs = read_kwargs_file(out / KWARGS_FILE)
  nets = {}
  for name in keys:
    state_dict = _read_state_dict(out, name)
    if state_dict is None:
      continue
    is_d = name == 'D'
    if ('D' if is_d else 'G') not in kwargs:
      raise ValueError(f'{out / KWARGS_FILE} has no constructor kwargs for {name}')
    init_kwargs = kwargs['D' if is_d else 'G']
    try:
      module = discriminator_from_kwargs(init_kwargs) if is_d else generator_from_kwargs(init_kwargs)
    except ValueError as e:
      raise ValueError(f'{out / KWARGS_FILE}: {"D" if is_d else "G"}: {e}') from e
    variables = from_state_dict(state_dict, abstract_variables(module), resample_filter=_resample_filter(module))
    nets[name] = LoadedNetwork(module=module, variables=variables, init_kwargs=init_kwargs,
                               class_name='Discriminator' if is_d else 'Generator')
  if not nets:
    raise FileNotFoundError(f'{out} has none of {[f"{k}.safetensors" for k in keys]} (or .pt)')
  return nets

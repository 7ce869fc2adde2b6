"""The one mapping between our Flax variables and the official PyTorch ``state_dict``.

Our parameter trees use the official module names, so an official name like
``synthesis.b8.conv0.affine.weight`` is the Flax path
``params/synthesis/b8/conv0/affine/weight``; buffers (``noise_const``,
``w_avg``) live under ``buffers`` instead of ``params``. Layouts are identical
(dense ``[out, in]``, conv ``[out, in, kh, kw]``, no equalized-lr gains), so the
conversion only renames, checks names and shapes, and handles the FIR
``resample_filter`` buffers, which we do not store (they are a constant of the
architecture): on import they are checked, on export they are recreated.
Every importer and exporter goes through this module.
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np
from flax import traverse_util

from stylegan2_jax.ops.upfirdn2d import setup_filter

COLLECTIONS = ('params', 'buffers')
BUFFER_LEAVES = ('noise_const', 'w_avg')   # stored buffers, kept in the 'buffers' collection
DERIVED_LEAVES = ('resample_filter',)      # official buffers we recompute instead of storing


class StateDictMismatchError(ValueError):
  """The state dict does not fit the network: names, shapes or constant buffers differ."""


def flatten_variables(variables: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
  """``{'params': {...}, 'buffers': {...}}`` -> ``{'a.b.weight': (collection, leaf)}``."""
  flat = {}
  for collection in COLLECTIONS:
    for path, leaf in traverse_util.flatten_dict(dict(variables.get(collection, {}))).items():
      flat['.'.join(path)] = (collection, leaf)
  return flat


def _filter_owners(names) -> list[str]:
  """Modules that hold a ``resample_filter`` buffer in the official networks.

  Every SynthesisLayer and Conv2dLayer (``conv0``, ``conv1``, ``conv``, ``skip``,
  ``fromrgb``) and every synthesis/discriminator block, but not ToRGB layers,
  dense layers or the discriminator epilogue (``b4`` of D) itself.
  """
  owners = set()
  for name in names:
    parts = name.split('.')[:-1]
    if parts and parts[-1] in ('conv0', 'conv1', 'conv', 'skip', 'fromrgb'):
      owners.add('.'.join(parts))
      block = parts[:-1]
      if block and (block[0] == 'synthesis' or block[-1] != 'b4'):
        owners.add('.'.join(block))
  return sorted(owners)


def to_state_dict(variables: Mapping[str, Any], with_derived: bool = False,
                  resample_filter=(1, 3, 3, 1)) -> dict[str, np.ndarray]:
  """Our variables -> official-name numpy arrays.

  With ``with_derived`` the constant ``resample_filter`` buffers are added where
  the official modules register them, giving the complete official state dict.
  """
  out = {name: np.asarray(jax.device_get(leaf)) for name, (_, leaf) in flatten_variables(variables).items()}
  if with_derived:
    for owner in _filter_owners(list(out)):
      out[f'{owner}.resample_filter'] = setup_filter(resample_filter)
  return out


def from_state_dict(state_dict: Mapping[str, np.ndarray], template: Mapping[str, Any],
                    resample_filter=(1, 3, 3, 1), prefix: str = '') -> dict[str, Any]:
  """Official ``state_dict`` -> our variables, shaped like ``template`` (e.g. ``jax.eval_shape`` of init).

  ``prefix`` selects a sub-network (e.g. ``'G_ema.'``). Raises
  ``StateDictMismatchError`` listing every missing, unexpected or misshapen entry.
  """
  entries = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
  expected_filter = setup_filter(resample_filter)
  problems = []
  out: dict[str, dict] = {c: {} for c in COLLECTIONS}
  wanted = flatten_variables(template)
  for name, (collection, leaf) in wanted.items():
    if name not in entries:
      problems.append(f'missing {prefix}{name} {tuple(leaf.shape)}')
      continue
    value = np.asarray(entries[name])
    if tuple(value.shape) != tuple(leaf.shape):
      problems.append(f'{prefix}{name}: shape {tuple(value.shape)} in the file, {tuple(leaf.shape)} in the network')
      continue
    out[collection][tuple(name.split('.'))] = value.astype(leaf.dtype)
  for name, value in entries.items():
    if name in wanted:
      continue
    if name.rsplit('.', 1)[-1] in DERIVED_LEAVES:
      if np.shape(value) != expected_filter.shape or not np.allclose(value, expected_filter, rtol=0, atol=1e-7):
        problems.append(f'{prefix}{name}: resample filter differs from the configured {list(resample_filter)}')
      continue
    problems.append(f'unexpected {prefix}{name} {tuple(np.shape(value))}')
  if problems:
    raise StateDictMismatchError('state dict does not match the network:\n  ' + '\n  '.join(problems))
  return {c: traverse_util.unflatten_dict(v) for c, v in out.items() if v}

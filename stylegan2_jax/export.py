"""``stylegan2-jax export``: a network from any source to another framework's format.

Formats (each optional dependency lives in its own extra, named when missing):

* ``safetensors``: a directory with ``G.safetensors``, ``G_ema.safetensors``,
  ``D.safetensors`` (official stylegan2-ada-pytorch state dicts) and ``networks.json``.
* ``torch``: the same plus ``G.pt``, ``G_ema.pt``, ``D.pt`` (``torch.save``; extra ``torch``).
* ``rosinality``: one ``.pt`` checkpoint for rosinality/stylegan2-pytorch (extra ``torch``).
"""

from __future__ import annotations

import collections
import os
import pathlib

from stylegan2_jax.interop.formats import load_networks
from stylegan2_jax.interop.torch_export import require_extra, write_torch_export

FORMATS = ('torch', 'safetensors', 'rosinality')


def _torch_tensors(tree):
  torch = require_extra('torch', 'torch', 'writing .pt files')
  if isinstance(tree, dict):
    return collections.OrderedDict((k, _torch_tensors(v)) for k, v in tree.items())
  return torch.from_numpy(tree.copy())


def write_rosinality(nets, out: str | os.PathLike) -> pathlib.Path:
  """Writes the rosinality checkpoint (``g_ema``, ``latent_avg``, ``g``, ``d``) of ``nets`` to ``out``."""
  from stylegan2_jax.interop.rosinality import export_rosinality  # pylint: disable=import-outside-toplevel
  torch = require_extra('torch', 'torch', 'the rosinality format')
  ckpt = _torch_tensors(export_rosinality(nets))
  out = pathlib.Path(out)
  out.parent.mkdir(parents=True, exist_ok=True)
  tmp = out.with_name(out.name + '.partial')
  torch.save(dict(ckpt), tmp)
  os.replace(tmp, out)
  return out


def export_networks(network: str | os.PathLike, fmt: str, out: str | os.PathLike,
                    checkpoint: str = 'latest') -> list[pathlib.Path]:
  """Exports the networks of ``network`` (any source ``load_networks`` reads) as ``fmt`` to ``out``."""
  if fmt not in FORMATS:
    raise ValueError(f'unknown export format {fmt!r}; choose one of {list(FORMATS)}')
  if fmt == 'torch':
    require_extra('torch', 'torch', 'the torch format')
  nets = load_networks(network, checkpoint=checkpoint)
  if fmt in ('torch', 'safetensors'):
    return write_torch_export(nets, out, pt=fmt == 'torch')
  return [write_rosinality(nets, out)]


def add_export_command(sub) -> None:
  """Registers ``stylegan2-jax export``."""
  p = sub.add_parser('export', help='export a network to PyTorch (official or rosinality layout) or safetensors')
  p.add_argument('--network', required=True, help='a training workdir, an official/TF1 pickle, a rosinality '
                 'checkpoint or an export directory')
  p.add_argument('--format', required=True, choices=FORMATS, help='output format')
  p.add_argument('--out', required=True, help='output directory (torch, safetensors) or .pt file (rosinality)')
  p.add_argument('--checkpoint', default='latest', help="a workdir's checkpoint: latest, best or a step")

  def run(args) -> None:
    for path in export_networks(args.network, args.format, args.out, args.checkpoint):
      print(f'wrote {path}')
  p.set_defaults(run=run)

"""``stylegan2-jax export``: a network from any source to another framework's format.

Formats (each optional dependency lives in its own extra, named when missing):

* ``safetensors``: a directory with ``G.safetensors``, ``G_ema.safetensors``,
  ``D.safetensors`` (official stylegan2-ada-pytorch state dicts) and ``networks.json``.
* ``torch``: the same plus ``G.pt``, ``G_ema.pt``, ``D.pt`` (``torch.save``; extra ``torch``).
* ``rosinality``: one ``.pt`` checkpoint for rosinality/stylegan2-pytorch (extra ``torch``).
* ``onnx``: the generator for onnxruntime (extra ``onnx``): ``--out G.onnx`` writes the whole
  generator (z, c, psi -> image); ``--out DIR`` writes ``generator.onnx``, ``mapping.onnx``,
  ``synthesis.onnx`` and ``onnx.json`` (the models' inputs and sizes).
* ``savedmodel``: a TensorFlow SavedModel directory through jax2tf (extra ``tf``) with the
  serving signature (z, [c,] psi) -> img.
"""

from __future__ import annotations

import json
import os
import pathlib

from stylegan2_jax.loading import load_generator, load_networks
from stylegan2_jax.files import write_atomically
from stylegan2_jax.interop.torch_export import require_extra, to_torch, write_torch_export

FORMATS = ('torch', 'safetensors', 'rosinality', 'onnx', 'savedmodel')


def write_rosinality(nets, out: str | os.PathLike) -> pathlib.Path:
  """Writes the rosinality checkpoint (``g_ema``, ``latent_avg``, ``g``, ``d``) of ``nets`` to ``out``."""
  from stylegan2_jax.interop.rosinality import export_rosinality  # pylint: disable=import-outside-toplevel
  torch = require_extra('torch', 'torch', 'the rosinality format')
  ckpt = dict(to_torch(export_rosinality(nets)))
  pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
  return write_atomically(out, lambda p: torch.save(ckpt, p))


def write_onnx(net, out: str | os.PathLike, noise_mode: str = 'const', truncation_cutoff: int | None = None,
               models: tuple[str, ...] | None = None) -> list[pathlib.Path]:
  """The generator as one ``.onnx`` file, or (``out`` a directory) ``models`` (default: generator, mapping,
  synthesis) and ``onnx.json``."""
  from stylegan2_jax.interop.onnx_export import MODELS, export_onnx  # pylint: disable=import-outside-toplevel
  require_extra('onnx', 'onnx', 'the ONNX export')
  out = pathlib.Path(out)
  if out.suffix == '.onnx':
    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(net, out, 'generator', noise_mode, truncation_cutoff)
    return [out]
  out.mkdir(parents=True, exist_ok=True)
  models = models or MODELS
  paths = []
  for model in models:
    export_onnx(net, out / f'{model}.onnx', model, noise_mode, truncation_cutoff)
    paths.append(out / f'{model}.onnx')
  G = net.module
  latent_inputs = ['z', 'c', 'psi'] if G.c_dim else ['z', 'psi']
  inputs = {'generator': latent_inputs, 'mapping': latent_inputs, 'synthesis': ['ws']}
  outputs = {'generator': 'img', 'mapping': 'ws', 'synthesis': 'img'}
  info = dict(z_dim=G.z_dim, c_dim=G.c_dim, w_dim=G.w_dim, num_ws=G.num_ws, img_resolution=G.img_resolution,
              img_channels=G.img_channels, noise_mode=noise_mode, truncation_cutoff=truncation_cutoff,
              inputs={m: inputs[m] for m in models}, outputs={m: outputs[m] for m in models})
  (out / 'onnx.json').write_text(json.dumps(info, indent=2))
  return [*paths, out / 'onnx.json']


def export_networks(network: str | os.PathLike, fmt: str, out: str | os.PathLike, checkpoint: str = 'latest',
                    noise_mode: str = 'const', truncation_cutoff: int | None = None) -> list[pathlib.Path]:
  """Exports the networks of ``network`` (any source ``load_networks`` reads) as ``fmt`` to ``out``."""
  if fmt not in FORMATS:
    raise ValueError(f'unknown export format {fmt!r}; choose one of {list(FORMATS)}')
  extra = {'torch': ('torch', 'torch'), 'rosinality': ('torch', 'torch'), 'onnx': ('onnx', 'onnx'),
           'savedmodel': ('tensorflow', 'tf')}.get(fmt)
  if extra:  # before loading anything
    require_extra(extra[0], extra[1], f'the {fmt} format')
  if fmt in ('onnx', 'savedmodel'):
    G = load_generator(network, checkpoint)
    if fmt == 'onnx':
      return write_onnx(G, out, noise_mode, truncation_cutoff)
    from stylegan2_jax.interop.savedmodel_export import export_savedmodel  # pylint: disable=import-outside-toplevel
    export_savedmodel(G, out, noise_mode, truncation_cutoff)
    return [pathlib.Path(out)]
  nets = load_networks(network, checkpoint=checkpoint)
  if fmt in ('torch', 'safetensors'):
    return write_torch_export(nets, out, pt=fmt == 'torch')
  return [write_rosinality(nets, out)]

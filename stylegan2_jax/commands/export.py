"""``stylegan2-jax export``: a network from any source to another framework's format (see :mod:`stylegan2_jax.export`)."""

from __future__ import annotations

from stylegan2_jax.commands.common import add_network_args
from stylegan2_jax.export import FORMATS, export_networks


def add_parser(sub) -> None:
  """Registers ``stylegan2-jax export``."""
  p = sub.add_parser('export', help='export a network to PyTorch (official or rosinality layout), safetensors, '
                     'ONNX or TensorFlow')
  add_network_args(p, class_label=False)
  p.add_argument('--format', required=True, choices=FORMATS, help='output format')
  p.add_argument('--out', required=True, help='output directory (torch, safetensors, onnx, savedmodel), '
                 '.pt file (rosinality) or .onnx file')
  p.add_argument('--noise-mode', choices=['const', 'none'], default='const',
                 help='onnx, savedmodel: noise inputs baked in')
  p.add_argument('--trunc-cutoff', type=int, default=None,
                 help='onnx, savedmodel: truncate only the first N ws (default all)')

  def run(args) -> None:
    for path in export_networks(args.network, args.format, args.out, args.checkpoint, args.noise_mode,
                                args.trunc_cutoff):
      print(f'wrote {path}')
  p.set_defaults(run=run)

"""The ``stylegan2-jax`` command: one subcommand per tool."""

from __future__ import annotations

import argparse
import sys

from stylegan2_jax import __version__
from stylegan2_jax.data.dataset_tool import add_dataset_command
from stylegan2_jax.evaluate import add_evaluate_command
from stylegan2_jax.export import add_export_command
from stylegan2_jax.summarize import add_summarize_command
from stylegan2_jax.tools.commands import add_tool_commands
from stylegan2_jax.web.command import add_web_command


def _add_generate(sub) -> None:
  p = sub.add_parser('generate', help='generate images from seeds (as the official generate.py)')
  p.add_argument('--network', required=True, help='a training workdir, an official or TF1 pickle, a rosinality '
                 'checkpoint or an export directory')
  p.add_argument('--seeds', default=None, help='seeds, e.g. 0-7,42')
  p.add_argument('--projected-w', default=None, help="render the ws of a projector's projected_w.npz (or a .npy "
                 'of ws [N, num_ws, w_dim], as the browser demo downloads) instead of seeds')
  p.add_argument('--trunc', type=float, default=1.0, help='truncation psi (default 1: none)')
  p.add_argument('--trunc-cutoff', type=int, default=None, help='truncate only the first N ws (default: all)')
  p.add_argument('--noise-mode', choices=['const', 'random', 'none'], default='const', help='noise mode')
  p.add_argument('--class', dest='class_idx', type=int, default=None, help='class label (conditional networks)')
  p.add_argument('--outdir', required=True, help='where to write seedNNNN.png (projNN.png for --projected-w)')
  p.add_argument('--batch-size', type=int, default=8, help='images per step, spread over all devices')
  p.add_argument('--checkpoint', default='latest', help="a workdir's checkpoint: latest, best (best.json) or a step")

  def run(args) -> None:
    if (args.seeds is None) == (args.projected_w is None):
      raise ValueError('give either --seeds or --projected-w')
    if args.projected_w:
      from stylegan2_jax.tools.projection_io import generate_from_projected_w
      paths = generate_from_projected_w(args.network, args.projected_w, args.outdir, args.noise_mode, args.checkpoint)
      print(f'wrote {len(paths)} images to {args.outdir}')
      return
    from stylegan2_jax.generate import generate_to_dir, parse_seeds
    paths = generate_to_dir(args.network, parse_seeds(args.seeds), args.outdir, args.trunc, args.trunc_cutoff,
                            args.noise_mode, args.class_idx, args.batch_size, checkpoint=args.checkpoint)
    print(f'wrote {len(paths)} images to {args.outdir}')
  p.set_defaults(run=run)


def _add_train(sub) -> None:
  # Listed for --help only: ``main`` hands everything after ``train`` to the absl flags of stylegan2_jax.main.
  sub.add_parser('train', help='train: --config FILE --workdir DIR [--config.KEY=VALUE ...] (see --helpshort)')


def main(argv=None) -> int:
  """Entry point of the ``stylegan2-jax`` console script."""
  argv = sys.argv[1:] if argv is None else list(argv)
  if argv[:1] == ['train']:
    from stylegan2_jax.main import run as run_training
    run_training(argv[1:])
    return 0
  parser = argparse.ArgumentParser(prog='stylegan2-jax', description='StyleGAN2 in JAX/Flax')
  parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
  sub = parser.add_subparsers(dest='command', required=True)
  _add_generate(sub)
  _add_train(sub)
  add_dataset_command(sub)
  add_evaluate_command(sub)
  add_tool_commands(sub)
  add_export_command(sub)
  add_summarize_command(sub)
  add_web_command(sub)
  args = parser.parse_args(argv)
  from stylegan2_jax.interop.official_pickle import UnsafePickleError, UnsupportedPickleError
  from stylegan2_jax.interop.torch_export import MissingExtraError
  try:
    args.run(args)
  except (ValueError, FileNotFoundError, NotImplementedError, UnsafePickleError, UnsupportedPickleError,
          MissingExtraError) as e:
    print(f'stylegan2-jax {args.command}: error: {e}', file=sys.stderr)
    return 2
  return 0


if __name__ == '__main__':
  sys.exit(main())

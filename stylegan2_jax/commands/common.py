"""Arguments the subcommands share (where the network comes from, how it is rendered) and what they build."""

from __future__ import annotations

import argparse

NETWORK_HELP = ('a training workdir (its G_ema, or G/D where the command needs them), an official stylegan2-ada-pytorch '
                'or stylegan3 pickle, a TF1 StyleGAN2 pickle, a rosinality checkpoint or an export directory')
CHECKPOINT_HELP = "a training workdir's checkpoint: latest (default), best (best.json) or a step number"


def add_network_args(p: argparse.ArgumentParser, required: bool = True, class_label: bool = True) -> None:
  """``--network`` and ``--checkpoint`` (and ``--class`` for conditional networks)."""
  p.add_argument('--network', required=required, default=None, help=NETWORK_HELP)
  p.add_argument('--checkpoint', default='latest', help=CHECKPOINT_HELP)
  if class_label:
    p.add_argument('--class', dest='class_idx', type=int, default=None, help='class label (conditional networks)')


def add_render_args(p: argparse.ArgumentParser, noise_modes=('const', 'none'), trunc: bool = True) -> None:
  """``--noise-mode``, ``--batch-size`` and (optionally) ``--trunc`` for commands that render images."""
  if trunc:
    p.add_argument('--trunc', type=float, default=1.0, help='truncation psi (default 1: none)')
  p.add_argument('--noise-mode', choices=list(noise_modes), default='const', help='noise inputs (default const)')
  p.add_argument('--batch-size', type=int, default=8, help='images per step, spread over all devices')


def generator_from_args(args: argparse.Namespace):
  """The generator to sample from (``G_ema``, else ``G``) that ``--network``/``--checkpoint`` name."""
  from stylegan2_jax.loading import load_generator  # pylint: disable=import-outside-toplevel (a fast --help)
  return load_generator(args.network, args.checkpoint)


def renderer_from_args(args: argparse.Namespace, progress: bool = True):
  """A :class:`~stylegan2_jax.tools.render.Renderer` for ``--network``, ``--checkpoint``, ``--class`` and, where the
  command has them, ``--noise-mode`` and ``--batch-size``; it records its source for the tools' sidecar files."""
  from stylegan2_jax.tools.render import Renderer  # pylint: disable=import-outside-toplevel
  return Renderer(generator_from_args(args), getattr(args, 'noise_mode', 'const'), getattr(args, 'batch_size', 8),
                  args.class_idx, progress, source=dict(network=str(args.network), checkpoint=args.checkpoint))


def parse_seeds_arg(text: str) -> list[int]:
  """A seed list argument ('0-3,42') as ints."""
  from stylegan2_jax.sampling import parse_seeds  # pylint: disable=import-outside-toplevel
  return parse_seeds(text)

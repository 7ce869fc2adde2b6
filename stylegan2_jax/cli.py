"""The ``stylegan2-jax`` command: one subcommand per module of :mod:`stylegan2_jax.commands`."""

from __future__ import annotations

import argparse
import sys

from stylegan2_jax import __version__
from stylegan2_jax.commands import (dataset, detect, evaluate, export, generate, interpolate, latent_map, project,
                                    style_mix, summarize, train, web)

# In the order ``--help`` lists them.
SUBCOMMANDS = (generate, train, dataset, evaluate, style_mix, interpolate, latent_map, project, detect, export,
               summarize, web)


def build_parser() -> argparse.ArgumentParser:
  """The argument parser of every subcommand but ``train`` (whose absl flags :mod:`.commands.train` parses)."""
  parser = argparse.ArgumentParser(prog='stylegan2-jax', description='StyleGAN2 in JAX/Flax')
  parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
  sub = parser.add_subparsers(dest='command', required=True)
  for command in SUBCOMMANDS:
    command.add_parser(sub)
  return parser


def main(argv=None) -> int:
  """Entry point of the ``stylegan2-jax`` console script."""
  argv = sys.argv[1:] if argv is None else list(argv)
  if argv[:1] == ['train']:  # the trainer parses its own (absl) flags
    train.run(argv[1:])
    return 0
  args = build_parser().parse_args(argv)
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

"""``stylegan2-jax generate``: images from seeds, reproducing the official ``generate.py`` output for a network.

Images are written as ``seed{seed:04d}.png`` (or ``proj{idx:02d}.png`` for the ws of a
projection), with ``generate_args.json`` beside them.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Sequence

from stylegan2_jax.commands.common import add_network_args, add_render_args, generator_from_args, parse_seeds_arg


def add_parser(sub) -> None:
  """Registers ``generate``."""
  p = sub.add_parser('generate', help='generate images from seeds (as the official generate.py)')
  add_network_args(p)
  p.add_argument('--seeds', default=None, help='seeds, e.g. 0-7,42')
  p.add_argument('--projected-w', default=None, help="render the ws of a projector's projected_w.npz (or a .npy "
                 'of ws [N, num_ws, w_dim], as the browser demo downloads) instead of seeds')
  add_render_args(p, noise_modes=('const', 'random', 'none'))
  p.add_argument('--trunc-cutoff', type=int, default=None, help='truncate only the first N ws (default: all)')
  p.add_argument('--outdir', required=True, help='where to write seedNNNN.png (projNN.png for --projected-w)')
  p.set_defaults(run=run)


def run(args) -> None:
  """Writes the images the arguments describe."""
  if (args.seeds is None) == (args.projected_w is None):
    raise ValueError('give either --seeds or --projected-w')
  if args.projected_w:
    from stylegan2_jax.tools.projection_io import (  # pylint: disable=import-outside-toplevel
        check_projected_w_noise_mode, generate_from_projected_w)
    check_projected_w_noise_mode(args.noise_mode)  # before loading anything
    paths = generate_from_projected_w(generator_from_args(args), args.projected_w, args.outdir, args.noise_mode)
  else:
    paths = generate_to_dir(args.network, parse_seeds_arg(args.seeds), args.outdir, args.trunc, args.trunc_cutoff,
                            args.noise_mode, args.class_idx, args.batch_size, checkpoint=args.checkpoint)
  print(f'wrote {len(paths)} image{"" if len(paths) == 1 else "s"} to {args.outdir}')


def generate_to_dir(network: str | os.PathLike, seeds: Sequence[int], outdir: str | os.PathLike,
                    truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                    noise_mode: str = 'const', class_idx: int | None = None, batch_size: int = 8,
                    progress: bool = True, checkpoint: str = 'latest') -> list[pathlib.Path]:
  """Writes ``outdir/seed{seed:04d}.png`` per seed and ``outdir/generate_args.json``; returns the PNG paths."""
  from stylegan2_jax.loading import load_generator  # pylint: disable=import-outside-toplevel (a fast --help)
  from stylegan2_jax.sampling import generate_images, save_image  # pylint: disable=import-outside-toplevel
  net = load_generator(network, checkpoint)
  outdir = pathlib.Path(outdir)
  outdir.mkdir(parents=True, exist_ok=True)
  args = dict(network=str(network), checkpoint=checkpoint, seeds=list(seeds), truncation_psi=truncation_psi,
              truncation_cutoff=truncation_cutoff, noise_mode=noise_mode, class_idx=class_idx)
  (outdir / 'generate_args.json').write_text(json.dumps(args, indent=1))
  paths = []
  for seed, image in generate_images(net, seeds, truncation_psi, truncation_cutoff, noise_mode, class_idx,
                                     batch_size, progress):
    path = outdir / f'seed{seed:04d}.png'
    save_image(image, path)
    paths.append(path)
  return paths

"""``stylegan2-jax project``: the latents of real images (the official projector)."""

from __future__ import annotations

import json

from stylegan2_jax.commands.common import add_network_args, renderer_from_args
from stylegan2_jax.commands.projection_args import add_projection_args, lpips_from_args, settings_from_args


def add_parser(sub) -> None:
  """Registers ``project``."""
  p = sub.add_parser('project', help='find the latent of real images (the official projector)')
  add_network_args(p)
  p.add_argument('--target', required=True, nargs='+', help='image file(s) to project')
  p.add_argument('--outdir', required=True, help='where to write target.png, proj.png, projected_w.npz, proj.mp4')
  p.add_argument('--no-video', dest='video', action='store_false', help='skip proj.mp4 (faster)')
  add_projection_args(p)
  p.set_defaults(run=run)


def run(args) -> None:
  """Projects the targets and prints one JSON record per target."""
  from stylegan2_jax.tools.projection_io import project_to_dir  # pylint: disable=import-outside-toplevel
  settings = settings_from_args(args)
  lpips = lpips_from_args(args)
  records = project_to_dir(renderer_from_args(args), args.target, args.outdir, lpips, settings, args.video,
                           lpips_files=[f for f in (args.lpips, args.vgg16) if f])
  for record in records:
    print(json.dumps(record))

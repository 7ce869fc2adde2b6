"""``stylegan2-jax latent-map``: a 2D map blending four corner seeds."""

from __future__ import annotations

from stylegan2_jax.commands.common import add_network_args, add_render_args, parse_seeds_arg, renderer_from_args


def add_parser(sub) -> None:
  """Registers ``latent-map``."""
  p = sub.add_parser('latent-map', help='2D map blending four corner seeds (all, content or style layers)')
  add_network_args(p)
  add_render_args(p)
  p.add_argument('--corners', required=True, help='four seeds: top-left, top-right, bottom-left, bottom-right')
  p.add_argument('--size', type=int, default=8, help='cells per side (default 8)')
  p.add_argument('--mode', choices=['all', 'content', 'style'], default='all',
                 help='blend all ws, the coarse ones (content) or the fine ones (style)')
  p.add_argument('--layers', default=None, help='blend exactly these ws instead, e.g. 0-3')
  p.add_argument('--base-seed', type=int, default=None, help='seed of the ws not blended (default: corner average)')
  p.add_argument('--out', required=True, help='map PNG (arguments go beside it as .json)')
  p.set_defaults(run=run)


def run(args) -> None:
  """Writes the map the arguments describe."""
  from stylegan2_jax.tools.latent_maps import latent_map_to_file  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.tools.render import check_png_path  # pylint: disable=import-outside-toplevel
  check_png_path(args.out)
  corners = parse_seeds_arg(args.corners)
  out = latent_map_to_file(renderer_from_args(args), corners, args.out, args.size, args.mode, args.layers,
                           args.trunc, args.base_seed)
  print(f'wrote {out}')

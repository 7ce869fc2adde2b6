"""``stylegan2-jax interpolate``: an interpolation video (and frame grid) between seeds."""

from __future__ import annotations

from stylegan2_jax.commands.common import add_network_args, add_render_args, parse_seeds_arg, renderer_from_args


def add_parser(sub) -> None:
  """Registers ``interpolate``."""
  p = sub.add_parser('interpolate', help='interpolation video and frame grid between seeds')
  add_network_args(p)
  add_render_args(p)
  p.add_argument('--seeds', required=True, help='seeds to walk through, e.g. 0-5')
  p.add_argument('--frames', type=int, default=60, help='frames per transition (default 60)')
  p.add_argument('--fps', type=float, default=30, help='frames per second (default 30)')
  p.add_argument('--space', choices=['w', 'z'], default='w', help='linear in W (default) or spherical in Z')
  p.add_argument('--no-loop', dest='loop', action='store_false', help='stop on the last seed instead of looping')
  p.add_argument('--out', required=True, help='video: .mp4 (.gif where ffmpeg is missing) or .gif')
  p.add_argument('--grid', default=None, help='also write a PNG with one row per pair of consecutive seeds')
  p.add_argument('--grid-steps', type=int, default=8, help='images per grid row (default 8)')
  p.set_defaults(run=run)


def run(args) -> None:
  """Writes the video (and grid) the arguments describe."""
  from stylegan2_jax.tools.interpolation import interpolate_to_files  # pylint: disable=import-outside-toplevel
  seeds = parse_seeds_arg(args.seeds)
  written = interpolate_to_files(renderer_from_args(args), seeds, args.out, args.frames, args.fps, args.space,
                                 args.trunc, args.loop, args.grid, args.grid_steps)
  print('wrote ' + ', '.join(str(p) for p in written.values()))

"""``stylegan2-jax style-mix``: the paper's style-mixing grid."""

from __future__ import annotations

from stylegan2_jax.commands.common import add_network_args, add_render_args, parse_seeds_arg, renderer_from_args


def add_parser(sub) -> None:
  """Registers ``style-mix``."""
  p = sub.add_parser('style-mix', help="style-mixing grid (the paper's figure)")
  add_network_args(p)
  add_render_args(p)
  p.add_argument('--rows', required=True, help='row seeds, e.g. 85,100,75 (they give the styles at --styles)')
  p.add_argument('--cols', required=True, help='column seeds, e.g. 55,821,1789 (they give the other styles)')
  p.add_argument('--styles', default='0-6', help='ws taken from the row seeds, e.g. 0-3 coarse, 4-7 middle, 8- fine')
  p.add_argument('--styles-from', choices=['rows', 'cols'], default='rows',
                 help="which seeds give --styles (official style_mixing.py: cols)")
  p.add_argument('--out', required=True, help='grid PNG (arguments go beside it as .json)')
  p.add_argument('--save-cells', action='store_true', help='also write every cell as ROW-COL.png beside the grid')
  p.set_defaults(run=run)


def run(args) -> None:
  """Writes the grid (and cells) the arguments describe."""
  from stylegan2_jax.tools.render import check_png_path  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.tools.style_mixing import style_mix_to_files  # pylint: disable=import-outside-toplevel
  check_png_path(args.out)
  rows, cols = parse_seeds_arg(args.rows), parse_seeds_arg(args.cols)
  out = style_mix_to_files(renderer_from_args(args), rows, cols, args.styles, args.out, args.trunc, args.styles_from,
                           args.save_cells)
  print(f'wrote {out}')

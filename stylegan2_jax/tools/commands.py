"""The creative tools' subcommands: style-mix, interpolate, latent-map, project and detect."""

from __future__ import annotations

import json

NETWORK_HELP = 'a training workdir (its G_ema) or an official network pickle (.pkl)'


def _common(p, noise: bool = True, trunc: bool = True) -> None:
  p.add_argument('--network', required=True, help=NETWORK_HELP)
  p.add_argument('--checkpoint', default='latest', help="a workdir's checkpoint: latest, best (best.json) or a step")
  p.add_argument('--class', dest='class_idx', type=int, default=None, help='class label (conditional networks)')
  if trunc:
    p.add_argument('--trunc', type=float, default=1.0, help='truncation psi (default 1: none)')
  if noise:
    p.add_argument('--noise-mode', choices=['const', 'none'], default='const', help='noise inputs (default const)')
    p.add_argument('--batch-size', type=int, default=8, help='images per step, spread over all devices')


def _lpips_args(p) -> None:
  p.add_argument('--lpips', required=True, help="lpips's v0.1 heads vgg.pth (with --vgg16 for the trunk) or an .npz "
                 'of the whole lpips VGG state_dict')
  p.add_argument('--vgg16', default=None, help="torchvision's vgg16-397923af.pth, the VGG16 trunk for a heads-only "
                 '--lpips file')
  p.add_argument('--steps', type=int, default=1000, help='optimization steps (default 1000, as the official)')
  p.add_argument('--w-plus', action='store_true', help='optimize one w per layer (W+) instead of one w')
  p.add_argument('--seed', type=int, default=0, help='seed of the noise-map start and the w perturbations')
  p.add_argument('--w-avg-samples', type=int, default=10000, help='latents averaged for the starting w')


def _load_lpips(args) -> dict:
  from stylegan2_jax.metrics.lpips import load_lpips  # pylint: disable=import-outside-toplevel
  return load_lpips(args.lpips, args.vgg16)  # a missing file fails there, naming it and where to get it


def _settings(args):
  from stylegan2_jax.tools.projection import ProjectionSettings  # pylint: disable=import-outside-toplevel
  if args.steps < 1:
    raise ValueError(f'--steps must be positive, got {args.steps}')
  if args.w_avg_samples < 1:
    raise ValueError(f'--w-avg-samples must be positive, got {args.w_avg_samples}')
  return ProjectionSettings(num_steps=args.steps, w_plus=args.w_plus, seed=args.seed,
                            w_avg_samples=args.w_avg_samples)


def _add_style_mix(sub) -> None:
  p = sub.add_parser('style-mix', help="style-mixing grid (the paper's figure)")
  _common(p)
  p.add_argument('--rows', required=True, help='row seeds, e.g. 85,100,75 (they give the styles at --styles)')
  p.add_argument('--cols', required=True, help='column seeds, e.g. 55,821,1789 (they give the other styles)')
  p.add_argument('--styles', default='0-6', help='ws taken from the row seeds, e.g. 0-3 coarse, 4-7 middle, 8- fine')
  p.add_argument('--styles-from', choices=['rows', 'cols'], default='rows',
                 help="which seeds give --styles (official style_mixing.py: cols)")
  p.add_argument('--out', required=True, help='grid PNG (arguments go beside it as .json)')
  p.add_argument('--save-cells', action='store_true', help='also write every cell as ROW-COL.png beside the grid')

  def run(args) -> None:
    from stylegan2_jax.generate import parse_seeds  # pylint: disable=import-outside-toplevel
    from stylegan2_jax.tools.style_mixing import style_mix_to_files  # pylint: disable=import-outside-toplevel
    out = style_mix_to_files(args.network, parse_seeds(args.rows), parse_seeds(args.cols), args.styles, args.out,
                             args.trunc, args.styles_from, args.noise_mode, args.class_idx, args.checkpoint,
                             args.batch_size, args.save_cells)
    print(f'wrote {out}')
  p.set_defaults(run=run)


def _add_interpolate(sub) -> None:
  p = sub.add_parser('interpolate', help='interpolation video and frame grid between seeds')
  _common(p)
  p.add_argument('--seeds', required=True, help='seeds to walk through, e.g. 0-5')
  p.add_argument('--frames', type=int, default=60, help='frames per transition (default 60)')
  p.add_argument('--fps', type=float, default=30, help='frames per second (default 30)')
  p.add_argument('--space', choices=['w', 'z'], default='w', help='linear in W (default) or spherical in Z')
  p.add_argument('--no-loop', dest='loop', action='store_false', help='stop on the last seed instead of looping')
  p.add_argument('--out', required=True, help='video: .mp4 (.gif where ffmpeg is missing) or .gif')
  p.add_argument('--grid', default=None, help='also write a PNG with one row per pair of consecutive seeds')
  p.add_argument('--grid-steps', type=int, default=8, help='images per grid row (default 8)')

  def run(args) -> None:
    from stylegan2_jax.generate import parse_seeds  # pylint: disable=import-outside-toplevel
    from stylegan2_jax.tools.interpolation import interpolate_to_files  # pylint: disable=import-outside-toplevel
    written = interpolate_to_files(args.network, parse_seeds(args.seeds), args.out, args.frames, args.fps,
                                   args.space, args.trunc, args.loop, args.grid, args.grid_steps, args.noise_mode,
                                   args.class_idx, args.checkpoint, args.batch_size)
    print('wrote ' + ', '.join(str(p) for p in written.values()))
  p.set_defaults(run=run)


def _add_latent_map(sub) -> None:
  p = sub.add_parser('latent-map', help='2D map blending four corner seeds (all, content or style layers)')
  _common(p)
  p.add_argument('--corners', required=True, help='four seeds: top-left, top-right, bottom-left, bottom-right')
  p.add_argument('--size', type=int, default=8, help='cells per side (default 8)')
  p.add_argument('--mode', choices=['all', 'content', 'style'], default='all',
                 help='blend all ws, the coarse ones (content) or the fine ones (style)')
  p.add_argument('--layers', default=None, help='blend exactly these ws instead, e.g. 0-3')
  p.add_argument('--base-seed', type=int, default=None, help='seed of the ws not blended (default: corner average)')
  p.add_argument('--out', required=True, help='map PNG (arguments go beside it as .json)')

  def run(args) -> None:
    from stylegan2_jax.generate import parse_seeds  # pylint: disable=import-outside-toplevel
    from stylegan2_jax.tools.latent_maps import latent_map_to_file  # pylint: disable=import-outside-toplevel
    out = latent_map_to_file(args.network, parse_seeds(args.corners), args.out, args.size, args.mode, args.layers,
                             args.trunc, args.base_seed, args.noise_mode, args.class_idx, args.checkpoint,
                             args.batch_size)
    print(f'wrote {out}')
  p.set_defaults(run=run)


def _add_project(sub) -> None:
  p = sub.add_parser('project', help='find the latent of real images (the official projector)')
  _common(p, noise=False, trunc=False)
  p.add_argument('--target', required=True, nargs='+', help='image file(s) to project')
  p.add_argument('--outdir', required=True, help='where to write target.png, proj.png, projected_w.npz, proj.mp4')
  p.add_argument('--no-video', dest='video', action='store_false', help='skip proj.mp4 (faster)')
  _lpips_args(p)

  def run(args) -> None:
    from stylegan2_jax.tools.projection_io import project_to_dir  # pylint: disable=import-outside-toplevel
    settings = _settings(args)
    records = project_to_dir(args.network, args.target, args.outdir, _load_lpips(args), settings, args.video,
                             args.class_idx, args.checkpoint, lpips_files=[f for f in (args.lpips, args.vgg16) if f])
    for record in records:
      print(json.dumps(record))
  p.set_defaults(run=run)


def _add_detect(sub) -> None:
  p = sub.add_parser('detect', help='was this image generated by this network? (projection distance)')
  _common(p, noise=False, trunc=False)
  p.add_argument('images', nargs='+', help='image files to check')
  p.add_argument('--threshold', type=float, default=None, help='LPIPS distance below which an image counts as '
                 'generated (default: calibrated on --calibrate generated images)')
  p.add_argument('--calibrate', type=int, default=4, help='generated images projected for the threshold (default 4)')
  p.add_argument('--margin', type=float, default=1.5, help='threshold = margin x the largest calibration distance')
  p.add_argument('--out', default=None, help='also write the results as JSON lines to this file')
  _lpips_args(p)

  def run(args) -> None:
    from stylegan2_jax.tools.detect import detect, format_report, write_records  # pylint: disable=import-outside-toplevel
    records = detect(args.network, args.images, _load_lpips(args), _settings(args), args.threshold, args.calibrate,
                     args.margin, args.class_idx, args.checkpoint)
    print(format_report(records))
    if args.out:
      write_records(records, args.out)
  p.set_defaults(run=run)


def add_tool_commands(sub) -> None:
  """Registers the creative tools' subcommands."""
  for add in (_add_style_mix, _add_interpolate, _add_latent_map, _add_project, _add_detect):
    add(sub)

"""Arguments ``project`` and ``detect`` share: the LPIPS weights and the projector's settings."""

from __future__ import annotations


def add_projection_args(p) -> None:
  """``--lpips``, ``--vgg16`` and the projector's ``--steps``, ``--w-plus``, ``--seed``, ``--w-avg-samples``."""
  p.add_argument('--lpips', required=True, help="lpips's v0.1 heads vgg.pth (with --vgg16 for the trunk) or an .npz "
                 'of the whole lpips VGG state_dict')
  p.add_argument('--vgg16', default=None, help="torchvision's vgg16-397923af.pth, the VGG16 trunk for a heads-only "
                 '--lpips file')
  p.add_argument('--steps', type=int, default=1000, help='optimization steps (default 1000, as the official)')
  p.add_argument('--w-plus', action='store_true', help='optimize one w per layer (W+) instead of one w')
  p.add_argument('--seed', type=int, default=0, help='seed of the noise-map start and the w perturbations')
  p.add_argument('--w-avg-samples', type=int, default=10000, help='latents averaged for the starting w')


def lpips_from_args(args) -> dict:
  """The LPIPS variables ``--lpips`` (and ``--vgg16``) name; a missing file fails naming it and where to get it."""
  from stylegan2_jax.metrics.lpips import load_lpips  # pylint: disable=import-outside-toplevel
  return load_lpips(args.lpips, args.vgg16)


def settings_from_args(args):
  """The projector's settings, checked."""
  from stylegan2_jax.tools.projection import ProjectionSettings  # pylint: disable=import-outside-toplevel
  if args.steps < 1:
    raise ValueError(f'--steps must be positive, got {args.steps}')
  if args.w_avg_samples < 1:
    raise ValueError(f'--w-avg-samples must be positive, got {args.w_avg_samples}')
  return ProjectionSettings(num_steps=args.steps, w_plus=args.w_plus, seed=args.seed,
                            w_avg_samples=args.w_avg_samples)

"""``stylegan2-jax evaluate``: quality metrics of a trained generator, as JSON lines (see :mod:`stylegan2_jax.evaluate`)."""

from __future__ import annotations

from stylegan2_jax.commands.common import add_network_args


def add_parser(sub) -> None:
  """Registers ``stylegan2-jax evaluate``."""
  p = sub.add_parser('evaluate', help='quality metrics (FID, KID, precision/recall, PPL, IS) of a network')
  add_network_args(p, class_label=False)
  p.add_argument('--metrics', default='fid50k_full', help='comma-separated: fid50k_full, kid50k_full, pr50k3_full, '
                 'ppl2_wend, is50k, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend (default fid50k_full)')
  p.add_argument('--data', default=None, help="real images: a dataset name or a prepared directory (default: the "
                 "run's own dataset)")
  p.add_argument('--data-dir', default=None, help='where named datasets live (default: the run\'s, $TFDS_DATA_DIR or '
                 '~/tensorflow_datasets)')
  p.add_argument('--inception', default=None, help='pytorch-fid Inception weights pt_inception-2015-12-05-*.pth '
                 '(FID, KID, IS)')
  p.add_argument('--vgg16', default=None, help="torchvision's vgg16-397923af.pth (precision/recall)")
  p.add_argument('--lpips', default=None, help="lpips's v0.1 heads vgg.pth (with --vgg16 for the trunk) or an .npz "
                 'of the whole lpips VGG state_dict (PPL)')
  p.add_argument('--num-gen', type=int, default=None, help='generated images (default: the metric\'s own, 50000); '
                 'fewer for a quick look')
  p.add_argument('--batch-size', type=int, default=64, help='images per step, spread over all devices')
  p.add_argument('--cache-dir', default='~/.cache/stylegan2-jax/metrics', help='cache of real-image statistics')
  p.add_argument('--seed', type=int, default=0, help='seed of the generated samples')
  p.add_argument('--out', default=None, help='JSON lines file or directory to append to (default: the workdir)')

  def run(args) -> None:
    if args.num_gen is not None and args.num_gen <= 0:
      raise ValueError(f'--num-gen must be positive, got {args.num_gen}')
    from stylegan2_jax.evaluate import evaluate  # pylint: disable=import-outside-toplevel (a fast --help)
    evaluate(args.network, args.metrics.split(','), args.data, args.data_dir, args.out, args.checkpoint,
             inception=args.inception, vgg16=args.vgg16, lpips=args.lpips, num_gen=args.num_gen,
             batch_size=args.batch_size, cache_dir=args.cache_dir, seed=args.seed)
  p.set_defaults(run=run)

"""``stylegan2-jax evaluate``: quality metrics of a trained generator, as JSON lines.

    stylegan2-jax evaluate --network runs/ffhq --metrics fid50k_full,kid50k_full --inception pt_inception.pth

The network is a training workdir (its newest G_ema) or an official pickle; the
real data is a dataset name or a prepared directory (by default the run's own).
Each metric prints one JSON line, as the official ``calc_metrics.py`` writes
``metric-<name>.jsonl``, and is appended to that file in a workdir (or ``--out``).
"""

from __future__ import annotations

import json
import pathlib
import time
from typing import Sequence


def run_dataset(network: str | pathlib.Path) -> tuple[str | None, str | None]:
  """(dataset, data_dir) a training workdir was trained on, or (None, None)."""
  path = pathlib.Path(network) / 'config.json'
  if not path.exists():
    return None, None
  config = json.loads(path.read_text())
  return config.get('dataset'), config.get('data_dir')


def evaluate(network: str | pathlib.Path, metrics: Sequence[str], data: str | None = None,
             data_dir: str | None = None, out: str | pathlib.Path | None = None, checkpoint: str = 'latest',
             **context_kwargs) -> list[dict]:
  """Computes ``metrics`` for ``network`` against ``data``; returns the records and appends them as JSON lines.

  ``context_kwargs`` go to :class:`MetricContext` (``inception``, ``vgg16``, ``lpips``,
  ``num_gen``, ``batch_size``, ``cache_dir``, ``seed``, ``progress``).
  """
  # Imported here so that the command line starts quickly.
  from stylegan2_jax.data.datasets import load_dataset  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.generate import load_generator  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.metrics.metrics import MetricContext, compute_metric, parse_metrics  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.runs import is_run_dir  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.sharding import data_mesh  # pylint: disable=import-outside-toplevel

  names = parse_metrics(','.join(metrics))
  if data is None:
    data, run_data_dir = run_dataset(network)
    data_dir = data_dir or run_data_dir
    if data is None:
      raise ValueError(f'{network} is not a training workdir: pass the real data with --data (a dataset name or '
                       'a prepared directory)')
  net = load_generator(network, checkpoint)
  source = load_dataset(data, net.module.img_resolution, data_dir)
  ctx = MetricContext(net.module, net.variables, source, data_mesh(), **context_kwargs)
  if out is None and is_run_dir(network):
    out = pathlib.Path(network)
  records = []
  for name in names:
    record = compute_metric(name, ctx)
    record.update(network=str(network), checkpoint=checkpoint, data=str(data), timestamp=time.time())
    records.append(record)
    print(json.dumps(record), flush=True)
    if out is not None:
      path = pathlib.Path(out)
      path = path / f'metric-{name}.jsonl' if path.is_dir() else path
      with open(path, 'a', encoding='utf-8') as f:
        f.write(json.dumps(record) + '\n')
  return records


def add_evaluate_command(sub) -> None:
  """Registers ``stylegan2-jax evaluate``."""
  p = sub.add_parser('evaluate', help='quality metrics (FID, KID, precision/recall, PPL, IS) of a network')
  p.add_argument('--network', required=True, help='a training workdir (newest G_ema) or an official pickle (.pkl)')
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
  p.add_argument('--checkpoint', default='latest', help="a workdir's checkpoint: latest, best (best.json) or a step")
  p.add_argument('--out', default=None, help='JSON lines file or directory to append to (default: the workdir)')

  def run(args) -> None:
    if args.num_gen is not None and args.num_gen <= 0:
      raise ValueError(f'--num-gen must be positive, got {args.num_gen}')
    evaluate(args.network, args.metrics.split(','), args.data, args.data_dir, args.out, args.checkpoint,
             inception=args.inception, vgg16=args.vgg16, lpips=args.lpips, num_gen=args.num_gen,
             batch_size=args.batch_size, cache_dir=args.cache_dir, seed=args.seed)
  p.set_defaults(run=run)

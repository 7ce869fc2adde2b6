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
  from stylegan2_jax.loading import load_generator  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.metrics.metrics import MetricContext, compute_metric, parse_metrics  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.training.runs import is_run_dir  # pylint: disable=import-outside-toplevel
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

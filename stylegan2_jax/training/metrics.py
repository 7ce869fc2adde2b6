"""Quality metrics during training: ``--config.metrics=fid50k_full,...`` evaluated on G_ema at every checkpoint.

As the official loop (metrics at every network snapshot), each checkpoint saved by
interval and at the end of training first computes the metrics; the results go
to ``metrics.jsonl``, TensorBoard (``Metrics/<key>``) and the log. The first
metric ranks the snapshots: the best one is named in ``best.json`` and its
checkpoint is kept besides the newest ``keep_checkpoints``.
"""

from __future__ import annotations

import json
import pathlib

import ml_collections

from stylegan2_jax.files import write_text_atomically
from stylegan2_jax.metrics.metrics import METRICS, MetricContext, compute_metric, parse_metrics


class TrainingMetrics:
  """Evaluates the configured metrics on G_ema and tracks the best snapshot."""

  def __init__(self, config: ml_collections.ConfigDict, G, source, mesh, logger):
    self.names = parse_metrics(config.metrics)
    self.logger = logger
    self.context = MetricContext(G, None, source, mesh, inception=config.inception or None,
                                 vgg16=config.vgg16 or None, lpips=config.lpips or None,
                                 num_gen=config.metrics_num_gen or None, batch_size=config.metrics_batch,
                                 seed=config.seed, progress=False)

  @property
  def enabled(self) -> bool:
    """True if any metric is configured."""
    return bool(self.names)

  def evaluate(self, G_ema, step: int, nimg: int, best: dict | None) -> dict | None:
    """Computes every metric of G_ema, logs it, and returns the best-snapshot record (new or ``best``)."""
    self.context.G_variables = G_ema
    for name in self.names:
      record = compute_metric(name, self.context)
      self.logger.metric(dict(record, step=step, kimg=nimg / 1000), step)
      if name != self.names[0]:
        continue
      spec = METRICS[name]
      value = float(record['results'][spec.headline])
      better = best is None or (value < best['value'] if spec.lower_is_better else value > best['value'])
      if better:
        best = dict(metric=name, key=spec.headline, value=value, step=step, kimg=nimg / 1000)
        self.logger.info(f'new best {spec.headline} {value:.4g} at {nimg / 1000:.1f} kimg '
                         f'({record["total_time"]:.0f}s)')
    return best


def write_best(workdir: pathlib.Path, best: dict) -> None:
  """``workdir/best.json``: which checkpoint step holds the best snapshot, and its value."""
  write_text_atomically(pathlib.Path(workdir) / 'best.json', json.dumps(best, indent=2))

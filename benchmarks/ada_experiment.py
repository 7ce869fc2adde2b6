"""ADA on a small dataset: the demo config on a few hundred digits, trained with and without ADA.

    python -m benchmarks.ada_experiment          # 500 digits, 12 kimg each (2 x 13 min on 2 busy CPU cores)
    python -m benchmarks.ada_experiment --images 500 --kimg 30 --out runs/ada_experiment

Both runs use ``configs/demo.py`` with ``--config.max_images`` (the official
``--subset``) and the same seed and length; one with ``--config.augment=none``,
one with ``--config.augment=ada`` (``bgc``, target 0.6). ``--ada-kimg`` (default
10, the official 500) sets how fast p may move: at the official speed p could
rise by only 0.002 per kimg, invisible in a run this short. Writes, in ``--out``:
``ada_experiment.json`` (per run: rt and p per tick, the demo quality of the last
``G_ema``, the time) and ``ada_experiment.png`` (rt and p over kimg; matplotlib
comes with the ``demo`` extra's mlxtend). Prints the JSON.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import time

from benchmarks.demo_quality import demo_quality, digit_classifier
from configs.demo import get_config
from stylegan2_jax.training.loop import train_and_evaluate


def run_config(images: int, kimg: float, augment: str, ada_kimg: float, seed: int):
  """The demo config on ``images`` digits for ``kimg``, with ``augment`` ('none' or 'ada')."""
  config = get_config()
  config.update(max_images=images, total_kimg=kimg, augment=augment, ada_kimg=ada_kimg, seed=seed,
                kimg_per_tick=0.5, image_kimg=kimg, checkpoint_kimg=kimg)
  return config


def train(workdir: pathlib.Path, config) -> dict:
  """Trains a fresh run in ``workdir`` -> its rt and p per tick and the time it took."""
  if workdir.exists():
    shutil.rmtree(workdir)
  start = time.time()
  train_and_evaluate(config, workdir)
  ticks = [json.loads(line) for line in (workdir / 'metrics.jsonl').read_text().splitlines()]
  ticks = [t for t in ticks if 'tick' in t]
  return dict(seconds=round(time.time() - start), kimg=[t['kimg'] for t in ticks],
              rt=[round(t['rt'], 4) for t in ticks], p=[round(t.get('augment_p', 0.0), 4) for t in ticks],
              scores_real=[round(t['Dmain/scores_real'], 3) for t in ticks],
              scores_fake=[round(t['Dmain/scores_fake'], 3) for t in ticks])


def plot(results: dict, path: pathlib.Path, title: str) -> None:
  """rt of both runs and p of the ADA run over kimg, as a PNG."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
  for name, style in (('none', 'tab:red'), ('ada', 'tab:blue')):
    run = results[name]
    ax.plot(run['kimg'], run['rt'], color=style, label=f'rt, augment={name}')
  ax.plot(results['ada']['kimg'], results['ada']['p'], color='tab:blue', linestyle='--', label='p, augment=ada')
  ax.axhline(0.6, color='gray', linewidth=0.8, linestyle=':', label='ada_target 0.6')
  ax.set_xlabel('kimg')
  ax.set_title(title, fontsize=10)
  ax.set_ylim(-0.05, 1.05)
  ax.legend(loc='lower center', ncol=2, fontsize=8)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def main() -> None:
  """Command line: see the module docstring."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--images', type=int, default=500, help='digits to train on (--config.max_images)')
  parser.add_argument('--kimg', type=float, default=12.0, help='training length of each run')
  parser.add_argument('--ada-kimg', type=float, default=10.0, help='--config.ada_kimg of the ADA run')
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--out', default='runs/ada_experiment', help='workdirs, JSON and plot go here')
  args = parser.parse_args()
  out = pathlib.Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  classifier = digit_classifier()
  results = {}
  for augment in ('none', 'ada'):
    workdir = out / augment
    results[augment] = train(workdir, run_config(args.images, args.kimg, augment, args.ada_kimg, args.seed))
    quality = demo_quality(str(workdir), classifier=classifier)
    results[augment].update(label_accuracy=quality['label_accuracy'], class_entropy=quality['class_entropy'])
  summary = dict(benchmark='ada_experiment', images=args.images, kimg=args.kimg, ada_kimg=args.ada_kimg,
                 seed=args.seed, runs=results)
  (out / 'ada_experiment.json').write_text(json.dumps(summary, indent=1))
  plot(results, out / 'ada_experiment.png',
       f'demo config on {args.images} digits: rt = E[sign D(real)] and p (ada_kimg {args.ada_kimg:g})')
  print(json.dumps(summary))


if __name__ == '__main__':
  main()

"""``summarize`` reads a run's training metrics and the ``metric-<name>.jsonl`` files ``evaluate`` writes."""

import json

from stylegan2_jax import cli
from stylegan2_jax.summarize import read_run


def write_lines(path, *records, tail=''):
  path.write_text(''.join(json.dumps(r) + '\n' for r in records) + tail)


def test_metrics_computed_by_evaluate_are_summarized(tmp_path, capsys):
  run = tmp_path / 'run'
  run.mkdir()
  (run / 'config.json').write_text(json.dumps({'total_kimg': 10}))
  write_lines(run / 'metrics.jsonl', {'tick': 0, 'kimg': 10.0},
              {'metric': 'fid50k_full', 'kimg': 10.0, 'results': {'fid50k_full': 50.0}})
  # As evaluate appends them: one file per metric, one line per evaluation (the last one counts).
  evaluated = dict(total_time=1.0, num_gen=None, network=str(run), checkpoint='latest', data='demo', timestamp=1.0)
  write_lines(run / 'metric-fid50k_full.jsonl', dict(evaluated, metric='fid50k_full', results={'fid50k_full': 41.0}),
              dict(evaluated, metric='fid50k_full', results={'fid50k_full': 40.0}), tail='{"cut sho')
  write_lines(run / 'metric-pr50k3_full.jsonl', dict(evaluated, metric='pr50k3_full',
                                                     results={'pr50k3_full_precision': 0.5, 'pr50k3_full_recall': 0.25}))
  assert read_run(run) == dict(kimg=10.0, total_kimg=10, results={
      'fid50k_full': 40.0, 'pr50k3_full_precision': 0.5, 'pr50k3_full_recall': 0.25})
  assert cli.main(['summarize', str(run)]) == 0
  assert capsys.readouterr().out.splitlines()[-1] == '| run | 10 | 40 | 0.5 | 0.25 |'

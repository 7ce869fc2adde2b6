"""``stylegan2-jax summarize``: the final metrics of a sweep's runs (or any workdirs) as a Markdown/CSV table.

Each run's numbers come from its ``metrics.jsonl``: the last value of every metric
result (e.g. ``fid50k_full``, ``pr50k3_full_precision``) and the kimg it reached,
and from the ``metric-<name>.jsonl`` files that ``stylegan2-jax evaluate`` writes
into the workdir after training: their last line of each file, which takes
precedence over what training computed.
One row per run by default; with ``--rows KEY --cols KEY`` (or the sweep's
``LAYOUT``) the runs are laid out as the paper's tables: e.g. Table 1 with configs
as rows and datasets x metrics as columns, or the G x D architecture grid.
"""

from __future__ import annotations

import csv
import io
import json
import pathlib

MISSING = '-'


def _json_lines(path: pathlib.Path) -> list[dict]:
  """The JSON objects of a JSON-lines file, skipping lines cut short by a crash."""
  records = []
  for line in path.read_text().splitlines():
    try:
      record = json.loads(line)
    except json.JSONDecodeError:
      continue
    if isinstance(record, dict):
      records.append(record)
  return records


def read_run(workdir: pathlib.Path) -> dict:
  """A run's kimg, total_kimg and the last value of every metric result (empty if it has not started): from
  training's ``metrics.jsonl``, then ``evaluate``'s ``metric-<name>.jsonl`` files, which take precedence."""
  workdir = pathlib.Path(workdir)
  kimg, results = None, {}
  log = workdir / 'metrics.jsonl'
  if log.is_file():
    for record in _json_lines(log):
      if 'metric' in record:
        results.update(record.get('results', {}))
      elif 'kimg' in record:
        kimg = record['kimg']
  for path in sorted(workdir.glob('metric-*.jsonl')):
    evaluated = [r for r in _json_lines(path) if isinstance(r.get('results'), dict)] if path.is_file() else []
    if evaluated:
      results.update(evaluated[-1]['results'])
  config = workdir / 'config.json'
  total = json.loads(config.read_text()).get('total_kimg') if config.exists() else None
  return dict(kimg=kimg, total_kimg=total, results=results)


def collect(paths: list[str | pathlib.Path]) -> tuple[list[dict], dict]:
  """Runs of the given sweep roots (with ``sweep.json``) or workdirs -> (runs, the sweep's layout)."""
  runs, layout = [], {}
  for path in map(pathlib.Path, paths):
    sweep_json = path / 'sweep.json'
    if sweep_json.exists():
      sweep = json.loads(sweep_json.read_text())
      layout = layout or sweep.get('layout', {})
      for run in sweep['runs']:
        runs.append(dict(name=run['name'], settings=run['settings'], **read_run(path / run['name'])))
    elif (path / 'config.json').exists():
      runs.append(dict(name=path.name, settings={}, **read_run(path)))
    else:
      raise FileNotFoundError(f'{path} is neither a sweep root (sweep.json) nor a training workdir (config.json)')
  return runs, layout


def _number(value) -> str:
  if value is None:
    return MISSING
  return f'{value:.4g}' if isinstance(value, float) else str(value)


def _progress(run: dict) -> str:
  if run['kimg'] is None:
    return 'not started'
  done = run['total_kimg'] is not None and run['kimg'] >= run['total_kimg']
  return _number(run['kimg']) + ('' if done else ' (running)')


def summary_table(runs: list[dict], rows: str | None = None, cols: str | None = None,
                  metrics: list[str] | None = None) -> tuple[list[str], list[list[str]]]:
  """(header, rows of cells): one row per run, or a ``rows`` x (``cols`` x metrics) grid."""
  if metrics is None:
    metrics = sorted({k for run in runs for k in run['results']})
  if rows is None and cols is None:
    keys = list(dict.fromkeys(k for run in runs for k in run['settings']))
    header = ['run', *keys, 'kimg', *metrics]
    body = [[run['name'], *(_number(run['settings'].get(k)) for k in keys), _progress(run),
             *(_number(run['results'].get(m)) for m in metrics)] for run in runs]
    return header, body
  if rows is None or cols is None:
    raise ValueError('give both --rows and --cols (or neither)')
  row_values = list(dict.fromkeys(run['settings'].get(rows) for run in runs))
  col_values = list(dict.fromkeys(run['settings'].get(cols) for run in runs))
  cell = {(run['settings'].get(rows), run['settings'].get(cols)): run for run in runs}
  header = [rows] + [f'{c} {m}' if len(metrics) > 1 else str(c) for c in col_values for m in metrics]
  body = []
  for r in row_values:
    line = [str(r)]
    for c in col_values:
      run = cell.get((r, c))
      line += [_number(run['results'].get(m)) if run else MISSING for m in metrics]
    body.append(line)
  return header, body


def format_table(header: list[str], body: list[list[str]], fmt: str = 'md') -> str:
  """Markdown (``md``) or CSV text of a table."""
  if fmt == 'csv':
    out = io.StringIO()
    csv.writer(out, lineterminator='\n').writerows([header, *body])
    return out.getvalue()
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
  return '\n'.join(lines + ['| ' + ' | '.join(row) + ' |' for row in body]) + '\n'

"""Config-driven sweeps: a Python file of config arguments and overrides, expanded into named runs.

A sweep file defines:

- ``CONFIG``: the config file, e.g. ``'configs/ablations.py'`` (may carry ``:arg`` when ``ARGS`` is empty);
- ``ARGS`` (optional): the config file's arguments, each a list of values; every combination is a run
  (``{'config': ['B', 'E'], 'dataset': ['ffhq', 'lsun_car']}`` -> ``configs/ablations.py:config=B,dataset=ffhq``, ...);
- ``GRID`` (optional): ``--config.KEY`` overrides, each a list of values, crossed with ``ARGS``;
- ``OVERRIDES`` (optional): ``--config.KEY=VALUE`` for every run;
- ``LAYOUT`` (optional): how ``stylegan2-jax summarize`` lays out the table: ``rows``/``cols`` (keys of
  ``ARGS`` or ``GRID``) and ``metrics`` (result names, e.g. ``['fid50k_full', 'ppl_wend']``).

Each run's workdir is ``ROOT/<name>``, the name made of its varying settings
(``config-B_dataset-ffhq``); ``ROOT/sweep.json`` records the runs for ``summarize``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import pathlib
import re
import runpy
import shlex

from stylegan2_jax.files import write_text_atomically


@dataclasses.dataclass(frozen=True)
class SweepRun:
  """One run of a sweep: its name, config file argument, overrides and the settings that vary."""
  name: str
  config: str
  overrides: dict
  settings: dict  # the ARGS and GRID values of this run (what the summary's rows and columns use)

  def trainer_flags(self, root: pathlib.Path) -> list[str]:
    """The flags of ``python -m stylegan2_jax.main`` for this run."""
    return (['--config', self.config, '--workdir', str(pathlib.Path(root) / self.name)]
            + [f'--config.{k}={v}' for k, v in self.overrides.items()])


@dataclasses.dataclass(frozen=True)
class Sweep:
  """The expanded runs of a sweep file and its summary layout."""
  runs: list[SweepRun]
  layout: dict


def run_name(settings: dict) -> str:
  """A directory name from the varying settings: ``key-value`` pairs joined by ``_``, safe characters only."""
  if not settings:
    return 'run'
  parts = [f'{k}-{v}' for k, v in settings.items()]
  return re.sub(r'[^A-Za-z0-9._=+-]+', '-', '_'.join(parts)).strip('-')[:200]


def _grid(values: dict, what: str, path) -> list[dict]:
  for key, options in values.items():
    if not isinstance(options, (list, tuple)) or not options:
      raise ValueError(f'{path}: {what}[{key!r}] must be a non-empty list of values, got {options!r}')
  keys = list(values)
  return [dict(zip(keys, combo)) for combo in itertools.product(*(values[k] for k in keys))]


def load_sweep(path: str | pathlib.Path) -> Sweep:
  """Reads and expands a sweep file; raises ValueError naming what is wrong."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'sweep file {path} not found')
  spec = runpy.run_path(str(path))
  if 'CONFIG' not in spec:
    raise ValueError(f'{path}: define CONFIG, the config file every run uses (e.g. CONFIG = "configs/ablations.py")')
  config, args, grid = spec['CONFIG'], spec.get('ARGS', {}), spec.get('GRID', {})
  overrides, layout = dict(spec.get('OVERRIDES', {})), dict(spec.get('LAYOUT', {}))
  if args and ':' in config:
    raise ValueError(f'{path}: CONFIG {config!r} carries an argument and ARGS sets them too; use one of the two')
  unknown = set(layout) - {'rows', 'cols', 'metrics'}
  if unknown:
    raise ValueError(f'{path}: LAYOUT takes rows, cols and metrics, not {sorted(unknown)}')
  for axis in ('rows', 'cols'):
    if axis in layout and layout[axis] not in {**args, **grid}:
      raise ValueError(f'{path}: LAYOUT {axis}={layout[axis]!r} is not a key of ARGS or GRID')
  runs, names, grid_runs = [], set(), _grid(grid, 'GRID', path)
  for arg_values in _grid(args, 'ARGS', path):
    for grid_values in grid_runs:
      settings = {**arg_values, **grid_values}
      config_arg = config + (':' + ','.join(f'{k}={v}' for k, v in arg_values.items()) if arg_values else '')
      run = SweepRun(run_name(settings), config_arg, {**overrides, **grid_values}, settings)
      if run.name in names:
        raise ValueError(f'{path}: two runs are both named {run.name!r}; make the values distinct')
      names.add(run.name)
      runs.append(run)
  return Sweep(runs, layout)


def write_sweep_json(sweep: Sweep, root: pathlib.Path, sweep_file: str, prefix: list[str]) -> pathlib.Path:
  """``ROOT/sweep.json``: the sweep file, the layout and every run's name, settings, workdir and command."""
  root = pathlib.Path(root)
  root.mkdir(parents=True, exist_ok=True)
  record = dict(sweep_file=str(sweep_file), layout=sweep.layout, runs=[
      dict(name=r.name, settings=r.settings, config=r.config, overrides=r.overrides, workdir=str(root / r.name),
           command=shlex.join(prefix + r.trainer_flags(root))) for r in sweep.runs])
  return write_text_atomically(root / 'sweep.json', json.dumps(record, indent=2))

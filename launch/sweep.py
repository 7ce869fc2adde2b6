"""Runs a sweep: every run of a sweep file, one after another, each in its own workdir under ``--root``.

    python launch/sweep.py configs/sweeps/table1.py --root runs/table1 --dry-run   # print the commands
    python launch/sweep.py configs/sweeps/table1.py --root runs/table1             # run them here
    python launch/sweep.py configs/sweeps/table1.py --root /shared/table1 \\
        --prefix 'sbatch --nodes=2 launch/slurm.sbatch'                           # submit each to SLURM
    stylegan2-jax summarize runs/table1                                           # the results table

Each run's command is ``PREFIX --config ... --workdir ROOT/NAME --config.KEY=VALUE ...``
with ``PREFIX`` by default ``python -m stylegan2_jax.main`` (or e.g.
``python launch/local.py --processes 2 --`` for multi-process runs here). A
command run again resumes its workdir, so re-running a sweep continues it. A
failed run is reported and the sweep goes on with the next; the exit status is
1 if any failed.
"""

from __future__ import annotations

import argparse
import pathlib
import shlex
import subprocess
import sys

from stylegan2_jax.sweeps import load_sweep, write_sweep_json


def main(argv: list[str] | None = None) -> int:
  """Command line entry point."""
  parser = argparse.ArgumentParser(prog='launch/sweep.py', description=__doc__.split('\n\n')[0])
  parser.add_argument('sweep', help='a sweep file (CONFIG, ARGS, GRID, OVERRIDES, LAYOUT)')
  parser.add_argument('--root', required=True, help='directory holding one workdir per run')
  parser.add_argument('--prefix', default=None, help='command that runs or submits a training job '
                      '(default: python -m stylegan2_jax.main)')
  parser.add_argument('--dry-run', action='store_true', help='print the commands, run nothing')
  parser.add_argument('--only', default=None, help='run only the runs whose name contains this text')
  args = parser.parse_args(argv)
  try:
    sweep = load_sweep(args.sweep)
  except (ValueError, FileNotFoundError) as e:
    parser.error(str(e))
  prefix = shlex.split(args.prefix) if args.prefix else [sys.executable, '-m', 'stylegan2_jax.main']
  root = pathlib.Path(args.root)
  runs = [r for r in sweep.runs if args.only is None or args.only in r.name]
  if args.dry_run:
    for run in runs:
      print(shlex.join(prefix + run.trainer_flags(root)))
    return 0
  write_sweep_json(sweep, root, args.sweep, prefix)
  failed = []
  for i, run in enumerate(runs, 1):
    command = prefix + run.trainer_flags(root)
    print(f'sweep: run {i}/{len(runs)} {run.name}: {shlex.join(command)}', flush=True)
    code = subprocess.call(command)
    if code:
      print(f'sweep: run {run.name} failed with status {code}', flush=True)
      failed.append(run.name)
  print(f'sweep: {len(runs) - len(failed)} of {len(runs)} runs succeeded'
        + (f'; failed: {", ".join(failed)}' if failed else '') + f'. Summary: stylegan2-jax summarize {root}')
  return 1 if failed else 0


if __name__ == '__main__':
  sys.exit(main())

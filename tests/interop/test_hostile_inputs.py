"""Hostile and broken network files: each is refused with one clear line, within fixed memory and CPU bounds.

The inputs are generated (``hostile_files.py``) and read in a subprocess with
RLIMIT_AS and RLIMIT_CPU set (``hostile_runner.py``), so a regression that expands
a file instead of refusing it fails here instead of exhausting the machine. Files
of growing size (shared-reference depth, zip bomb size) must all be refused under
the same limits: the reader's cost does not grow with what a file claims to hold.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys

import pytest

from hostile_files import LAUGH_DEPTHS, ZIP_BOMB_MIB, write_cases

HERE = os.path.dirname(os.path.abspath(__file__))
# Limits of the reading process: the reader alone (numpy), and the network loaders (jax, which reserves more).
LIMITS = {'read': dict(as_mib=1024, cpu_s=60), 'load': dict(as_mib=6144, cpu_s=120)}
HANG_GUARD_S = 300  # a FIFO opened for reading blocks forever without using CPU; fail instead of waiting


def _run(cases, entry, tmp_path):
  path = tmp_path / f'{entry}_cases.json'
  path.write_text(json.dumps([c for c in cases if c['entry'] == entry]))
  limits = LIMITS[entry]
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu', 'PYTHONPATH': os.pathsep.join(
      [HERE, os.path.dirname(HERE), os.environ.get('PYTHONPATH', '')])}
  try:
    proc = subprocess.run([sys.executable, os.path.join(HERE, 'hostile_runner.py'), str(limits['as_mib']),
                           str(limits['cpu_s']), str(path)], capture_output=True, text=True, env=env,
                          timeout=HANG_GUARD_S, check=False)
    stdout, stderr, rc = proc.stdout, proc.stderr, proc.returncode
  except subprocess.TimeoutExpired as e:
    stdout, stderr, rc = (e.stdout or b'').decode(), (e.stderr or b'').decode(), 'hung'
  results, started = {}, None
  for line in stdout.splitlines():
    record = json.loads(line)
    if 'start' in record:
      started = record['start']
    else:
      results[record['name']] = record
  assert rc == 0, f'the reader died ({rc}) on {started}, within limits {limits}:\n{stderr[-2000:]}'
  return results


@pytest.fixture(scope='module')
def outcomes(tmp_path_factory):
  tmp_path = tmp_path_factory.mktemp('hostile')
  cases = write_cases(str(tmp_path / 'files'))
  results = {**_run(cases, 'read', tmp_path), **_run(cases, 'load', tmp_path)}
  return cases, results


def _check(cases, results, cls):
  problems = []
  for case in (c for c in cases if c['cls'] == cls):
    got = results[case['name']]
    if case['expect'] is None:
      if not got.get('ok'):
        problems.append(f"{case['name']}: should load, got {got}")
    elif 'error' not in got:
      problems.append(f"{case['name']}: should be refused with one line, got {got}")
    elif '\n' in got['message'] or got['length'] > 500 or not re.search(case['expect'], got['message']):
      problems.append(f"{case['name']}: message should match {case['expect']!r} on one short line, got "
                      f"{got['message'][:300]!r} ({got['length']} chars)")
  assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('cls', ['shared references', 'reader budget', 'zip bombs', 'not a regular file',
                                 'broken content'])
def test_hostile_inputs_get_one_clear_line(outcomes, cls):
  _check(*outcomes, cls)


def test_growing_bombs_stay_within_the_same_bounds(outcomes):
  """Deeper shared references and bigger zip bombs are all refused in the same process under the same limits."""
  cases, results = outcomes
  names = [f'laughs_device_{d}' for d in LAUGH_DEPTHS] + [f'zip_bomb_{m}mib' for m in ZIP_BOMB_MIB]
  assert all('error' in results[n] for n in names), {n: results[n] for n in names}
  # Peak memory of the whole reading process, after every bomb (the largest claims 2**200 values / 512 MiB).
  assert max(results[n]['maxrss_mib'] for n in names) < LIMITS['read']['as_mib'] // 2


def test_inventory(outcomes):
  """The counts the README's reliability section quotes."""
  cases, results = outcomes
  counts = collections.Counter(c['cls'] for c in cases)
  assert sum(counts.values()) == len(results) == 68, counts

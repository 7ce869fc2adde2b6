"""Shared test setup: float32-exact matmuls, and the reference fixtures made by the official code.

Fixtures are found through ``STYLEGAN2_JAX_FIXTURES`` (default ``../shared/fixtures``
beside the repository). Where they are absent the parity tests skip with the
reason, unless ``STYLEGAN2_JAX_REQUIRE_FIXTURES=1`` (set by ``.ci/run``), where
they fail instead.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile

import jax
import numpy as np
import pytest

jax.config.update('jax_default_matmul_precision', 'highest')

# Many tests compile the same tiny networks and training steps, in this process and in subprocesses: share
# the compiled programs through a persistent cache (the same program either way, so results are unchanged).
COMPILATION_CACHE = os.environ.setdefault(
    'JAX_COMPILATION_CACHE_DIR', os.path.join(tempfile.gettempdir(), f'stylegan2-jax-test-cache-{os.getuid()}'))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES', '0')
jax.config.update('jax_compilation_cache_dir', COMPILATION_CACHE)
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
jax.config.update('jax_persistent_cache_min_entry_size_bytes', 0)

REPO = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = pathlib.Path(os.environ.get('STYLEGAN2_JAX_FIXTURES', REPO.parent / 'shared' / 'fixtures')).resolve()
REQUIRE_FIXTURES = os.environ.get('STYLEGAN2_JAX_REQUIRE_FIXTURES', '') not in ('', '0')


def fixture_path(name: str) -> pathlib.Path:
  """Path of a reference fixture; skips the test (or fails, in CI) if it is missing."""
  path = FIXTURES / name
  if not path.exists():
    message = (f'reference fixture {path} not found: set STYLEGAN2_JAX_FIXTURES to the folder '
               'holding the official reference fixtures')
    if REQUIRE_FIXTURES:
      pytest.fail(message)
    pytest.skip(message)
  return path


def load_npz(name: str) -> dict:
  """Loads a fixture .npz into a dict (state-dict entries keep their dotted names)."""
  with np.load(fixture_path(name)) as data:
    return {k: data[k] for k in data.files}


def state_dict_of(data: dict) -> dict:
  """The state-dict entries (keys with a dot) of a fixture."""
  return {k: v for k, v in data.items() if '.' in k}


def init_kwargs_of(data: dict) -> dict:
  """The official constructor kwargs stored in a fixture."""
  return json.loads(str(data['init_kwargs_json']))


OFFICIAL_CASES = REPO / 'tests' / 'data' / 'official_cases'


def load_case(spec: str) -> dict:
  """A reference case: ``'fixtures:NAME'`` from the shared fixtures, ``'repo:NAME'`` from tests/data/official_cases."""
  where, name = spec.split(':', 1)
  if where == 'fixtures':
    return load_npz(name)
  with np.load(OFFICIAL_CASES / name) as data:
    return {k: data[k] for k in data.files}


def case_resolutions(data: dict, prefix: str) -> list[int]:
  """Resolutions of the per-block intermediates ``{prefix}b{res}_x`` present in a case, highest first."""
  keys = [k[len(prefix):] for k in data if k.startswith(prefix + 'b') and k.endswith('_x')]
  return sorted((int(k[1:-2]) for k in keys), reverse=True)


##### tiny training runs shared by the training tests ###############################################

def _train_tiny(workdir: pathlib.Path, **overrides) -> pathlib.Path:
  from stylegan2_jax.training.loop import train_and_evaluate  # pylint: disable=import-outside-toplevel
  from train_helpers import tiny_config  # pylint: disable=import-outside-toplevel (tests/training)
  train_and_evaluate(tiny_config(**overrides), workdir)
  return workdir


@pytest.fixture(scope='session')
def tiny_run(tmp_path_factory):
  """``configs/demo.py:tiny`` trained in one go (8 steps, checkpoints at 4 and 8) -> (workdir, its newest state
  flattened by ``train_helpers.run_params``). Shared by every test that asks: read it, or copy it to change it."""
  from train_helpers import run_params  # pylint: disable=import-outside-toplevel
  workdir = _train_tiny(tmp_path_factory.mktemp('tiny_run'))
  return workdir, run_params(workdir)


@pytest.fixture(scope='session')
def tiny_run_halfway(tmp_path_factory):
  """The first half of ``tiny_run`` as its own run (``total_kimg=0.032``: 4 steps, saved at the end), as a run
  stopped there leaves it. Shared: copy it (``shutil.copytree``) before resuming or changing it."""
  return _train_tiny(tmp_path_factory.mktemp('tiny_run_halfway'), total_kimg=0.032)

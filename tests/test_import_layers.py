"""The package's layering, checked on its import graph (``tests/import_graph.py`` prints it).

Networks know nothing of training; the importers, metrics and sampling know nothing of
the trainer or of the commands; the any-source loader sits above both importers and
trainer; only the command line imports the commands. Function-level imports count too.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO
from import_graph import import_graph

# part -> parts it must never import (directly, at module level or inside a function)
FORBIDDEN = {
    'ops': {'networks', 'losses', 'training', 'interop', 'metrics', 'sampling', 'loading', 'tools', 'commands', 'cli'},
    'networks': {'losses', 'training', 'interop', 'metrics', 'sampling', 'loading', 'tools', 'commands', 'cli'},
    'losses': {'training', 'interop', 'metrics', 'sampling', 'loading', 'tools', 'commands', 'cli'},
    'interop': {'training', 'loading', 'metrics', 'sampling', 'tools', 'commands', 'cli', 'export', 'evaluate'},
    'metrics': {'training', 'loading', 'tools', 'commands', 'cli', 'export', 'evaluate'},
    'sampling': {'training', 'loading', 'interop', 'metrics', 'tools', 'commands', 'cli'},
    'training': {'loading', 'interop', 'tools', 'commands', 'cli', 'export', 'evaluate', 'web'},
    'data': {'networks', 'losses', 'training', 'interop', 'metrics', 'sampling', 'loading', 'tools', 'commands', 'cli'},
    'loading': {'commands', 'cli', 'tools', 'metrics'},
    'tools': {'commands', 'cli', 'training'},
}


def test_no_part_imports_what_sits_above_it():
  graph = import_graph(REPO)
  bad = [f'{src} -> {dst}: {sorted(kinds["module"] | kinds["lazy"])}' for (src, dst), kinds in graph.items()
         if dst in FORBIDDEN.get(src, ())]
  assert not bad, '\n'.join(bad)


def test_only_the_command_line_imports_the_commands():
  graph = import_graph(REPO)
  assert {src for (src, dst) in graph if dst == 'commands'} <= {'cli', 'main'}


@pytest.mark.parametrize('config', ['configs/demo.py', 'configs/paper.py', 'configs/ffhq.py', 'configs/lsun.py',
                                    'configs/ablations.py'])
def test_reading_a_config_file_imports_no_jax(config):
  code = ('import runpy, sys; runpy.run_path(sys.argv[1])["get_config"](); '
          'heavy = sorted(m for m in ("jax", "flax", "optax", "orbax") if m in sys.modules); '
          'assert not heavy, heavy')
  subprocess.run([sys.executable, '-c', code, str(REPO / config)], check=True, cwd=REPO)

"""Every command the README shows runs as written, on tiny stand-ins (``readme_commands.make_workspace``).

Each README command is run in a clone-like folder, or, where that cannot be done
here, listed below with the reason and checked as far as it can be: its arguments
parsed (``PARSE_ONLY``), or only named (``EXTERNAL``: other programs). A command
the README gains that is in none of these lists is run; an entry that no longer
matches a README command fails the test, so the lists stay true.
"""

from __future__ import annotations

import os
import runpy
import shlex
import subprocess
import sys

import pytest
from absl import flags

from conftest import REPO
from readme_commands import expand_template, make_workspace, readme_commands, write_lpips_files
from stylegan2_jax import cli

# Commands (prefixes, with .venv/bin/ dropped) whose arguments are only parsed, and why they cannot run here.
PARSE_ONLY = {
    'stylegan2-jax train --config configs/demo.py --workdir runs/demo': 'the demo trains for about 7 minutes',
    'python launch/local.py': 'trains in two processes (tests/training/test_launch_local.py runs it, marked slow)',
    'launch/tpu_pod.sh train': 'needs gcloud and a TPU pod',
    'sbatch': 'needs SLURM (tests/training/test_cluster_scripts.py runs the script with a stand-in srun)',
    'PER_NODE=1 sbatch': 'needs SLURM (as above)',
    'python launch/sweep.py configs/sweeps/table1.py --root /shared/table1 --prefix':
        'submits every run to SLURM: checked with --dry-run, which prints the commands',
    'stylegan2-jax dataset ffhq': "needs NVIDIA's FFHQ images (70,000 PNGs at 1024 px, a download)",
    'stylegan2-jax dataset lsun': "needs tfds's LSUN download and TensorFlow",
    'stylegan2-jax train --config configs/ffhq.py:res=1024':
        'fine-tunes the official FFHQ network (stylegan2-ffhq-config-f.pkl, a download) at 1024 px',
    'stylegan2-jax evaluate': 'needs a trained FFHQ run, the FFHQ dataset and the Inception/VGG16 weights (downloads)',
    'stylegan2-jax train --config configs/demo.py --workdir runs/digits':
        'transfer learning, step 3: trains for minutes (tests/training/test_train_loop.py runs init_from)',
    'stylegan2-jax train --config configs/demo.py --workdir runs/sevens_ada':
        'transfer learning, step 4: trains for minutes (tests/training/test_ada.py runs ADA training)',
    "python -c import json for r in map(json.loads, open('runs/sevens_ada/metrics.jsonl')):":
        'reads the run of step 4, which is not run here (tests/training/test_ada.py checks its augment_p and rt); '
        'the code is compiled',
}
# Other programs, or ours in another environment: not run here.
EXTERNAL = {
    'python3 -m venv': 'makes the environment these tests run in',
    '.venv/bin/pip install -e': 'installs an extra (tests/test_extras.py checks each one is declared)',
    'python -m pytest': 'the test suite itself',
    'export TPU_NAME=': 'sets the shell variables of the TPU script',
    'launch/tpu_pod.sh setup': 'needs gcloud and a TPU pod',
    'cd web': 'Node.js builds the page (the browser tests use the built page)',
    'npm ci': 'Node.js builds the page',
    'npm run build': 'Node.js builds the page',
    '/tmp/tpu-venv/bin/pip install': 'makes the separate jax[tpu] environment of the TPU compile benchmark',
    '/tmp/tpu-venv/bin/python -m benchmarks.tpu_compile':
        'needs that jax[tpu] environment and compiles for 10-20 minutes a phase (tests/test_tpu_compile.py checks '
        'its settings and HLO ranking without libtpu)',
}
# Commands run with a change, and why.
ADJUSTED = {
    'stylegan2-jax project': (['--steps', '2', '--w-avg-samples', '64'], '1000 steps take minutes even here'),
    'stylegan2-jax detect': (['--steps', '2', '--w-avg-samples', '64', '--calibrate', '1'], 'as project'),
    'stylegan2-jax web': (['--serve'], 'run without --serve, which serves until stopped (tests/web runs the '
                          'server); the built page is replaced by a stand-in (building it needs Node.js)'),
}
# Synopses ([optional] parts, a|b choices, PLACEHOLDERS): run with every option, the first choice, these values.
TEMPLATES = {
    'stylegan2-jax summarize runs/table1': {},
    'stylegan2-jax dataset images --source ~/paintings --resolution 256': {'N': '3', 'DIR': 'datasets'},
    'stylegan2-jax dataset lsun': {'N': '3'},
    'stylegan2-jax export --network N': {'N': 'network-snapshot.pkl', 'FORMAT': 'safetensors', 'PATH': 'export'},
}
# The projector's commands, marked slow (they compile the LPIPS VGG16 and the projector's step).
PROJECTION = ('stylegan2-jax project', 'stylegan2-jax generate --network $N --projected-w', 'stylegan2-jax detect')


def normalized(tokens: list[str]) -> str:
  """The command as the tables name it: ``.venv/bin/`` dropped from our programs, whitespace runs as one space."""
  first = tokens[0].replace('.venv/bin/', '') if tokens[0] in ('.venv/bin/stylegan2-jax', '.venv/bin/python') \
      else tokens[0]
  return ' '.join(' '.join([first, *tokens[1:]]).split())


def entry(table: dict, command: str):
  """The key of ``table`` that ``command`` starts with, or None."""
  return next((key for key in table if command.startswith(key)), None)


def _expand(token: str, variables: dict) -> str:
  for name, value in variables.items():
    token = token.replace(f'${name}', value)
  return os.path.expanduser(os.path.expandvars(token))


def check_train_args(argv: list[str]) -> None:
  """The trainer's flags: each one known, the config file loads, every ``--config.KEY`` names a setting."""
  from stylegan2_jax.commands import train  # pylint: disable=import-outside-toplevel
  known = {flag.name for flag in flags.FLAGS.get_flags_for_module(train)}
  for token in argv:
    if token.startswith('--'):
      name = token[2:].split('=', 1)[0]
      assert name in known or name.startswith('config.'), f'unknown trainer flag {token}'
  spec = argv[argv.index('--config') + 1]
  path, _, arg = spec.partition(':')
  runpy.run_path(path)['get_config'](*([arg] if arg else []))
  assert train.override_error(argv) is None, train.override_error(argv)


def parse_only(tokens: list[str]) -> None:
  """Parses a command's arguments as its program would, without running it."""
  command = normalized(tokens)
  if command.startswith('python -c '):
    compile(tokens[2], 'README', 'exec')
  elif tokens[1:2] == ['train']:
    check_train_args(tokens[2:])
  elif tokens[0].endswith('stylegan2-jax'):
    cli.build_parser().parse_args(tokens[1:])
  elif 'launch/local.py' in tokens:
    local = runpy.run_path(str(REPO / 'launch' / 'local.py'))
    local['main'].__globals__['launch'] = lambda *args: 0  # parse, start nothing
    assert local['main'](tokens[2:]) == 0
    check_train_args(tokens[tokens.index('--') + 1:])
  elif 'launch/sweep.py' in tokens:
    assert runpy.run_path(str(REPO / 'launch' / 'sweep.py'))['main'](tokens[2:] + ['--dry-run']) == 0
  else:  # a launch script taking the trainer's flags
    script = next(t for t in tokens if t.startswith('launch/'))
    assert (REPO / script).is_file(), script
    check_train_args(tokens[tokens.index(script) + 1 + (script.endswith('.sh')):])
  assert command


def run(tokens: list[str]) -> None:
  """Runs one of our commands in this process; it must succeed."""
  command = normalized(tokens)
  if tokens[0].endswith('stylegan2-jax'):
    adjusted = entry(ADJUSTED, command)
    argv = tokens[1:]
    if adjusted == 'stylegan2-jax web':
      argv = [t for t in argv if t not in ADJUSTED[adjusted][0]]
    elif adjusted:
      argv += ADJUSTED[adjusted][0]
    assert cli.main(argv) == 0, command
  elif 'launch/sweep.py' in tokens:
    assert runpy.run_path(str(REPO / 'launch' / 'sweep.py'))['main'](tokens[2:]) == 0
  elif command.startswith('python -c '):  # a snippet: in the environment's Python, in the clone-like folder
    subprocess.run([sys.executable, *tokens[1:]], check=True, timeout=300)
  else:
    raise AssertionError(f'README command {command!r}: add it to EXTERNAL or PARSE_ONLY with the reason, or run it')


def readme_plan() -> list[tuple[int, str, list[str]]]:
  """(line, how, tokens) for every README command in order; ``how``: run, parse, external or variable."""
  plan = []
  for line, tokens in readme_commands():
    command = normalized(tokens)
    template = entry(TEMPLATES, command)
    if template is not None:
      tokens = expand_template(tokens, TEMPLATES[template])
    if len(tokens) == 1 and '=' in tokens[0]:
      how = 'variable'
    elif entry(EXTERNAL, command):
      how = 'external'
    elif entry(PARSE_ONLY, command):
      how = 'parse'
    else:
      how = 'run'
    plan.append((line, how, tokens))
  return plan


def test_the_lists_name_readme_commands_and_give_reasons():
  commands = [normalized(tokens) for _, tokens in readme_commands()]
  for table in (PARSE_ONLY, EXTERNAL, ADJUSTED, TEMPLATES):
    for key in table:
      assert any(c.startswith(key) for c in commands), f'{key!r} is no longer a README command'
  assert all(PARSE_ONLY.values()) and all(EXTERNAL.values()) and all(r for _, r in ADJUSTED.values())
  assert {how for _, how, _ in readme_plan()} == {'run', 'parse', 'external', 'variable'}


@pytest.fixture
def workspace(tmp_path, monkeypatch):
  """The folder the commands run in, as the current directory, with ``~`` and the tfds data dir inside it."""
  from stylegan2_jax.web import static_site  # pylint: disable=import-outside-toplevel
  root, home = tmp_path / 'clone', tmp_path / 'home'
  root.mkdir()
  make_workspace(root, home)
  page = tmp_path / 'page'
  page.mkdir()
  (page / 'index.html').write_text('<!doctype html><title>demo</title>')
  monkeypatch.setattr(static_site, 'PAGE_DIR', page)
  monkeypatch.setenv('HOME', str(home))
  monkeypatch.setenv('TFDS_DATA_DIR', str(home / 'tensorflow_datasets'))
  monkeypatch.chdir(root)
  return root


def run_plan(selected) -> list[str]:
  """Runs (or parses) the README commands ``selected(command)`` picks, in README order; returns what it did."""
  variables, done = {}, []
  for line, how, tokens in readme_plan():
    if how == 'variable':
      name, value = tokens[0].split('=', 1)
      variables[name] = value
      continue
    tokens = [_expand(t, variables) for t in tokens]
    if how == 'external' or not selected(normalized(tokens)):
      continue
    print(f'README line {line}: {how} {shlex.join(tokens)}', flush=True)
    (parse_only if how == 'parse' else run)(tokens)
    done.append(f'{line} {how}')
  return done


def _projection(command: str) -> bool:
  return any(command.startswith(p.replace('$N', 'network-snapshot.pkl')) for p in PROJECTION)


def test_readme_commands_run_as_written(workspace):
  done = run_plan(lambda command: not _projection(command))
  assert len(done) >= 20, done
  assert (workspace / 'out' / 'demo' / 'seed0015.png').is_file()  # the "Sample a run" command
  assert (workspace / 'mix.png').is_file() and (workspace / 'site' / 'network' / 'onnx.json').is_file()


@pytest.mark.slow
def test_readme_projection_commands_run_as_written(workspace):
  write_lpips_files(workspace)
  done = run_plan(_projection)
  assert len(done) == 3, done
  assert (workspace / 'again' / 'proj00.png').is_file()

"""The README's shell commands, as a user would copy them, and a clone-like folder with tiny stand-ins to run them in.

``readme_commands`` reads every fenced ``bash`` block (continuation lines and quoted
multi-line arguments joined, comments dropped, ``&&`` chains split) and every inline code span that is a full
``stylegan2-jax SUBCOMMAND --...`` command, with the README line it starts on.
``make_workspace`` builds the folder the commands run in: ``configs``, ``launch``
and ``web`` linked from the repository, and tiny networks and images under the
names the README uses; ``write_lpips_files`` adds random LPIPS weight files.
"""

from __future__ import annotations

import json
import pathlib
import re
import shlex

import numpy as np
import PIL.Image

from conftest import REPO
from interop.interop_helpers import TINY_G, random_network
from torch_pickles import torch_save_zip

FENCE = re.compile(r'^```(\w*)\s*$')
INLINE = re.compile(r'`((?:\.venv/bin/)?stylegan2-jax [a-z-]+ --[^`]*)`')


def readme_commands(readme: pathlib.Path = REPO / 'README.md') -> list[tuple[int, list[str]]]:
  """(README line, tokens) of every shell command the README shows."""
  commands = []
  lines = readme.read_text().splitlines()
  language, start, pending = None, 0, ''
  for number, line in enumerate(lines, 1):
    fence = FENCE.match(line)
    if fence:
      language = None if language is not None else fence.group(1)
      continue
    if language == 'bash':
      if not pending:
        start = number
      if line.endswith('\\'):
        pending += line[:-1] + ' '
        continue
      try:
        tokens = shlex.split(pending + line, comments=True)
      except ValueError:  # a quoted argument (python -c "...") goes on over the next lines
        pending += line + '\n'
        continue
      commands += [(start, chain) for chain in _split_chain(tokens)]
      pending = ''
    elif language is None:
      commands += [(number, shlex.split(m.group(1))) for m in INLINE.finditer(line)]
  return commands


def _split_chain(tokens: list[str]) -> list[list[str]]:
  """``a && b`` -> [a, b]; the parentheses of a subshell dropped."""
  chain, current = [], []
  for token in tokens + ['&&']:
    if token == '&&':
      if current:
        chain.append(current)
      current = []
    else:
      if token.startswith('(') and token.count('(') > token.count(')'):  # unbalanced: a subshell's parentheses
        token = token[1:]
      if token.endswith(')') and token.count(')') > token.count('('):
        token = token[:-1]
      current.append(token)
  return chain


def expand_template(tokens: list[str], values: dict[str, str]) -> list[str]:
  """A synopsis as a runnable command: ``[--opt X]`` -> ``--opt X``, ``a|b|c`` -> ``a``, placeholders -> ``values``."""
  out = []
  for token in tokens:
    token = token.strip('[]')
    if '|' in token and not token.startswith('-'):
      token = token.split('|')[0]
    out.append(values.get(token, token))
  return out


def _network(path: pathlib.Path, **kwargs) -> None:
  from stylegan2_jax.interop.torch_export import write_torch_export  # pylint: disable=import-outside-toplevel
  write_torch_export({'G_ema': random_network({**TINY_G, 'img_resolution': 32, **kwargs}, seed=1)}, path, pt=False)


def _image(path: pathlib.Path, seed: int, size: int = 40, channels: int = 3) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  pixels = np.random.RandomState(seed).randint(0, 256, (size, size, channels)[:3 if channels > 1 else 2])
  PIL.Image.fromarray(pixels.astype(np.uint8)).save(path)


def write_lpips_files(root: pathlib.Path) -> None:
  """Random stand-ins for lpips's heads file ``vgg.pth`` and torchvision's ``vgg16-397923af.pth`` (torch format)."""
  from stylegan2_jax.metrics.vgg16 import TAPS, VGG16_CONVS  # pylint: disable=import-outside-toplevel
  rng = np.random.RandomState(0)
  trunk, heads, channels_in = {}, {}, 3
  for name, index, channels in VGG16_CONVS:
    scale = np.sqrt(2 / (9 * channels_in))
    trunk[f'features.{index}.weight'] = (rng.randn(channels, channels_in, 3, 3) * scale).astype(np.float32)
    trunk[f'features.{index}.bias'] = np.zeros(channels, np.float32)
    if name in TAPS:
      heads[f'lin{TAPS.index(name)}.model.1.weight'] = rng.rand(1, channels, 1, 1).astype(np.float32) / channels
    channels_in = channels
  (root / 'vgg.pth').write_bytes(torch_save_zip(heads))
  (root / 'vgg16-397923af.pth').write_bytes(torch_save_zip(trunk))


def make_workspace(root: pathlib.Path, home: pathlib.Path) -> None:
  """The clone-like folder the README's commands run in (see the module docstring); ``home`` is ``~``."""
  for name in ('configs', 'launch', 'web'):
    (root / name).symlink_to(REPO / name)
  # runs/demo: the demo's generator shape (conditional on 10 digit labels, grayscale, 32 px), untrained.
  _network(root / 'runs' / 'demo', c_dim=10, img_channels=1)
  for name in ('network-snapshot-025000.pkl', 'network-snapshot.pkl'):  # read by content, not by name
    _network(root / name)
  for name, seed in (('photo.png', 1), ('photo1.png', 2), ('photo2.png', 3)):
    _image(root / name, seed)
  for label in ('cats', 'dogs'):  # class subfolders, for --labels
    for i in range(2):
      _image(home / 'paintings' / label / f'{i}.png', 10 * i + len(label), size=48)
  from stylegan2_jax.sweeps import load_sweep, write_sweep_json  # pylint: disable=import-outside-toplevel
  sweep_file = REPO / 'configs' / 'sweeps' / 'table1.py'
  write_sweep_json(load_sweep(str(sweep_file)), root / 'runs' / 'table1', str(sweep_file),
                   ['python', '-m', 'stylegan2_jax.main'])
  json.loads((root / 'runs' / 'table1' / 'sweep.json').read_text())  # a sweep as launched, before any training

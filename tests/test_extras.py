"""A missing optional dependency is named with the README's own install command."""

import configparser
import re

import pytest

from conftest import REPO
from stylegan2_jax.extras import install_command
from stylegan2_jax.interop.torch_export import MissingExtraError, require_extra

README = (REPO / 'README.md').read_text()


def extras_used_by_the_package() -> set[str]:
  """The extras named by require_extra(...) / missing_extra_message(...) calls in the package's source."""
  calls = re.compile(r"missing_extra_message\(\s*'[^']*',\s*'[^']*',\s*'([^']*)'"  # (what, package, extra)
                     r"|require_extra\(\s*'[^']*',\s*'([^']*)'")  # (module, extra, what)
  found = set()
  for path in (REPO / 'stylegan2_jax').rglob('*.py'):
    for match in calls.finditer(path.read_text()):
      found.add(match.group(1) or match.group(2))
  return found


def test_every_extra_the_package_names_is_installed_as_the_readme_says():
  declared = configparser.ConfigParser()
  declared.read(REPO / 'setup.cfg')
  extras = set(declared['options.extras_require'])
  used = extras_used_by_the_package()
  assert {'torch', 'onnx', 'tf', 'web', 'demo'} <= used <= extras
  for extra in sorted(extras):
    assert install_command(extra) in README, f'the README never shows {install_command(extra)}'


def test_the_missing_extra_error_gives_the_readme_command(monkeypatch):
  monkeypatch.setitem(__import__('sys').modules, 'torch', None)  # as if torch were not installed
  with pytest.raises(MissingExtraError) as error:
    require_extra('torch', 'torch', 'writing .pt files')
  assert str(error.value) == ("writing .pt files needs torch, which is not installed: "
                              ".venv/bin/pip install -e '.[torch]' (in the stylegan2-jax clone)")
  assert install_command('torch') in README

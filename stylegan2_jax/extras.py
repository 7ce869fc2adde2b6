"""The optional dependencies (setup.cfg extras) as the README installs them, for the messages that name one."""

from __future__ import annotations


def install_command(extra: str) -> str:
  """The README's command that installs ``extra`` into the clone's virtual environment."""
  return f".venv/bin/pip install -e '.[{extra}]'"


def missing_extra_message(what: str, package: str, extra: str) -> str:
  """One line: ``what`` needs ``package``, and the command that installs it (run in the stylegan2-jax clone)."""
  return f'{what} needs {package}, which is not installed: {install_command(extra)} (in the stylegan2-jax clone)'

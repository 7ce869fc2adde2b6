"""Writing files so that a crash never leaves a half-written one under the final name."""

from __future__ import annotations

import os
import pathlib


def write_atomically(path: str | os.PathLike, write) -> pathlib.Path:
  """``write(tmp_path)`` then renames it to ``path``: a crash never leaves a half-written file under ``path``."""
  path = pathlib.Path(path)
  tmp = path.with_name(path.name + '.partial')
  write(str(tmp))
  os.replace(tmp, path)
  return path


def write_text_atomically(path: str | os.PathLike, text: str) -> pathlib.Path:
  """Writes ``text`` to ``path`` through :func:`write_atomically`."""
  return write_atomically(path, lambda tmp: pathlib.Path(tmp).write_text(text))

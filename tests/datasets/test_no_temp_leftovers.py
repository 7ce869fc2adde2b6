"""Building a dataset leaves nothing in the system's temporary folder.

tfds looks every unprepared dataset up on its public bucket through a fresh
temporary folder it never removes; our datasets are never there, so the lookup
is skipped (one leftover folder per builder, hundreds over a test run, before).
"""

from __future__ import annotations

import tempfile

from PIL import Image

from stylegan2_jax.data.ffhq import Ffhq
from stylegan2_jax.data.image_collection import image_collection_builder
from stylegan2_jax.data.lsun import LsunConfig, Stylegan2Lsun
from stylegan2_jax.data.prepare import prepare


def test_building_and_preparing_datasets_leaves_no_temporary_folders(tmp_path, monkeypatch):
  scratch = tmp_path / 'system-tmp'
  scratch.mkdir()
  monkeypatch.setattr(tempfile, 'tempdir', str(scratch))
  source = tmp_path / 'raw'
  source.mkdir()
  Image.new('RGB', (8, 8)).save(source / 'a.png')
  prepare(image_collection_builder(str(source), resolution=4, data_dir=str(tmp_path / 'data'), name='tiny'))
  Ffhq(config='256', data_dir=str(tmp_path / 'data'))
  Stylegan2Lsun(config=LsunConfig(name='cat-8', category='cat', resolution=8), data_dir=str(tmp_path / 'data'))
  assert list(scratch.iterdir()) == []

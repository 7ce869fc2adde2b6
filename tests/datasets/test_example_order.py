"""Every usable source item becomes exactly one example, in source order, whatever the thread count."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from stylegan2_jax.data.datasets import load_dataset
from stylegan2_jax.data.ffhq import ffhq_builder
from stylegan2_jax.data.image_collection import image_collection_builder
from stylegan2_jax.data.lsun import lsun_builder
from stylegan2_jax.data.prepare import SkipReport, prepare, process_items
from stylegan2_jax.data.sources import TfdsSource


def _colour(i: int) -> tuple[int, int, int]:
  return (i * 6, 255 - i * 5, (i * 37) % 256)  # distinct for i < 43


@pytest.mark.parametrize('num_threads', [1, 2, 3, 8])
def test_process_items_yields_every_item_once_in_order(num_threads):
  skipped = SkipReport()
  out = list(process_items(iter(range(100)), lambda i: (str(i), {'i': i}), skipped, num_threads))
  assert [key for key, _ in out] == [str(i) for i in range(100)] and not skipped.items


def test_process_items_keeps_order_around_skipped_items():
  skipped = SkipReport()

  def fn(i):
    if i % 7 == 3:
      raise OSError('bad file')
    return str(i), {}
  out = [key for key, _ in process_items(range(50), fn, skipped, 2)]
  assert out == [str(i) for i in range(50) if i % 7 != 3]
  assert [item for item, _ in skipped.items] == [str(i) for i in range(50) if i % 7 == 3]


@pytest.fixture(scope='module')
def colour_folder(tmp_path_factory):
  """40 valid 8x8 PNGs, each one solid, distinct colour, named in order."""
  root = tmp_path_factory.mktemp('colours')
  for i in range(40):
    Image.new('RGB', (8, 8), _colour(i)).save(root / f'img_{i:02d}.png')
  return root


@pytest.mark.parametrize('num_threads', [1, 2, 3, 8])
def test_image_folder_keeps_every_image_in_path_order(colour_folder, tmp_path, num_threads):
  builder = image_collection_builder(str(colour_folder), 4, data_dir=str(tmp_path), name='colours',
                                     num_threads=num_threads)
  summary = prepare(builder)
  assert (summary['images'], summary['skipped']) == (40, 0)
  source = TfdsSource(builder.data_dir)
  assert len(source) == 40
  for i in range(40):
    image, _ = source.read(i)
    assert (image == np.array(_colour(i), np.uint8)[:, None, None]).all(), f'example {i}'
    assert source._source[i]['filename'].decode() == f'img_{i:02d}.png'


def test_ffhq_example_i_is_file_i(tmp_path):
  archive = tmp_path / 'images1024x1024.zip'
  with zipfile.ZipFile(archive, 'w') as z:
    for i in range(10):
      buffer = io.BytesIO()
      Image.new('RGB', (1024, 1024), _colour(i)).save(buffer, format='PNG', compress_level=1)
      z.writestr(f'images1024x1024/00000/{i:05d}.png', buffer.getvalue())
  summary = prepare(ffhq_builder(4, str(archive), str(tmp_path / 'data'), num_threads=1))
  assert (summary['images'], summary['skipped']) == (10, 0)
  source = load_dataset('ffhq', 4, str(tmp_path / 'data'))
  for i in range(10):
    assert (source.read(i)[0] == np.array(_colour(i), np.uint8)[:, None, None]).all(), f'example {i}'


def test_lsun_keeps_the_source_order(tmp_path):
  records = [dict(image=np.full((8, 8, 3), _colour(i), np.uint8), id=f'id{i:02d}'.encode()) for i in range(20)]
  summary = prepare(lsun_builder('cat', 4, data_dir=str(tmp_path), source=records, num_threads=1))
  assert (summary['images'], summary['skipped']) == (20, 0)
  source = load_dataset('lsun_cat', 4, str(tmp_path))
  assert [source._source[i]['id'].decode() for i in range(20)] == [f'id{i:02d}' for i in range(20)]

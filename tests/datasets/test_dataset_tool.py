"""The dataset tool end to end: image trees and zips with bad files, FFHQ from fake originals, LSUN from mock tfds."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from stylegan2_jax.cli import main as cli_main
from stylegan2_jax.data.datasets import load_dataset
from stylegan2_jax.data.image_prep import box_downsample, transform_image
from stylegan2_jax.data.lsun import lsun_builder
from stylegan2_jax.data.prepare import prepare
from stylegan2_jax.data.sources import TfdsSource


def _save(path, array, fmt=None, mode=None):
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.fromarray(array, mode).save(path, format=fmt)


@pytest.fixture()
def image_tree(tmp_path):
  """Two class folders with RGB, grayscale, RGBA, palette and odd-size files, plus corrupt and stray files."""
  rng = np.random.RandomState(0)
  root = tmp_path / 'raw'
  _save(root / 'cats' / 'a.png', rng.randint(0, 256, (20, 30, 3), np.uint8))
  _save(root / 'cats' / 'b.jpg', rng.randint(0, 256, (33, 17), np.uint8))  # grayscale JPEG, odd size
  _save(root / 'cats' / 'c.webp', rng.randint(0, 256, (16, 16, 4), np.uint8))  # RGBA
  Image.fromarray(rng.randint(0, 256, (12, 12, 3), np.uint8)).convert('P').save(root / 'dogs' / 'p.gif') \
      if (root / 'dogs').mkdir() is None else None
  _save(root / 'dogs' / 'sub' / 'd.png', rng.randint(0, 256, (8, 8, 3), np.uint8))  # nested: still 'dogs'
  (root / 'dogs' / 'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n truncated')
  (root / 'dogs' / 'empty.jpg').write_bytes(b'')
  (root / 'notes.txt').write_text('not an image')
  _save(root / 'loose.png', rng.randint(0, 256, (8, 8, 3), np.uint8))  # no class folder
  return root


def _run_tool(*args) -> None:
  assert cli_main(['dataset', *map(str, args)]) == 0


def test_image_tree_with_labels_skips_and_reports_bad_files(image_tree, tmp_path, capsys):
  _run_tool('images', '--source', image_tree, '--resolution', 8, '--labels', '--name', 'pets',
            '--data-dir', tmp_path / 'data')
  out = capsys.readouterr().out
  assert '5 images, 8x8, RGB' in out and 'labels: cats, dogs' in out and 'skipped: 4' in out
  path = tmp_path / 'data' / 'stylegan2_images' / 'pets' / '1.0.0'
  assert f'--config.dataset={path} --config.resolution=8 --config.conditional=True' in out
  report = json.loads((path / 'stylegan2_report.json').read_text())
  reasons = {entry['item']: entry['reason'].split(':')[0] for entry in report['skipped_files']}
  assert reasons == {'notes.txt': 'not an image', 'dogs/corrupt.png': 'unreadable', 'dogs/empty.jpg': 'unreadable',
                     'loose.png': 'no class'}

  source = TfdsSource(path)
  assert (len(source), source.resolution, source.channels, source.num_classes) == (5, 8, 3, 2)
  names = [source._source[i]['filename'].decode() for i in range(5)]
  assert names == ['cats/a.png', 'cats/b.jpg', 'cats/c.webp', 'dogs/p.gif', 'dogs/sub/d.png']  # path order
  image, label = source.read(0)
  expected = transform_image(Image.open(image_tree / 'cats' / 'a.png').convert('RGB'), 8, 'center-crop')
  np.testing.assert_array_equal(image, expected.transpose(2, 0, 1))
  assert label == 0 and source.read(4)[1] == 1

  # Preparing again reuses the dataset and its report.
  _run_tool('images', '--source', image_tree, '--resolution', 8, '--labels', '--name', 'pets',
            '--data-dir', tmp_path / 'data')
  assert 'skipped: 4' in capsys.readouterr().out


def test_zip_source_grayscale_without_labels(image_tree, tmp_path, capsys):
  archive = tmp_path / 'raw.zip'
  with zipfile.ZipFile(archive, 'w') as z:
    for path in sorted(image_tree.rglob('*')):
      if path.is_file():
        z.write(path, path.relative_to(image_tree).as_posix())
  _run_tool('images', '--source', archive, '--resolution', 4, '--channels', 1, '--transform', 'pad',
            '--data-dir', tmp_path / 'data')
  out = capsys.readouterr().out
  assert '6 images, 4x4, grayscale' in out and 'labels: none' in out and 'skipped: 3' in out
  source = load_dataset(str(tmp_path / 'data' / 'stylegan2_images' / 'raw_4'), 4)
  image, label = source.read(0)
  assert image.shape == (1, 4, 4) and label == -1 and source.num_classes == 0


def test_bad_arguments_fail_with_a_message(tmp_path, capsys):
  assert cli_main(['dataset', 'images', '--source', str(tmp_path / 'nowhere'), '--resolution', '8']) == 2
  assert 'does not exist' in capsys.readouterr().err
  assert cli_main(['dataset', 'images', '--source', str(tmp_path), '--resolution', '12']) == 2
  assert 'power of two' in capsys.readouterr().err
  (tmp_path / 'junk.txt').write_text('x')
  assert cli_main(['dataset', 'images', '--source', str(tmp_path), '--resolution', '8',
                   '--data-dir', str(tmp_path / 'data')]) == 2
  assert 'no usable images' in capsys.readouterr().err


def test_ffhq_from_the_original_pngs_is_box_downsampled(tmp_path, capsys):
  rng = np.random.RandomState(4)
  originals = [rng.randint(0, 256, (1024, 1024, 3), np.uint8) for _ in range(2)]
  archive = tmp_path / 'images1024x1024.zip'
  with zipfile.ZipFile(archive, 'w') as z:
    for i, image in enumerate(originals):
      buffer = io.BytesIO()
      Image.fromarray(image).save(buffer, format='PNG', compress_level=1)
      z.writestr(f'images1024x1024/00000/{i:05d}.png', buffer.getvalue())
    z.writestr('images1024x1024/00000/00002.png', _png_bytes(rng.randint(0, 256, (512, 512, 3), np.uint8)))
    z.writestr('LICENSE.txt', 'licence')
  _run_tool('ffhq', '--source', archive, '--resolution', 8, '--data-dir', tmp_path / 'data')
  out = capsys.readouterr().out
  assert '2 images, 8x8, RGB' in out and 'wrong size' in out
  assert '--config.dataset=ffhq --config.resolution=8 --config.data_dir=' in out
  source = load_dataset('ffhq', 8, str(tmp_path / 'data'))
  for i, original in enumerate(originals):  # example i is file i
    np.testing.assert_array_equal(source.read(i)[0], box_downsample(original, 8).transpose(2, 0, 1))
  with pytest.raises(FileNotFoundError, match='dataset ffhq --source PATH --resolution 16'):
    load_dataset('ffhq', 16, str(tmp_path / 'data'))


def _png_bytes(array):
  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format='PNG')
  return buffer.getvalue()


@pytest.mark.parametrize('category,resolution', [('cat', 8), ('car', 16)])
def test_lsun_from_tfds_with_the_official_preprocessing(category, resolution, tmp_path):
  with tfds.testing.mock_data(num_examples=12):
    source = tfds.data_source(f'lsun/{"church_outdoor" if category == "church" else category}', split='train')
  records = [source[i] for i in range(12)]
  builder = lsun_builder(category, resolution, data_dir=str(tmp_path), source=records)
  summary = prepare(builder)
  transform = 'center-crop' if category == 'cat' else 'center-crop-wide'
  expected = []
  for record in records:
    try:
      expected.append(transform_image(Image.fromarray(record['image']), resolution, transform))
    except ValueError:
      pass
  assert summary['images'] == len(expected) > 0 and summary['skipped'] == 12 - len(expected)
  prepared = load_dataset(f'lsun_{category}', resolution, str(tmp_path))
  for i, image in enumerate(expected):
    np.testing.assert_array_equal(prepared.read(i)[0], image.transpose(2, 0, 1))
  if category == 'car':  # 4:3 content in a square black frame
    assert (np.stack(expected)[:, :2] == 0).all() and (np.stack(expected)[:, -2:] == 0).all()


def test_unknown_dataset_names_the_known_ones():
  with pytest.raises(ValueError, match='unknown dataset .*demo_mnist.*ffhq.*lsun_cat'):
    load_dataset('imagenet', 32)

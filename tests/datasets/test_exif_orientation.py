"""EXIF orientation: image folders and zips come out as a photo viewer shows them; FFHQ and LSUN as stored."""

from __future__ import annotations

import io
import json
import pathlib
import zipfile

import numpy as np
import pytest
from PIL import Image

from stylegan2_jax.cli import main as cli_main
from stylegan2_jax.data.datasets import load_dataset
from stylegan2_jax.data.ffhq import ffhq_builder
from stylegan2_jax.data.image_collection import image_collection_builder
from stylegan2_jax.data.image_prep import (EXIF_ORIENTATION, box_downsample, decode_image,
                                           decode_image_and_orientation, transform_image)
from stylegan2_jax.data.lsun import lsun_builder
from stylegan2_jax.data.prepare import prepare
from stylegan2_jax.data.sources import TfdsSource

# How each orientation's stored pixels relate to the upright picture (EXIF 2.3, tag 0x0112): the stored array
# is the upright one with the inverse of the viewer's operation applied.
STORED_FROM_UPRIGHT = {
    1: lambda a: a,
    2: np.fliplr,                              # viewer mirrors left-right
    3: lambda a: np.rot90(a, 2),               # viewer turns 180 degrees
    4: np.flipud,                              # viewer mirrors top-bottom
    5: lambda a: a.transpose(1, 0, 2),         # viewer mirrors across the main diagonal
    6: lambda a: np.rot90(a, 1),               # viewer turns 90 degrees clockwise
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),  # viewer mirrors across the other diagonal
    8: lambda a: np.rot90(a, -1),              # viewer turns 90 degrees counter-clockwise
}


def _upright() -> np.ndarray:
  """16 rows x 24 columns of six distinct 8x8 blocks: no symmetry, so every orientation looks different."""
  colours = np.array([[[250, 0, 0], [0, 250, 0], [0, 0, 250]], [[250, 250, 0], [0, 250, 250], [250, 0, 250]]],
                     np.uint8)
  return np.kron(colours, np.ones((8, 8, 1), np.uint8))


def _photo(stored: np.ndarray, orientation: int, fmt: str = 'JPEG') -> bytes:
  exif = Image.Exif()
  exif[EXIF_ORIENTATION] = orientation
  buffer = io.BytesIO()
  options = dict(quality=100, subsampling=0) if fmt == 'JPEG' else {}
  Image.fromarray(np.ascontiguousarray(stored)).save(buffer, format=fmt, exif=exif, **options)
  return buffer.getvalue()


@pytest.mark.parametrize('orientation', range(1, 9))
def test_decode_turns_a_photo_as_its_orientation_says(orientation):
  upright = _upright()
  data = _photo(STORED_FROM_UPRIGHT[orientation](upright), orientation)
  image, found = decode_image_and_orientation(data, exif_transpose=True)
  assert found == orientation
  shown = np.asarray(image).astype(int)
  assert shown.shape == upright.shape and np.abs(shown - upright).max() <= 4  # JPEG, 4:4:4, quality 100
  stored = np.asarray(decode_image(data)).astype(int)  # default: the stored pixels, as the official tools
  assert np.abs(stored - STORED_FROM_UPRIGHT[orientation](upright)).max() <= 4


@pytest.fixture()
def phone_photos(tmp_path):
  """A folder with a photo stored sideways (orientation 6), one upright with a tag and one without EXIF."""
  root = tmp_path / 'phone'
  root.mkdir()
  upright = _upright()
  (root / 'a_sideways.jpg').write_bytes(_photo(STORED_FROM_UPRIGHT[6](upright), 6))
  (root / 'b_tagged_upright.jpg').write_bytes(_photo(upright, 1))
  Image.fromarray(upright).save(root / 'c_plain.png')
  return root


def _expected(path, exif_transpose: bool) -> np.ndarray:
  image = decode_image(path.read_bytes(), exif_transpose=exif_transpose)
  return transform_image(image, 8, 'stretch').transpose(2, 0, 1)


def test_image_folder_applies_orientation_and_records_it(phone_photos, tmp_path):
  builder = image_collection_builder(str(phone_photos), 8, str(tmp_path / 'data'), 'phone', transform='stretch')
  summary = prepare(builder)
  assert summary['exif_orientation'] == 'applied' and summary['exif_oriented_images'] == 1
  source = TfdsSource(builder.data_dir)
  for i, name in enumerate(['a_sideways.jpg', 'b_tagged_upright.jpg', 'c_plain.png']):
    np.testing.assert_array_equal(source.read(i)[0], _expected(phone_photos / name, exif_transpose=True))
  # The sideways photo is turned: its top-left block is red, as the upright picture's, not the stored one's.
  top_left = source.read(0)[0][:, 0, 0].astype(int)
  assert top_left[0] > 200 and top_left[1:].max() < 50
  path = pathlib.Path(builder.data_dir)
  assert json.loads((path / 'stylegan2_report.json').read_text())['exif_orientation'] == 'applied'
  metadata = json.loads((path / 'metadata.json').read_text())
  assert metadata == {'exif_orientation': 'applied', 'exif_oriented_images': 1}


def test_the_option_keeps_the_stored_pixels(phone_photos, tmp_path, capsys):
  args = ['dataset', 'images', '--source', str(phone_photos), '--resolution', '8', '--transform', 'stretch',
          '--name', 'phone', '--data-dir', str(tmp_path / 'data')]
  assert cli_main([*args, '--ignore-exif-orientation']) == 0
  path = tmp_path / 'data' / 'stylegan2_images' / 'phone' / '1.0.0'
  report = json.loads((path / 'stylegan2_report.json').read_text())
  assert report['exif_orientation'] == 'ignored' and report['exif_oriented_images'] == 1
  source = TfdsSource(path)
  sideways = _expected(phone_photos / 'a_sideways.jpg', exif_transpose=False)
  np.testing.assert_array_equal(source.read(0)[0], sideways)
  # The same name prepared the other way is refused, not silently reused.
  capsys.readouterr()
  assert cli_main(args) == 2
  err = capsys.readouterr().err
  assert err.count('\n') == 1 and 'was prepared with exif_orientation ignored, not applied' in err


def test_a_zip_of_photos_applies_orientation_too(phone_photos, tmp_path):
  archive = tmp_path / 'phone.zip'
  with zipfile.ZipFile(archive, 'w') as z:
    for path in sorted(phone_photos.iterdir()):
      z.write(path, path.name)
  summary = prepare(image_collection_builder(str(archive), 8, str(tmp_path / 'data'), 'zipped',
                                             transform='stretch'))
  assert summary['exif_orientation'] == 'applied' and summary['exif_oriented_images'] == 1
  source = load_dataset(str(tmp_path / 'data' / 'stylegan2_images' / 'zipped'), 8)
  np.testing.assert_array_equal(source.read(0)[0], _expected(phone_photos / 'a_sideways.jpg', exif_transpose=True))


def test_ffhq_and_lsun_keep_the_stored_pixels_as_the_official_tools(tmp_path):
  rng = np.random.RandomState(0)
  stored = rng.randint(0, 256, (1024, 1024, 3), np.uint8)
  archive = tmp_path / 'images1024x1024.zip'
  with zipfile.ZipFile(archive, 'w') as z:
    z.writestr('images1024x1024/00000/00000.png', _photo(stored, 6, fmt='PNG'))
  summary = prepare(ffhq_builder(8, str(archive), str(tmp_path / 'data')))
  assert summary['exif_orientation'] == 'ignored'
  np.testing.assert_array_equal(load_dataset('ffhq', 8, str(tmp_path / 'data')).read(0)[0],
                                box_downsample(stored, 8).transpose(2, 0, 1))

  sideways = np.ascontiguousarray(STORED_FROM_UPRIGHT[6](np.kron(_upright(), np.ones((2, 2, 1), np.uint8))))
  records = [dict(image=_photo(sideways, 6), id=b'sideways')]
  summary = prepare(lsun_builder('cat', 8, data_dir=str(tmp_path / 'data'), source=records))
  assert summary['exif_orientation'] == 'ignored'
  expected = transform_image(decode_image(records[0]['image']), 8, 'center-crop')
  np.testing.assert_array_equal(load_dataset('lsun_cat', 8, str(tmp_path / 'data')).read(0)[0],
                                expected.transpose(2, 0, 1))

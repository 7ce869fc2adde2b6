"""Image preprocessing against the official dataset tools' formulas, written out directly here."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from stylegan2_jax.data.image_prep import TooSmallError, box_downsample, decode_image, transform_image


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
  buffer = io.BytesIO()
  Image.fromarray(array, mode).save(buffer, format='PNG')
  return buffer.getvalue()


@pytest.mark.parametrize('shape', [(37, 52), (52, 37), (40, 40), (33, 48)])
def test_center_crop_is_the_official_crop_then_lanczos(shape):
  img = np.random.RandomState(0).randint(0, 256, shape + (3,), np.uint8)
  crop = min(shape)
  expected = img[(shape[0] - crop) // 2:(shape[0] + crop) // 2, (shape[1] - crop) // 2:(shape[1] + crop) // 2]
  expected = np.asarray(Image.fromarray(expected).resize((16, 16), Image.LANCZOS))
  np.testing.assert_array_equal(transform_image(Image.fromarray(img), 16, 'center-crop'), expected)


def test_center_crop_wide_is_the_official_layout():
  rng = np.random.RandomState(1)
  img = rng.randint(0, 256, (30, 40, 3), np.uint8)  # width 40 >= 16, rows round(16 * 30 / 40) = 12 >= 12
  ch = int(np.round(16 * 30 / 40))
  band = np.asarray(Image.fromarray(img[(30 - ch) // 2:(30 + ch) // 2]).resize((16, 12), Image.LANCZOS))
  expected = np.zeros((16, 16, 3), np.uint8)
  expected[2:14] = band
  np.testing.assert_array_equal(transform_image(Image.fromarray(img), 16, 'center-crop-wide'), expected)
  with pytest.raises(TooSmallError):  # narrower than the output
    transform_image(Image.fromarray(img[:, :15]), 16, 'center-crop-wide')
  with pytest.raises(TooSmallError):  # too few rows for 12 output rows: round(16 * 20 / 40) = 8
    transform_image(Image.fromarray(img[:20]), 16, 'center-crop-wide')


def test_pad_keeps_the_whole_image_on_black():
  img = np.full((10, 20, 3), 200, np.uint8)
  out = transform_image(Image.fromarray(img), 20, 'pad')
  assert out.shape == (20, 20, 3)
  assert (out[:5] == 0).all() and (out[15:] == 0).all() and (out[6:14] == 200).all()
  stretched = transform_image(Image.fromarray(img), 20, 'stretch')
  assert (stretched == 200).all()
  with pytest.raises(ValueError, match='unknown transform'):
    transform_image(Image.fromarray(img), 20, 'crop')


def test_box_downsample_rounds_once_like_the_original_tool():
  img = np.random.RandomState(2).randint(0, 256, (16, 16, 3), np.uint8)
  f = img.astype(np.float64)
  for _ in range(2):
    f = (f[0::2, 0::2] + f[0::2, 1::2] + f[1::2, 0::2] + f[1::2, 1::2]) / 4
  np.testing.assert_array_equal(box_downsample(img, 4), np.rint(f).astype(np.uint8))
  twice = box_downsample(box_downsample(img, 8), 4)  # rounding between levels differs somewhere
  assert (twice != box_downsample(img, 4)).any()
  np.testing.assert_array_equal(box_downsample(img, 16), img)
  with pytest.raises(ValueError, match='power of two'):
    box_downsample(img, 6)


def test_decode_converts_every_mode():
  rng = np.random.RandomState(3)
  gray = rng.randint(0, 256, (8, 8), np.uint8)
  rgb = np.asarray(decode_image(_png(gray)))
  assert rgb.shape == (8, 8, 3) and (rgb == gray[:, :, None]).all()
  rgba = np.zeros((8, 8, 4), np.uint8)
  rgba[..., 0] = 255
  rgba[:4, :, 3] = 255  # top opaque red, bottom transparent -> white
  out = np.asarray(decode_image(_png(rgba)))
  assert (out[:4] == [255, 0, 0]).all() and (out[4:] == 255).all()
  palette = Image.fromarray(rng.randint(0, 256, (8, 8, 3), np.uint8)).convert('P')
  buffer = io.BytesIO()
  palette.save(buffer, format='PNG')
  assert np.asarray(decode_image(buffer.getvalue())).shape == (8, 8, 3)
  deep = (rng.randint(0, 65536, (8, 8))).astype(np.uint16)
  buffer = io.BytesIO()
  Image.fromarray(deep).save(buffer, format='PNG')
  out16 = np.asarray(decode_image(buffer.getvalue(), channels=1))
  np.testing.assert_array_equal(out16, np.round(deep / 257.0).astype(np.uint8))
  with pytest.raises(Exception):
    decode_image(b'not an image')

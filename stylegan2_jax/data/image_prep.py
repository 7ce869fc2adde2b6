"""Turning one raw image into a training example: decode, colour conversion, crop or pad, resize.

The transforms follow NVIDIA's dataset tools:

- ``center-crop``: the largest centred square, resized to the target (``dataset_tool.py --transform=center-crop``);
- ``center-crop-wide``: a centred band of rows resized to the target's wide layout (e.g. 512x384 for
  LSUN car) and placed in the middle of a black square canvas (``--transform=center-crop-wide``, with
  the official tool's row count and its rule of skipping images narrower or lower than the output);
- ``pad``: the image in the middle of a black square, then resized (keeps the whole image);
- ``stretch``: resized to the square directly, changing the aspect ratio.

Photos carry an EXIF orientation tag saying how a viewer should turn them;
:func:`decode_image` applies it with ``exif_transpose=True`` (the default of
image folders and zips) and leaves the stored pixels as they are otherwise
(FFHQ and LSUN, as the official tools read them).

Resizing uses PIL's Lanczos filter as the official tool does. FFHQ's lower
resolutions come from repeated 2x2 box averaging of the 1024x1024 originals
(the original StyleGAN2 ``dataset_tool.py create_from_images``), see :func:`box_downsample`.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from stylegan2_jax.data.prepare import SkipItem

TRANSFORMS = ('center-crop', 'center-crop-wide', 'pad', 'stretch')
EXIF_ORIENTATION = 0x0112  # the EXIF tag: 1 = upright, 2-8 = mirrored and/or turned by 90/180/270 degrees
MAX_IMAGE_PIXELS = 2 ** 26  # default cap on width x height of one decoded image (8192x8192); larger ones are skipped


class TooSmallError(SkipItem, ValueError):
  """The image is too small for the transform (the official tool skips it); the message starts "too small: "."""


class TooLargeError(SkipItem, ValueError):
  """The image has more pixels than allowed (a decompression bomb or a huge scan); the message starts "too large: "."""


def decode_image(data: bytes, channels: int = 3, max_pixels: int = MAX_IMAGE_PIXELS,
                 exif_transpose: bool = False) -> Image.Image:
  """Decodes PNG/JPEG/WebP/... bytes into an 'RGB' (channels=3) or 'L' (channels=1) PIL image.

  See :func:`decode_image_and_orientation`, which also returns the EXIF orientation tag.
  """
  return decode_image_and_orientation(data, channels, max_pixels, exif_transpose)[0]


def decode_image_and_orientation(data: bytes, channels: int = 3, max_pixels: int = MAX_IMAGE_PIXELS,
                                 exif_transpose: bool = False) -> tuple[Image.Image, int]:
  """Decodes image bytes as :func:`decode_image`; returns (image, EXIF orientation tag, 1 when upright or absent).

  With ``exif_transpose`` the image is turned and mirrored as its orientation tag
  says, so it looks as in a photo viewer. Transparent images are composited over
  white; palette and 16-bit images are converted. An image of more than
  ``max_pixels`` pixels (read from its header, before any pixel is decoded)
  raises :class:`TooLargeError`. Raises ``OSError``/``ValueError`` (from PIL) for
  unreadable data.
  """
  if channels not in (1, 3):
    raise ValueError(f'channels must be 1 (grayscale) or 3 (RGB), got {channels}')
  try:
    image = Image.open(io.BytesIO(data))  # reads the header only
  except Image.DecompressionBombError as error:  # PIL's own (higher) limit, checked in open()
    raise TooLargeError(f'too large: {error}') from None
  w, h = image.size
  if w * h > max_pixels:
    raise TooLargeError(f'too large: {w}x{h} is {w * h:,} pixels, over the limit of {max_pixels:,} per image')
  image.load()
  try:
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
  except Exception:  # pylint: disable=broad-except  # malformed EXIF: viewers show the stored pixels, as here
    orientation = 1
  orientation = orientation if orientation in range(1, 9) else 1  # viewers ignore invalid values too
  if exif_transpose and orientation != 1:
    image = ImageOps.exif_transpose(image)
  if image.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
    image = Image.fromarray((np.asarray(image, np.float64) / 257.0).round().clip(0, 255).astype(np.uint8))
  if image.mode == 'P':
    image = image.convert('RGBA' if 'transparency' in image.info else 'RGB')
  if image.mode in ('RGBA', 'LA', 'PA'):
    rgba = image.convert('RGBA')
    background = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
    image = Image.alpha_composite(background, rgba)
  return image.convert('RGB' if channels == 3 else 'L'), orientation


def transform_image(image: Image.Image, resolution: int, transform: str = 'center-crop',
                    wide_aspect: tuple[int, int] = (4, 3)) -> np.ndarray:
  """Crops or pads ``image`` as ``transform`` says and resizes it to ``resolution`` squared.

  Returns uint8 HWC (C = 1 or 3). ``wide_aspect`` (width, height) is the content's
  aspect for ``center-crop-wide``.
  """
  if transform not in TRANSFORMS:
    raise ValueError(f'unknown transform {transform!r}; use one of {", ".join(TRANSFORMS)}')
  w, h = image.size
  if transform == 'center-crop':
    side = min(w, h)
    image = image.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
  elif transform == 'center-crop-wide':
    # The official formula, kept as is: the rows kept are the output width's share of the
    # image height; images too small for the output are skipped (TooSmallError).
    aw, ah = wide_aspect
    content_h = resolution * ah // aw
    rows = int(np.round(resolution * h / w))
    if w < resolution or rows < content_h:
      raise TooSmallError(f'too small: {w}x{h} is too small for a {resolution}x{content_h} center-crop-wide')
    image = image.crop((0, (h - rows) // 2, w, (h + rows) // 2)).resize((resolution, content_h), Image.LANCZOS)
    canvas = np.zeros((resolution, resolution, len(image.getbands())), np.uint8)
    top = (resolution - content_h) // 2
    canvas[top:top + content_h] = np.asarray(image).reshape(content_h, resolution, -1)
    return canvas
  elif transform == 'pad':
    side = max(w, h)
    canvas = Image.new(image.mode, (side, side))
    canvas.paste(image, ((side - w) // 2, (side - h) // 2))
    image = canvas
  if image.size != (resolution, resolution):
    image = image.resize((resolution, resolution), Image.LANCZOS)
  array = np.asarray(image, np.uint8)
  return array[:, :, None] if array.ndim == 2 else array


def box_downsample(image: np.ndarray, resolution: int) -> np.ndarray:
  """Halves a square uint8 HWC image by 2x2 box averaging until it is ``resolution`` wide.

  As the original StyleGAN2 dataset tool: the averages stay in float between
  halvings and are rounded once at the end.
  """
  size = image.shape[0]
  if image.shape[1] != size or size % resolution or (size // resolution) & (size // resolution - 1):
    raise ValueError(f'cannot box-downsample a {image.shape[1]}x{size} image to {resolution}x{resolution}: '
                     'needs a square image whose side is the target times a power of two')
  out = image.astype(np.float32)
  while out.shape[0] > resolution:
    out = (out[0::2, 0::2] + out[0::2, 1::2] + out[1::2, 0::2] + out[1::2, 1::2]) * 0.25
  return np.rint(out).clip(0, 255).astype(np.uint8)


def encode_png(array: np.ndarray) -> bytes:
  """uint8 HWC (C = 1 or 3) -> PNG bytes."""
  buffer = io.BytesIO()
  Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(buffer, format='PNG', compress_level=1)
  return buffer.getvalue()

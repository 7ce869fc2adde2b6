"""FFHQ as a tfds builder: the user's download of the official 1024x1024 PNGs, at any power-of-two resolution.

tfds has no FFHQ builder (the images are distributed through Google Drive under
their own licence). This one reads the manual download, the
``images1024x1024`` folder (70,000 PNGs in 70 subfolders) or its zip, and
writes the dataset at 4 ... 1024 pixels, each lower resolution made by repeated
2x2 box averaging exactly as NVIDIA's StyleGAN2 dataset tool made its
``ffhq-r08.tfrecords`` ... files. Example ``i`` is image ``i`` (file order).

    stylegan2-jax dataset ffhq --source ~/ffhq/images1024x1024 --resolution 256
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import tensorflow_datasets as tfds

from stylegan2_jax.data.image_prep import box_downsample, decode_image, encode_png
from stylegan2_jax.data.prepare import SkipItem, SkipReport, local_info, process_items
from stylegan2_jax.data.raw_images import ImageCollectionReader, RawImage

FFHQ_RESOLUTIONS = tuple(2 ** k for k in range(2, 11))
FFHQ_SOURCE_RESOLUTION = 1024


@dataclasses.dataclass(eq=False)
class FfhqConfig(tfds.core.BuilderConfig):
  """One output resolution."""
  resolution: int = 1024


class Ffhq(tfds.core.GeneratorBasedBuilder):
  """Flickr-Faces-HQ (Karras et al. 2019), from the official 1024x1024 PNGs, box-downsampled."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First version.'}
  # As the official tools read the images: the stored pixels, whatever an EXIF orientation tag says.
  report_options = {'exif_orientation': 'ignored'}
  BUILDER_CONFIGS = [FfhqConfig(name=str(res), resolution=res, description=f'{res}x{res} RGB')
                     for res in FFHQ_RESOLUTIONS]
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      'Download the 1024x1024 images of FFHQ (https://github.com/NVlabs/ffhq-dataset: the "images1024x1024" '
      'folder, 70,000 PNG files, or a zip of it) and pass that folder or zip as the manual directory '
      '(stylegan2-jax dataset ffhq --source PATH).')

  def __init__(self, *, num_threads: int | None = None, source: str | None = None, **kwargs):
    self.skipped = SkipReport()
    self.num_threads = num_threads
    self.source = source  # the download (folder or zip); default: tfds's manual_dir
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    res = self.builder_config.resolution
    return local_info(self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict(dict(image=tfds.features.Image(shape=(res, res, 3)),
                                                 filename=tfds.features.Text())),
        homepage='https://github.com/NVlabs/ffhq-dataset',
        disable_shuffling=True))  # example i is the i-th file, as the official dataset

  def _split_generators(self, dl_manager):
    source = pathlib.Path(self.source or dl_manager.manual_dir).expanduser()
    zips = sorted(source.glob('*.zip')) if source.is_dir() else []
    if source.is_dir() and not ImageCollectionReader(source).images and len(zips) == 1:
      source = zips[0]  # a manual_dir holding the zip
    return {'train': self._generate_examples(source)}

  def _generate_examples(self, source):
    reader = ImageCollectionReader(source)
    if not reader.images:
      raise FileNotFoundError(f'no images in {source}. {self.MANUAL_DOWNLOAD_INSTRUCTIONS}')
    for name, reason in reader.left_out:
      self.skipped.add(name, reason)
    res = self.builder_config.resolution

    def example(item: RawImage):
      pixels = np.asarray(decode_image(reader.read(item.path), channels=3))
      if pixels.shape[:2] != (FFHQ_SOURCE_RESOLUTION, FFHQ_SOURCE_RESOLUTION):
        raise SkipItem(f'wrong size: {pixels.shape[1]}x{pixels.shape[0]}, FFHQ images are 1024x1024')
      return item.path, dict(image=encode_png(box_downsample(pixels, res)), filename=item.path)

    yield from process_items(reader.images, example, self.skipped, self.num_threads, name=lambda item: item.path)


def ffhq_builder(resolution: int, source: str | None = None, data_dir: str | None = None,
                 num_threads: int | None = None) -> Ffhq:
  """The FFHQ builder at ``resolution``, reading the official PNGs from ``source`` (folder or zip)."""
  if resolution not in FFHQ_RESOLUTIONS:
    raise ValueError(f'FFHQ resolution must be one of {FFHQ_RESOLUTIONS}, got {resolution}')
  return Ffhq(config=str(resolution), data_dir=data_dir, file_format='array_record', num_threads=num_threads,
              source=source)

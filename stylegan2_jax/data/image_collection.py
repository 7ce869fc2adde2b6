"""A tfds builder for any collection of images: a folder tree or a zip of PNG/JPEG/WebP/... files.

Each image is decoded (grayscale, RGBA, palette and 16-bit files are converted),
turned as its EXIF orientation says (as a photo viewer shows it; ``exif_transpose=False``
keeps the stored pixels, for byte-exact official preprocessing), cropped or padded
as the config says and resized to the square resolution; optional class labels
come from the first-level subfolders. Files that cannot be used (corrupt,
unreadable, not an image, not a regular file, a broken link, too large, too small
for the transform, no class folder) are skipped and listed in the dataset's
report, never stop the build. Examples are stored in path order.

    builder = image_collection_builder('~/paintings', resolution=256, data_dir='~/datasets', name='paintings')
"""

from __future__ import annotations

import dataclasses
import re

import tensorflow_datasets as tfds

from stylegan2_jax.data.image_prep import (MAX_IMAGE_PIXELS, TRANSFORMS, decode_image_and_orientation, encode_png,
                                           transform_image)
from stylegan2_jax.data.prepare import (SkipItem, SkipReport, check_dataset_name, check_output_resolution,
                                       local_info, process_items)
from stylegan2_jax.data.raw_images import MAX_IMAGE_BYTES, ImageCollectionReader, RawImage


@dataclasses.dataclass(eq=False)
class ImageCollectionConfig(tfds.core.BuilderConfig):
  """Where the images are and how to turn them into examples."""
  source: str = ''                 # a folder tree or a .zip of images
  resolution: int = 256            # output side, a power of two
  transform: str = 'center-crop'   # one of image_prep.TRANSFORMS
  channels: int = 3                # 3 = RGB, 1 = grayscale
  labels: bool = False             # class labels from the first-level subfolders
  max_images: int | None = None    # use only the first N images (in path order)
  exif_transpose: bool = True      # turn images as their EXIF orientation tag says (False: the stored pixels)


class Stylegan2Images(tfds.core.GeneratorBasedBuilder):
  """Images from a folder or zip, prepared for StyleGAN2 training (one config per prepared collection)."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First version.'}

  def __init__(self, *, config: ImageCollectionConfig, num_threads: int | None = None,
               max_image_bytes: int = MAX_IMAGE_BYTES, max_image_pixels: int = MAX_IMAGE_PIXELS, **kwargs):
    check_dataset_name(config.name)  # the config name is a folder under data_dir: never "..", "a/b", "/abs"
    self.skipped = SkipReport()
    self.num_threads = num_threads
    self.max_image_bytes = max_image_bytes    # larger files (or zip members, inflated) are skipped as too large
    self.max_image_pixels = max_image_pixels  # larger images (width x height) are skipped before decoding
    self.exif_oriented: list[str] = []  # images whose EXIF orientation is not upright (turned if exif_transpose)
    self._reader: ImageCollectionReader | None = None
    super().__init__(config=config, **kwargs)

  @property
  def reader(self) -> ImageCollectionReader:
    """The source listing (read lazily: not needed to load an already prepared dataset)."""
    if self._reader is None:
      self._reader = ImageCollectionReader(self.builder_config.source, self.builder_config.labels,
                                           self.max_image_bytes)
    return self._reader

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    features = dict(image=tfds.features.Image(shape=(cfg.resolution, cfg.resolution, cfg.channels)),
                    filename=tfds.features.Text())
    if cfg.labels:
      features['label'] = tfds.features.ClassLabel(names=self.reader.class_names)
    return local_info(self.dataset_info_from_configs(features=tfds.features.FeaturesDict(features),
                                          metadata=tfds.core.MetadataDict(self.report_options),
                                          disable_shuffling=True))  # examples in path order

  @property
  def report_options(self) -> dict:
    """Preparation options recorded in the report and the dataset's metadata.json (checked when it is reused)."""
    return dict(exif_orientation='applied' if self.builder_config.exif_transpose else 'ignored')

  def report_counts(self) -> dict:
    """What the build found besides skipped files: images with an EXIF orientation other than upright."""
    return dict(exif_oriented_images=len(self.exif_oriented))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {'train': self._generate_examples()}

  def _generate_examples(self):
    cfg = self.builder_config
    reader = self.reader
    for name, reason in reader.left_out:
      self.skipped.add(name, reason)
    images = reader.images[:cfg.max_images] if cfg.max_images else reader.images
    class_index = {name: i for i, name in enumerate(reader.class_names)}

    def example(item: RawImage):
      if cfg.labels and item.label is None:
        raise SkipItem('no class: not inside a class subfolder')
      image, orientation = decode_image_and_orientation(reader.read(item.path), cfg.channels, self.max_image_pixels,
                                                        cfg.exif_transpose)
      pixels = transform_image(image, cfg.resolution, cfg.transform)
      if orientation != 1:
        self.exif_oriented.append(item.path)
      ex = dict(image=encode_png(pixels), filename=item.path)
      if cfg.labels:
        ex['label'] = class_index[item.label]
      return item.path, ex

    yield from process_items(images, example, self.skipped, self.num_threads, name=lambda item: item.path)
    self.info.metadata.update(self.report_counts())


def image_collection_builder(source: str, resolution: int, data_dir: str | None = None, name: str | None = None,
                             transform: str = 'center-crop', channels: int = 3, labels: bool = False,
                             max_images: int | None = None, num_threads: int | None = None,
                             max_image_bytes: int = MAX_IMAGE_BYTES,
                             max_image_pixels: int = MAX_IMAGE_PIXELS, exif_transpose: bool = True
                             ) -> Stylegan2Images:
  """The builder of one prepared collection, ``<data_dir>/stylegan2_images/<name>/1.0.0``.

  Images are turned as their EXIF orientation says unless ``exif_transpose`` is False.
  Files over ``max_image_bytes`` or images over ``max_image_pixels`` are skipped as "too large".
  """
  check_output_resolution(resolution)
  if transform not in TRANSFORMS:
    raise ValueError(f'unknown --transform {transform!r}; use one of {", ".join(TRANSFORMS)}')
  if channels not in (1, 3):
    raise ValueError(f'--channels must be 1 (grayscale) or 3 (RGB), got {channels}')
  if name is None:
    stem = re.sub(r'[^a-z0-9_]+', '_', str(source).rstrip('/').split('/')[-1].lower().removesuffix('.zip'))
    name = f'{stem.strip("_") or "images"}_{resolution}'
  check_dataset_name(name)
  config = ImageCollectionConfig(name=name, source=str(source), resolution=resolution, transform=transform,
                                 channels=channels, labels=labels, max_images=max_images,
                                 exif_transpose=exif_transpose, description=f'images from {source}')
  return Stylegan2Images(config=config, data_dir=data_dir, file_format='array_record', num_threads=num_threads,
                         max_image_bytes=max_image_bytes, max_image_pixels=max_image_pixels)

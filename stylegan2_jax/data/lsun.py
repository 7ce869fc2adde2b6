"""LSUN cat, car, church and horse, read through tfds's ``lsun`` configs, with the official preprocessing.

The StyleGAN2 paper's LSUN datasets: cat, church (tfds ``church_outdoor``) and
horse center-cropped to 256x256; car at 512x384 in the official wide layout
(``--transform=center-crop-wide``: 512x384 content in the middle of a black
512x512 frame, since our networks are square). The source is tfds's ``lsun``
dataset, which the user prepares once in array_record format (it downloads the
LMDB files from the LSUN site and needs TensorFlow for that step only):

    pip install tensorflow lmdb && tfds build lsun/cat --file_format=array_record
    stylegan2-jax dataset lsun --category cat

This builder then writes ``stylegan2_lsun/<category>_<resolution>`` in the
same data_dir (or ``--data-dir``), in the tfds order of the source.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from stylegan2_jax.data.image_prep import decode_image, encode_png, transform_image
from stylegan2_jax.data.prepare import SkipReport, check_output_resolution, local_info, process_items

# category -> (tfds lsun config, official resolution, transform)
LSUN_CATEGORIES = {
    'cat': ('cat', 256, 'center-crop'),
    'car': ('car', 512, 'center-crop-wide'),
    'church': ('church_outdoor', 256, 'center-crop'),
    'horse': ('horse', 256, 'center-crop'),
}


@dataclasses.dataclass(eq=False)
class LsunConfig(tfds.core.BuilderConfig):
  """One category at one resolution."""
  category: str = 'cat'
  resolution: int = 256
  max_images: int | None = None    # use only the first N source images
  source_data_dir: str | None = None  # where tfds's lsun lives (default: tfds's data_dir)


class Stylegan2Lsun(tfds.core.GeneratorBasedBuilder):
  """An LSUN category preprocessed as in the StyleGAN2 paper."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First version.'}
  # As the official tools read the images: the stored pixels, whatever an EXIF orientation tag says.
  report_options = {'exif_orientation': 'ignored'}

  def __init__(self, *, config: LsunConfig, num_threads: int | None = None, source=None, **kwargs):
    self.skipped = SkipReport()
    self.num_threads = num_threads
    self.source = source
    super().__init__(config=config, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    res = self.builder_config.resolution
    return local_info(self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict(dict(image=tfds.features.Image(shape=(res, res, 3)),
                                                 id=tfds.features.Text())),
        homepage='https://www.yf.io/p/lsun',
        disable_shuffling=True))  # the source's order

  def _split_generators(self, dl_manager):
    del dl_manager
    return {'train': self._generate_examples()}

  def _generate_examples(self):
    cfg = self.builder_config
    tfds_name, _, transform = LSUN_CATEGORIES[cfg.category]
    source = self.source
    try:
      source = source or tfds.data_source(f'lsun/{tfds_name}', split='train', data_dir=cfg.source_data_dir,
                                download=False)
    except Exception as error:  # pylint: disable=broad-except
      raise FileNotFoundError(
          f'tfds dataset lsun/{tfds_name} is not prepared in array_record format ({error}). Prepare it once with '
          f'"pip install tensorflow lmdb && tfds build lsun/{tfds_name} --file_format=array_record" '
          '(or pass --lsun-data-dir where it is)') from error
    count = len(source) if cfg.max_images is None else min(cfg.max_images, len(source))

    def example(index: int):
      record = source[index]
      image = record['image']
      image = Image.fromarray(np.asarray(image, np.uint8)) if isinstance(image, np.ndarray) else decode_image(image)
      pixels = transform_image(image.convert('RGB'), cfg.resolution, transform)
      key = record['id'].decode() if isinstance(record['id'], bytes) else str(record['id'])
      return f'{index:09d}', dict(image=encode_png(pixels), id=key)

    yield from process_items(range(count), example, self.skipped, self.num_threads,
                             name=lambda index: f'lsun/{tfds_name}[{index}]')


def lsun_builder(category: str, resolution: int | None = None, data_dir: str | None = None,
                 source_data_dir: str | None = None, max_images: int | None = None,
                 num_threads: int | None = None, source=None) -> Stylegan2Lsun:
  """The builder of ``stylegan2_lsun/<category>_<resolution>`` (the paper's resolution by default).

  ``source`` replaces tfds's ``lsun/<category>`` train split (any sequence of its records; for tests).
  """
  if category not in LSUN_CATEGORIES:
    raise ValueError(f'unknown LSUN category {category!r}; use one of {", ".join(LSUN_CATEGORIES)}')
  resolution = resolution or LSUN_CATEGORIES[category][1]
  check_output_resolution(resolution)
  name = f'{category}_{resolution}' + (f'_first{max_images}' if max_images else '')
  config = LsunConfig(name=name, category=category, resolution=resolution, max_images=max_images,
                      source_data_dir=source_data_dir, description=f'LSUN {category} at {resolution}')
  return Stylegan2Lsun(config=config, data_dir=data_dir, file_format='array_record', num_threads=num_threads,
                       source=source)

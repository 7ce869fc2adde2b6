"""Listing and reading raw image files from a folder tree or a zip archive, in a fixed order."""

from __future__ import annotations

import dataclasses
import pathlib
import threading
import zipfile

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.webp', '.bmp', '.gif', '.tif', '.tiff')


@dataclasses.dataclass(frozen=True)
class RawImage:
  """One image file of a collection: its path inside the collection and its class folder (or None)."""
  path: str
  label: str | None


class ImageCollectionReader:
  """The image files under ``source`` (a directory or a ``.zip``), sorted by path; ``read(path)`` gives bytes.

  With ``labels_from_subfolders`` the first path component names each image's
  class; files directly under the root then have no class and are reported.
  Safe to read from several threads (one zip handle per thread).
  """

  def __init__(self, source: str | pathlib.Path, labels_from_subfolders: bool = False):
    self.source = pathlib.Path(source).expanduser()
    if not self.source.exists():
      raise FileNotFoundError(f'image source {self.source} does not exist: give a folder of images or a .zip')
    self.is_zip = self.source.is_file()
    if self.is_zip and not zipfile.is_zipfile(self.source):
      raise ValueError(f'{self.source} is neither a folder nor a zip archive')
    self.labels_from_subfolders = labels_from_subfolders
    self._local = threading.local()
    names = sorted(self._all_files())
    self.images = [RawImage(name, self._label(name)) for name in names
                   if name.lower().endswith(IMAGE_SUFFIXES)]
    self.ignored = [name for name in names if not name.lower().endswith(IMAGE_SUFFIXES)]

  def _all_files(self) -> list[str]:
    if self.is_zip:
      with zipfile.ZipFile(self.source) as archive:
        return [info.filename for info in archive.infolist()
                if not info.is_dir() and not info.filename.startswith('__MACOSX/')]
    return [p.relative_to(self.source).as_posix() for p in self.source.rglob('*') if p.is_file()]

  def _label(self, name: str) -> str | None:
    parts = name.split('/')
    return parts[0] if self.labels_from_subfolders and len(parts) > 1 else None

  @property
  def class_names(self) -> list[str]:
    """Sorted class folder names (empty without ``labels_from_subfolders``)."""
    return sorted({image.label for image in self.images if image.label is not None})

  def read(self, path: str) -> bytes:
    """The raw bytes of one listed file."""
    if not self.is_zip:
      return (self.source / path).read_bytes()
    archive = getattr(self._local, 'archive', None)
    if archive is None:
      archive = self._local.archive = zipfile.ZipFile(self.source)
    return archive.read(path)

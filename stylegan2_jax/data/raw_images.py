"""Listing and reading raw image files from a folder tree or a zip archive, in a fixed order.

Only regular files are ever opened: FIFOs, sockets and devices (also behind a
symbolic link, e.g. a link to ``/dev/zero``), dangling or looping links and
links to folders are listed in :attr:`ImageCollectionReader.left_out` with the
reason, as are files that are not images. Reads are bounded: a file or zip
member larger than ``max_image_bytes`` (by its recorded size, or by the bytes
actually read or inflated, so a zip header that understates the size is caught
too) is skipped as "too large" without being read whole.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import stat
import threading
import zipfile

from stylegan2_jax.data.prepare import SkipItem

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.webp', '.bmp', '.gif', '.tif', '.tiff')
MAX_IMAGE_BYTES = 256 * 2 ** 20  # default cap on one image file's size (or a zip member's inflated size), bytes
_CHUNK_BYTES = 2 ** 20           # read and inflate in chunks of this many bytes


@dataclasses.dataclass(frozen=True)
class RawImage:
  """One image file of a collection: its path inside the collection and its class folder (or None)."""
  path: str
  label: str | None


def special_file_kind(mode: int) -> str | None:
  """'a FIFO', 'a socket', ... for a ``st_mode`` that is not a regular file or folder; None otherwise."""
  for test, kind in ((stat.S_ISFIFO, 'a FIFO'), (stat.S_ISSOCK, 'a socket'), (stat.S_ISCHR, 'a character device'),
                     (stat.S_ISBLK, 'a block device'), (stat.S_ISDIR, 'a folder')):
    if test(mode):
      return kind
  return None if stat.S_ISREG(mode) else 'not a regular file'


def _folder_entry_problem(path: pathlib.Path) -> str | None:
  """Why the folder entry ``path`` (not itself a real folder) cannot be an image file, or None if it can."""
  try:
    own = os.lstat(path)
  except OSError as error:
    return f'unreadable: {type(error).__name__}: {error.strerror}'
  if not stat.S_ISLNK(own.st_mode):
    kind = special_file_kind(own.st_mode)
    return None if kind is None else f'not a regular file: {kind}'
  target = os.readlink(path)
  try:
    mode = os.stat(path).st_mode
  except OSError as error:
    return f'broken link: points to {target} ({error.strerror})'
  kind = special_file_kind(mode)
  if kind == 'a folder':
    return f'not a regular file: link to a folder ({target}), not followed'
  return None if kind is None else f'not a regular file: link to {kind} ({target})'


def _zip_member_problem(info: zipfile.ZipInfo) -> str | None:
  """Why a zip member cannot be an image file (a stored symbolic link or special file), or None."""
  if info.filename.startswith('__MACOSX/'):
    return 'not an image: macOS metadata (__MACOSX)'
  mode = info.external_attr >> 16
  if info.create_system != 3 or not stat.S_IFMT(mode):  # no Unix file type recorded: a plain file
    return None
  if stat.S_ISLNK(mode):
    return 'not a regular file: a symbolic link stored in the archive'
  kind = special_file_kind(mode)
  return None if kind is None else f'not a regular file: {kind} stored in the archive'


class ImageCollectionReader:
  """The image files under ``source`` (a directory or a ``.zip``), sorted by path; ``read(path)`` gives bytes.

  ``images`` are the regular files with an image suffix; ``left_out`` lists
  (path, reason) for every other entry (non-images, special files, broken
  links, links to folders, unlistable folders). With ``labels_from_subfolders``
  the first path component names each image's class. Safe to read from several
  threads (one zip handle per thread).
  """

  def __init__(self, source: str | pathlib.Path, labels_from_subfolders: bool = False,
               max_image_bytes: int = MAX_IMAGE_BYTES):
    self.source = pathlib.Path(source).expanduser()
    if not self.source.exists():
      raise FileNotFoundError(f'image source {self.source} does not exist: give a folder of images or a .zip')
    if not self.source.is_dir() and not self.source.is_file():
      raise ValueError(f'image source {self.source} is {special_file_kind(self.source.stat().st_mode)}: '
                       'give a folder of images or a .zip')
    self.is_zip = self.source.is_file()
    if self.is_zip and not zipfile.is_zipfile(self.source):
      raise ValueError(f'{self.source} is neither a folder nor a zip archive')
    self.labels_from_subfolders = labels_from_subfolders
    self.max_image_bytes = max_image_bytes
    self._local = threading.local()
    self.images: list[RawImage] = []
    self.left_out: list[tuple[str, str]] = []
    for name, problem in sorted(self._all_entries()):
      if problem is None and not name.lower().endswith(IMAGE_SUFFIXES):
        problem = 'not an image: unknown file type'
      if problem is None:
        self.images.append(RawImage(name, self._label(name)))
      else:
        self.left_out.append((name, problem))

  def _all_entries(self) -> list[tuple[str, str | None]]:
    """(path, problem or None) of every non-folder entry."""
    if self.is_zip:
      with zipfile.ZipFile(self.source) as archive:
        return [(info.filename, _zip_member_problem(info)) for info in archive.infolist() if not info.is_dir()]
    entries = []

    def unlistable(error: OSError) -> None:
      name = pathlib.Path(error.filename or self.source).relative_to(self.source).as_posix() + '/'
      entries.append((name, f'unreadable: cannot list the folder ({error.strerror})'))

    for folder, dirnames, filenames in os.walk(self.source, onerror=unlistable):
      folder = pathlib.Path(folder)
      for dirname in list(dirnames):
        if (folder / dirname).is_symlink():  # os.walk lists links to folders here; they are not followed
          dirnames.remove(dirname)
          filenames.append(dirname)
      for filename in filenames:
        path = folder / filename
        entries.append((path.relative_to(self.source).as_posix(), _folder_entry_problem(path)))
    return entries

  def _label(self, name: str) -> str | None:
    parts = name.split('/')
    return parts[0] if self.labels_from_subfolders and len(parts) > 1 else None

  @property
  def class_names(self) -> list[str]:
    """Sorted class folder names (empty without ``labels_from_subfolders``)."""
    return sorted({image.label for image in self.images if image.label is not None})

  def read(self, path: str) -> bytes:
    """The raw bytes of one listed file; raises :class:`SkipItem` if it is too large or no longer a regular file."""
    if not self.is_zip:
      return self._read_regular_file(self.source / path)
    archive = getattr(self._local, 'archive', None)
    if archive is None:
      archive = self._local.archive = zipfile.ZipFile(self.source)
    info = archive.getinfo(path)
    self._check_size(info.file_size, 'inflates to')
    with archive.open(info) as member:
      return read_capped(member, self.max_image_bytes)

  def _check_size(self, size: int, what: str) -> None:
    if size > self.max_image_bytes:
      raise SkipItem(f'too large: {what} {size:,} bytes, over the limit of {self.max_image_bytes:,} per image')

  def _read_regular_file(self, path: pathlib.Path) -> bytes:
    # Checked again here (the folder may have changed since it was listed); opened without blocking so a FIFO
    # put in its place cannot hang the build, and checked once more on the open descriptor before reading.
    problem = _folder_entry_problem(path)
    if problem is not None:
      raise SkipItem(problem)
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0))
    with open(fd, 'rb', closefd=True) as file:
      info = os.fstat(fd)
      kind = special_file_kind(info.st_mode)
      if kind is not None:
        raise SkipItem(f'not a regular file: {kind}')
      self._check_size(info.st_size, 'file of')
      return read_capped(file, self.max_image_bytes)


def read_capped(stream, max_bytes: int) -> bytes:
  """All bytes of ``stream``, read in chunks; raises :class:`SkipItem` ("too large") once more than ``max_bytes``
  come, before reading further."""
  chunks, total = [], 0
  while chunk := stream.read(min(_CHUNK_BYTES, max_bytes + 1 - total)):
    total += len(chunk)
    if total > max_bytes:
      raise SkipItem(f'too large: more than {max_bytes:,} bytes when read or inflated, over the limit per image')
    chunks.append(chunk)
  return b''.join(chunks)

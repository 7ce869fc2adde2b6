"""What the dataset tool lists and reads from a folder or zip: special files and links are reported, never read."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import zipfile

import pytest
from PIL import Image

from stylegan2_jax.data.prepare import SkipItem
from stylegan2_jax.data.raw_images import ImageCollectionReader

# Runs the dataset tool with an audit hook that refuses (and records) every open of the paths in argv[1].
_GUARDED_TOOL = textwrap.dedent('''
    import json, os, sys
    forbidden = set(json.loads(sys.argv[1]))
    opened = []
    def hook(event, args):
      if event == 'open' and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.realpath(os.fsdecode(args[0]))
        if path in forbidden:
          opened.append(path)
          raise PermissionError('the test forbids opening ' + path)
    sys.addaudithook(hook)
    from stylegan2_jax.cli import main
    code = main(sys.argv[2:])
    print('OPENED_SPECIAL', json.dumps(opened))
    sys.exit(code)
''')


@contextlib.contextmanager
def _raises_if_blocked(seconds: int = 60):
  """Turns a blocked system call (e.g. opening a FIFO nobody writes to) into an error instead of a hung test."""
  def blocked(signum, frame):
    raise TimeoutError('blocked: the reader opened or read a special file')
  previous = signal.signal(signal.SIGALRM, blocked)
  signal.alarm(seconds)
  try:
    yield
  finally:
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture()
def folder_with_special_entries(tmp_path):
  """Three images, a link to an image, and entries that are not image files: FIFO, device link, broken links."""
  root = tmp_path / 'raw'
  root.mkdir()
  for i, name in enumerate(['a.png', 'b.png', 'sub/c.png']):
    (root / name).parent.mkdir(exist_ok=True)
    Image.new('RGB', (8, 8), (40 * i, 0, 0)).save(root / name)
  (root / 'alias.png').symlink_to(root / 'a.png')  # a link to a regular file is an image like any other
  (root / 'zero.png').symlink_to('/dev/zero')
  (root / 'gone.png').symlink_to(root / 'missing.png')
  (root / 'loop.png').symlink_to(root / 'loop.png')
  os.mkfifo(root / 'pipe.png')
  outside = tmp_path / 'elsewhere'
  outside.mkdir()
  Image.new('RGB', (8, 8)).save(outside / 'd.png')
  (root / 'linked').symlink_to(outside, target_is_directory=True)
  return root


def test_special_files_and_links_are_reported_and_never_opened(folder_with_special_entries, tmp_path):
  root = folder_with_special_entries
  forbidden = [os.path.realpath(root / 'pipe.png'), '/dev/zero']
  result = subprocess.run(
      [sys.executable, '-c', _GUARDED_TOOL, json.dumps(forbidden), 'dataset', 'images', '--source', str(root),
       '--resolution', '4', '--name', 'special', '--data-dir', str(tmp_path / 'data'), '--threads', '2'],
      capture_output=True, text=True, timeout=300, check=False)  # the timeout only stops a hung build
  assert result.returncode == 0, result.stderr
  assert 'OPENED_SPECIAL []' in result.stdout
  assert '4 images' in result.stdout and 'skipped: 5' in result.stdout
  report = json.loads((tmp_path / 'data' / 'stylegan2_images' / 'special' / '1.0.0' /
                       'stylegan2_report.json').read_text())
  reasons = {entry['item']: entry['reason'] for entry in report['skipped_files']}
  assert set(reasons) == {'zero.png', 'gone.png', 'loop.png', 'pipe.png', 'linked'}
  assert reasons['zero.png'] == 'not a regular file: link to a character device (/dev/zero)'
  assert reasons['pipe.png'] == 'not a regular file: a FIFO'
  assert reasons['gone.png'].startswith(f'broken link: points to {root / "missing.png"}')
  assert reasons['loop.png'].startswith('broken link: points to')
  assert reasons['linked'].startswith('not a regular file: link to a folder')
  assert report['skipped_by_reason'] == {'not a regular file': 3, 'broken link': 2}


def test_a_file_replaced_by_a_fifo_after_listing_is_skipped_without_blocking(tmp_path):
  Image.new('RGB', (8, 8)).save(tmp_path / 'a.png')
  reader = ImageCollectionReader(tmp_path)
  (tmp_path / 'a.png').unlink()
  os.mkfifo(tmp_path / 'a.png')  # opening it for reading would block until a writer comes
  with _raises_if_blocked(), pytest.raises(SkipItem, match='not a regular file: a FIFO'):
    reader.read('a.png')


def test_zip_members_that_are_links_or_macos_metadata_are_reported(tmp_path):
  archive = tmp_path / 'raw.zip'
  with zipfile.ZipFile(archive, 'w') as z:
    z.writestr('a.png', b'png bytes')
    link = zipfile.ZipInfo('link.png')
    link.create_system, link.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
    z.writestr(link, '/dev/zero')
    z.writestr('__MACOSX/._a.png', b'resource fork')
  reader = ImageCollectionReader(archive)
  assert [image.path for image in reader.images] == ['a.png']
  assert dict(reader.left_out) == {'link.png': 'not a regular file: a symbolic link stored in the archive',
                                   '__MACOSX/._a.png': 'not an image: macOS metadata (__MACOSX)'}

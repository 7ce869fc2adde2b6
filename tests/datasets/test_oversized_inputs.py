"""Zip bombs, huge files and decompression bombs become "too large" report entries, never a huge allocation.

The bombs are read in a subprocess whose address space is capped (RLIMIT_AS) a
little above what it already uses: a reader that inflates or decodes one whole
fails there instead of exhausting the machine.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from stylegan2_jax.data.image_collection import image_collection_builder
from stylegan2_jax.data.prepare import SkipItem, prepare
from stylegan2_jax.data.raw_images import read_capped

BOMB_BYTES = 320 * 2 ** 20  # what the bomb inflates to: over the default per-image cap (256 MiB)
HEADROOM_BYTES = 192 * 2 ** 20  # address space the reader may add to what it uses before reading

_CAPPED_READER = textwrap.dedent('''
    import json, resource, sys
    from stylegan2_jax.data.image_prep import decode_image
    from stylegan2_jax.data.prepare import SkipReport, process_items
    from stylegan2_jax.data.raw_images import ImageCollectionReader

    def address_space():
      with open('/proc/self/status') as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith('VmSize:'))

    readers = [ImageCollectionReader(source) for source in sys.argv[2:]]
    skipped = SkipReport()
    limit = address_space() + int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    made = []
    for reader in readers:
      fn = lambda item: (item.path, {'size': decode_image(reader.read(item.path)).size})
      made += [key for key, _ in process_items(reader.images, fn, skipped, 1, name=lambda item: item.path)]
    print(json.dumps(dict(made=made, skipped=dict(skipped.items))))
''')


def _png_header_bomb(width: int, height: int) -> bytes:
  """A valid-looking RGB PNG header of width x height with (almost) no pixel data: tiny file, huge image."""
  def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
  return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)) +
          chunk(b'IDAT', zlib.compress(bytes(width * 3 + 1))) + chunk(b'IEND', b''))


def _small_png(path) -> None:
  Image.new('RGB', (8, 8), (1, 2, 3)).save(path)


def _zip_with_bomb(path) -> None:
  """ok.png, and bomb.png: 320 MiB of zeros deflated to about 1.4 MB (written in chunks, never held whole)."""
  with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
    archive.writestr('ok.png', (path.parent / 'ok.png').read_bytes())
    with archive.open('bomb.png', 'w') as member:
      for _ in range(BOMB_BYTES // 2 ** 20):
        member.write(bytes(2 ** 20))


def _understate_size(path, member: str, lied_size: int) -> None:
  """Rewrites the recorded uncompressed size of ``member`` in the zip's local header and central directory."""
  info = zipfile.ZipFile(path).getinfo(member)
  data = bytearray(path.read_bytes())
  struct.pack_into('<I', data, info.header_offset + 22, lied_size)
  central = data.find(b'PK\x01\x02')
  while data[central + 46:central + 46 + len(member)] != member.encode():
    central = data.find(b'PK\x01\x02', central + 4)
  struct.pack_into('<I', data, central + 24, lied_size)
  path.write_bytes(bytes(data))
  assert zipfile.ZipFile(path).getinfo(member).file_size == lied_size


def test_bombs_and_huge_files_are_skipped_without_being_read(tmp_path):
  _small_png(tmp_path / 'ok.png')
  bomb_zip = tmp_path / 'bomb.zip'
  _zip_with_bomb(bomb_zip)
  folder = tmp_path / 'folder'
  folder.mkdir()
  _small_png(folder / 'ok.png')
  with open(folder / 'huge.png', 'wb') as sparse:  # a 320 MiB file that takes no disk space
    sparse.truncate(BOMB_BYTES)
  (folder / 'pixels.png').write_bytes(_png_header_bomb(12000, 12000))  # 144 M pixels in a 200-byte file
  (folder / 'pil_bomb.png').write_bytes(_png_header_bomb(20000, 20000))  # over PIL's own bomb limit

  result = subprocess.run([sys.executable, '-c', _CAPPED_READER, str(HEADROOM_BYTES), str(bomb_zip), str(folder)],
                          capture_output=True, text=True, check=False, env={**os.environ, 'MALLOC_ARENA_MAX': '1'})
  assert result.returncode == 0, result.stderr
  out = json.loads(result.stdout.splitlines()[-1])
  assert out['made'] == ['ok.png', 'ok.png']
  reasons = out['skipped']
  assert reasons['bomb.png'] == ('too large: inflates to 335,544,320 bytes, over the limit of 268,435,456 per '
                                 'image')
  assert reasons['huge.png'].startswith('too large: file of 335,544,320 bytes')
  assert reasons['pixels.png'] == 'too large: 12000x12000 is 144,000,000 pixels, over the limit of 67,108,864 per image'
  assert reasons['pil_bomb.png'].startswith('too large: Image size (400000000 pixels) exceeds limit')
  assert len(reasons) == 4


def test_a_zip_member_larger_than_its_header_says_is_skipped(tmp_path):
  _small_png(tmp_path / 'ok.png')
  lying_zip = tmp_path / 'lying.zip'
  with zipfile.ZipFile(lying_zip, 'w', zipfile.ZIP_DEFLATED) as archive:
    archive.writestr('ok.png', (tmp_path / 'ok.png').read_bytes())
    archive.writestr('liar.png', bytes(8 * 2 ** 20))
  _understate_size(lying_zip, 'liar.png', 4096)
  result = subprocess.run([sys.executable, '-c', _CAPPED_READER, str(HEADROOM_BYTES), str(lying_zip)],
                          capture_output=True, text=True, check=False, env={**os.environ, 'MALLOC_ARENA_MAX': '1'})
  assert result.returncode == 0, result.stderr
  out = json.loads(result.stdout.splitlines()[-1])
  assert out['made'] == ['ok.png'] and list(out['skipped']) == ['liar.png']
  assert out['skipped']['liar.png'].startswith('unreadable: BadZipFile: Bad CRC-32')


def test_reading_stops_once_more_than_the_cap_comes():
  with pytest.raises(SkipItem, match='too large: more than 1,000 bytes'):
    read_capped(io.BytesIO(bytes(1001)), 1000)
  assert read_capped(io.BytesIO(bytes(1000)), 1000) == bytes(1000)


def test_builder_caps_reach_the_report(tmp_path):
  source = tmp_path / 'raw'
  source.mkdir()
  noise = np.random.RandomState(0).randint(0, 256, (64, 64, 3), np.uint8)
  Image.fromarray(noise).save(source / 'big.png')  # about 12 KB
  _small_png(source / 'small.png')
  (source / 'wide.png').write_bytes(_png_header_bomb(100, 1))
  summary = prepare(image_collection_builder(str(source), 4, str(tmp_path / 'data'), 'capped',
                                             max_image_bytes=1000, max_image_pixels=99))
  assert summary['images'] == 1
  reasons = {entry['item']: entry['reason'] for entry in summary['skipped_files']}
  assert reasons['big.png'].startswith('too large: file of')
  assert reasons['wide.png'] == 'too large: 100x1 is 100 pixels, over the limit of 99 per image'

"""Hostile and broken network files, generated for ``test_hostile_inputs.py`` (nothing binary is committed).

Each case is a dict: ``name``, ``cls`` (the kind of attack), ``entry`` (``read``:
``official_pickle.read_pickle``; ``load``: ``formats.load_networks``), ``path`` and
``expect`` (a regex the one-line error must match, or ``None`` when the file must load).
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
from torch_pickles import Call, EasyDict, Global, PersistentId, dumps

LAUGH_DEPTHS = (25, 50, 100, 200)     # shared-reference depth: 2**depth values when walked as a tree
ZIP_BOMB_MIB = (32, 128, 512)         # what a ~0.1-2 MB zip member inflates to


def laughs(depth: int, kind=list):
  """A list (or tuple) whose halves are the same object, ``depth`` times: tiny pickled, 2**depth values as a tree."""
  x = kind()
  for _ in range(depth):
    x = kind([x, x])
  return x


def network(class_name='Generator', init_kwargs=None, children=None, params=None):
  """A persistent network as torch_utils.persistence pickles it (no tensors unless given)."""
  state = {'training': False, '_parameters': dict(params or {}), '_buffers': {}, '_modules': dict(children or {}),
           '_non_persistent_buffers_set': set(), '_init_kwargs': init_kwargs if init_kwargs is not None else {}}
  return Call(Global('torch_utils.persistence', '_reconstruct_persistent_obj'),
              {'type': 'class', 'version': 6, 'module_src': '', 'class_name': class_name, 'state': state})


def generator(init_kwargs):
  """A StyleGAN2 Generator's module tree (no tensors) with the given constructor kwargs."""
  return network('Generator', init_kwargs, children={
      'synthesis': network('SynthesisNetwork', children={'b4': network('SynthesisBlock')})})


def _tensor(pid_or_storage, size):
  stride = tuple(int(np.prod(size[i + 1:])) for i in range(len(size)))
  return Call(Global('torch._utils', '_rebuild_tensor_v2'), pid_or_storage, 0, tuple(size), stride, False,
              collections.OrderedDict())


class DictItems:
  """Pickled as an ``OrderedDict`` filled by SETITEMS from ``items``, without building (and hashing) it here."""

  def __init__(self, items):
    self.items = items

  def __reduce__(self):
    return Global('collections', 'OrderedDict'), (), None, None, iter(self.items)


def _embedded_storage():
  """One float storage in torch's legacy torch.save layout, as ``torch.storage._load_from_bytes`` receives it."""
  parts = [pickle.dumps(x, protocol=2) for x in (0x1950a86a20f9469cfc6c, 1001, {'little_endian': True})]
  parts.append(dumps(PersistentId(('storage', Global('torch', 'FloatStorage'), 'k', 'cpu', 1, None)), protocol=2))
  parts += [pickle.dumps(['k'], protocol=2), struct.pack('<q', 1), bytes(4)]
  return Call(Global('torch.storage', '_load_from_bytes'), b''.join(parts))


def zip_bomb(mib: int) -> bytes:
  """A torch.save zip whose one float storage (as the pickle declares it) is ``mib`` MiB of deflated zeros."""
  numel = (mib << 20) // 4
  pid = PersistentId(('storage', Global('torch', 'FloatStorage'), '0', 'cpu', numel))
  out = io.BytesIO()
  with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
    zf.writestr('archive/data.pkl', dumps({'w': _tensor(pid, (numel,))}, protocol=2))
    with zf.open('archive/data/0', 'w', force_zip64=True) as member:
      zeros = bytes(1 << 20)
      for _ in range(mib):
        member.write(zeros)
  return out.getvalue()


def lying_zip(patch_crc: bool) -> bytes:
  """A torch zip whose 16-byte storage member (as declared) really inflates to 8 MiB."""
  pid = PersistentId(('storage', Global('torch', 'FloatStorage'), '0', 'cpu', 4))
  out = io.BytesIO()
  with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
    zf.writestr('archive/data.pkl', dumps({'w': _tensor(pid, (4,))}, protocol=2))
    zf.writestr('archive/data/0', bytes(8 << 20))
  data = bytearray(out.getvalue())
  true_size = struct.pack('<I', 8 << 20)
  for signature, size_at, crc_at in ((b'PK\x03\x04', 22, 14), (b'PK\x01\x02', 24, 16)):
    start = 0
    while (start := data.find(signature, start)) >= 0:
      if data[start + size_at:start + size_at + 4] == true_size:
        data[start + size_at:start + size_at + 4] = struct.pack('<I', 16)
        if patch_crc:  # the header's CRC then matches the 16 bytes it declares
          import zlib  # pylint: disable=import-outside-toplevel
          data[start + crc_at:start + crc_at + 4] = struct.pack('<I', zlib.crc32(bytes(16)))
      start += 4
  return bytes(data)


def _export_dir(root, name, kwargs_text) -> str:
  from safetensors.numpy import save_file  # pylint: disable=import-outside-toplevel
  path = os.path.join(root, name)
  os.makedirs(path)
  save_file({'x': np.zeros(1, np.float32)}, os.path.join(path, 'G_ema.safetensors'))
  if kwargs_text is None:
    os.mkfifo(os.path.join(path, 'networks.json'))
  else:
    with open(os.path.join(path, 'networks.json'), 'wb') as f:
      f.write(kwargs_text if isinstance(kwargs_text, bytes) else kwargs_text.encode())
  return path


def write_cases(root: str) -> list[dict]:
  """Writes every hostile input under ``root`` and returns the cases."""
  cases = []
  os.makedirs(root, exist_ok=True)
  sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))  # the pure-Python pickler recurses per nesting level

  def add(name, cls, entry, data, expect, path=None):
    if path is None:
      path = os.path.join(root, name + '.pkl')
      with open(path, 'wb') as f:
        f.write(data)
    cases.append(dict(name=name, cls=cls, entry=entry, path=path, expect=expect))

  # Shared references ("billion laughs"): tiny files, 2**depth values if walked or printed as a tree.
  for depth in LAUGH_DEPTHS:
    add(f'laughs_device_{depth}', 'shared references', 'read',
        dumps({'d': Call(Global('torch', 'device'), laughs(depth))}), r'torch\.device\(<list of 2 items>')
    add(f'laughs_dtype_{depth}', 'shared references', 'read',
        dumps({'d': Call(Global('numpy', 'dtype'), laughs(depth), False, True)}), 'numpy dtype <list')
    add(f'laughs_tensor_size_{depth}', 'shared references', 'read',
        dumps({'t': Call(Global('torch._utils', '_rebuild_tensor_v2'), _embedded_storage(), 0, laughs(depth), (1, 1),
                         False, collections.OrderedDict())}), 'invalid tensor geometry: size <tuple of 2 items>')
    add(f'laughs_meta_type_{depth}', 'shared references', 'read',
        dumps({'G': Call(Global('torch_utils.persistence', '_reconstruct_persistent_obj'),
                         {'type': laughs(depth), 'class_name': 'G', 'state': {}})}), 'persistent object of type <list')
    add(f'laughs_dict_key_{depth}', 'shared references', 'read', dumps(DictItems([(laughs(depth, tuple), 1)])),
        'dict key or set item holds more than')
    add(f'laughs_set_{depth}', 'shared references', 'read',
        dumps({'s': Call(Global('builtins', 'set'), [laughs(depth, tuple)])}), 'dict key or set item holds more than')
    add(f'laughs_module_tree_{depth}', 'shared references', 'read',
        dumps({'G': _shared_modules(20 + depth // 5)}), 'MAX_MODULE_ENTRIES')
    too_deep = 'nests more than 64 levels' if depth > 60 else None  # read_limits.MAX_DEPTH
    add(f'laughs_plain_data_{depth}', 'shared references', 'read', dumps({'x': laughs(depth)}), too_deep)
    add(f'laughs_init_kwargs_{depth}', 'shared references', 'load',
        dumps({'G_ema': generator({'z_dim': 4, 'mapping_kwargs': EasyDict(num_layers=laughs(depth))})}),
        too_deep or 'more than 10000 values')

  # Budget: nesting, opcode count, memo indices, lengths past the end of the file.
  add('deep_nesting', 'reader budget', 'read', b'\x80\x02' + b']' * 100 + b'a' * 99 + b'.', 'nests more than 64')
  add('many_opcodes', 'reader budget', 'read', b'\x80\x04(' + b'N' * 1_100_000 + b'l.', 'more than 1000000 opcodes')
  add('huge_memo_index', 'reader budget', 'read', b'\x80\x02]r\xff\xff\xff\x7f.', None)
  lie = 'truncated or lies about a size'
  add('bytes_length_lie', 'reader budget', 'read', b'\x80\x04\x8e' + struct.pack('<Q', 1 << 40) + b'xx.', lie)
  add('frame_length_lie', 'reader budget', 'read', b'\x80\x04\x95' + struct.pack('<Q', 1 << 40) + b'N.', lie)
  add('deep_module_tree', 'reader budget', 'read', dumps({'G': _shared_modules(80, shared=False)}),
      'nest more than 64 modules')

  # Zip bombs: the storage member inflates far beyond the file; and headers that lie about sizes.
  for mib in ZIP_BOMB_MIB:
    add(f'zip_bomb_{mib}mib', 'zip bombs', 'read', zip_bomb(mib), 'past .* bytes')
  add('zip_lying_size', 'zip bombs', 'read', lying_zip(patch_crc=False), 'understates its size')
  add('zip_lying_size_and_crc', 'zip bombs', 'read', lying_zip(patch_crc=True), 'understates its size')

  # Paths that are not regular files: a FIFO would block the reader forever, a device never end.
  fifo = os.path.join(root, 'fifo.pkl')
  os.mkfifo(fifo)
  add('fifo', 'not a regular file', 'load', None, 'FIFO', path=fifo)
  add('fifo_read_pickle', 'not a regular file', 'read', None, 'FIFO', path=fifo)
  link = os.path.join(root, 'link.safetensors')
  os.symlink(fifo, link)
  add('symlink_to_fifo', 'not a regular file', 'load', None, 'FIFO', path=link)
  add('dev_zero', 'not a regular file', 'load', None, 'character device', path='/dev/zero')
  add('dev_zero_read_pickle', 'not a regular file', 'read', None, 'character device', path='/dev/zero')
  add('export_kwargs_fifo', 'not a regular file', 'load', None, 'networks.json is a FIFO',
      path=_export_dir(root, 'export_fifo', None))

  # Broken content: one clear line naming what is wrong.
  add('mixed_type_keys', 'broken content', 'load', pickle.dumps({'a': 1, 2: 3, None: 4}), 'not a network format')
  add('mixed_keys_with_network', 'broken content', 'load', dumps({1: network(), 'x': 2}), 'no networks')
  for name, kwargs, expect in (
      ('kwargs_string_z_dim', {'z_dim': 'abc'}, 'z_dim must be an integer'),
      ('kwargs_missing', {'z_dim': 4}, r"arguments \['c_dim', 'w_dim', 'img_resolution', 'img_channels'\] are missing"),
      ('kwargs_list_resolution', {'img_resolution': [32]}, 'img_resolution must be a power of two'),
      ('kwargs_list_mapping', {'mapping_kwargs': [1, 2]}, 'mapping_kwargs is a tuple'),
      ('kwargs_mixed_keys', {1: 2, 'z_dim': 4}, 'unsupported Generator argument'),
      ('kwargs_float_channels', {'synthesis_kwargs': {'channel_base': 1.5}}, 'channel_base must be an integer'),
      ('kwargs_not_a_dict', [('z_dim', 4)], 'init_kwargs is not a dict')):
    add(name, 'broken content', 'load', dumps({'G_ema': generator(kwargs)}), expect)
  for name, text, expect in (
      ('networks_json_list_g', '{"G": [1, 2]}', 'networks.json must hold a JSON object'),
      ('networks_json_string_resolution', '{"G": {"img_resolution": "32"}}', 'networks.json: G: .*img_resolution'),
      ('networks_json_negative_z_dim', '{"G": {"z_dim": -1}}', 'networks.json: G: .*z_dim must be an integer >= 0'),
      ('networks_json_not_json', 'G = {z_dim: 4}', 'networks.json is not valid JSON'),
      ('networks_json_binary', b'\xff\xfe\x00garbage', 'networks.json is not valid JSON'),
      ('networks_json_top_list', '[1, 2, 3]', 'networks.json must hold a JSON object')):
    add(name, 'broken content', 'load', None, expect, path=_export_dir(root, name, text))
  return cases


def _shared_modules(depth: int, shared: bool = True):
  """Networks nested ``depth`` deep; with ``shared`` each has two children that are the same object."""
  module = network('Leaf')
  for _ in range(depth):
    module = network('Block', children={'a': module, 'b': module} if shared else {'a': module})
  return module

"""Export to the official stylegan2-ada-pytorch layout (safetensors / .pt + networks.json) and back."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from safetensors.numpy import load_file

from conftest import fixture_path
from interop_helpers import TINY_D, TINY_G, assert_same_variables, random_network
from stylegan2_jax import cli
from stylegan2_jax.export import export_networks
from stylegan2_jax.extras import install_command
from stylegan2_jax.loading import load_networks
from stylegan2_jax.interop.official_pickle import UnsupportedPickleError, load_official_pickle
from stylegan2_jax.interop.state_dict import StateDictMismatchError
from stylegan2_jax.interop.torch_export import load_torch_export, write_torch_export

SNAPSHOT = 'network-snapshot-res32-nosrc.pkl'
# Every constructor argument of the official Generator / Discriminator (and their sub-networks' kwargs).
OFFICIAL_G_ARGS = {'z_dim', 'c_dim', 'w_dim', 'img_resolution', 'img_channels', 'mapping_kwargs', 'synthesis_kwargs'}
OFFICIAL_MAPPING_ARGS = {'num_layers', 'embed_features', 'layer_features', 'activation', 'lr_multiplier', 'w_avg_beta'}
OFFICIAL_SYNTHESIS_ARGS = {'channel_base', 'channel_max', 'num_fp16_res', 'architecture', 'resample_filter',
                           'conv_clamp', 'use_fp16', 'fp16_channels_last', 'kernel_size', 'use_noise', 'activation'}
OFFICIAL_D_ARGS = {'c_dim', 'img_resolution', 'img_channels', 'architecture', 'channel_base', 'channel_max',
                   'num_fp16_res', 'conv_clamp', 'cmap_dim', 'block_kwargs', 'mapping_kwargs', 'epilogue_kwargs'}


@pytest.fixture(scope='module')
def snapshot_export(tmp_path_factory):
  out = tmp_path_factory.mktemp('export')
  write_torch_export(load_networks(fixture_path(SNAPSHOT)), out, pt=False)
  return out


def test_export_is_the_official_state_dict(snapshot_export):
  """Each exported file holds exactly the official module's state_dict: every name, shape and value."""
  official = load_official_pickle(fixture_path(SNAPSHOT))
  for name in ('G', 'G_ema', 'D'):
    exported = load_file(str(snapshot_export / f'{name}.safetensors'))
    expected = official[name].state_dict
    assert sorted(exported) == sorted(expected), name  # strict load_state_dict needs exactly these names
    for key, value in expected.items():
      assert exported[key].dtype == np.float32 and np.array_equal(exported[key], value), f'{name}.{key}'


def test_exported_kwargs_are_official_constructor_arguments(snapshot_export):
  official = load_official_pickle(fixture_path(SNAPSHOT))
  kwargs = json.loads((snapshot_export / 'networks.json').read_text())
  G, D = kwargs['G'], kwargs['D']
  assert set(G) <= OFFICIAL_G_ARGS and set(G['mapping_kwargs']) <= OFFICIAL_MAPPING_ARGS
  assert set(G['synthesis_kwargs']) <= OFFICIAL_SYNTHESIS_ARGS and set(D) <= OFFICIAL_D_ARGS
  for ours, theirs in ((G, official['G_ema'].init_kwargs), (D, official['D'].init_kwargs)):
    for key, value in theirs.items():  # every argument the official pickle was built with, the same
      if isinstance(value, dict):
        assert {k: v for k, v in value.items() if k != 'num_fp16_res'} == \
            {k: v for k, v in ours[key].items() if k in value and k != 'num_fp16_res'}, key
      elif key != 'num_fp16_res':
        assert ours[key] == value, key


@pytest.mark.parametrize('conditional', [False, True])
def test_round_trip_ours_torch_ours_is_exact(tmp_path, conditional):
  c_dim = 4 if conditional else 0
  nets = {'G': random_network({**TINY_G, 'c_dim': c_dim}, seed=1),
          'G_ema': random_network({**TINY_G, 'c_dim': c_dim}, seed=2),
          'D': random_network({**TINY_D, 'c_dim': c_dim}, discriminator=True, seed=3)}
  write_torch_export(nets, tmp_path, pt=False)
  back = load_networks(tmp_path)
  assert set(back) == {'G', 'G_ema', 'D'}
  for name, net in nets.items():
    assert_same_variables(back[name], net)
    assert back[name].module == net.module


def test_pt_files_round_trip_and_load_in_torch(tmp_path):
  torch = pytest.importorskip('torch', reason='the torch extra is not installed')
  nets = {'G_ema': random_network(TINY_G), 'D': random_network(TINY_D, discriminator=True)}
  write_torch_export(nets, tmp_path, pt=True)
  for name in nets:
    from_torch = torch.load(tmp_path / f'{name}.pt', weights_only=True)
    from_safetensors = load_file(str(tmp_path / f'{name}.safetensors'))
    assert list(from_torch) == list(from_torch.keys()) and sorted(from_torch) == sorted(from_safetensors)
    for key, value in from_safetensors.items():
      assert np.array_equal(from_torch[key].numpy(), value), key
    (tmp_path / f'{name}.safetensors').unlink()  # now the .pt files are read (without torch's unpickler)
  back = load_torch_export(tmp_path)
  for name, net in nets.items():
    assert_same_variables(back[name], net)
  assert_same_variables(load_networks(tmp_path / 'G_ema.pt')['G_ema'], nets['G_ema'])


def test_export_command_and_generate_from_the_export(tmp_path):
  out = tmp_path / 'export'
  assert cli.main(['export', '--network', str(fixture_path(SNAPSHOT)), '--format', 'safetensors',
                   '--out', str(out)]) == 0
  assert cli.main(['generate', '--network', str(out), '--seeds', '0', '--trunc', '0.7',
                   '--outdir', str(tmp_path / 'img')]) == 0
  reference = np.asarray(__import__('PIL.Image').Image.open(fixture_path('generate_res32/seed0000.png')))
  produced = np.asarray(__import__('PIL.Image').Image.open(tmp_path / 'img' / 'seed0000.png'))
  assert np.abs(produced.astype(int) - reference.astype(int)).max() <= 1


@pytest.mark.parametrize('fmt, module, extra', [('torch', 'torch', 'torch'), ('rosinality', 'torch', 'torch'),
                                                ('onnx', 'onnx', 'onnx'), ('savedmodel', 'tensorflow', 'tf')])
def test_missing_extras_are_named(tmp_path, monkeypatch, capsys, fmt, module, extra):
  monkeypatch.setitem(__import__('sys').modules, module, None)  # as if the extra were not installed
  with pytest.raises(ImportError, match=re.escape(install_command(extra))):
    export_networks(fixture_path(SNAPSHOT), fmt, tmp_path / 'out')
  assert cli.main(['export', '--network', str(fixture_path(SNAPSHOT)), '--format', fmt,
                   '--out', str(tmp_path / 'out')]) == 2
  assert install_command(extra) in capsys.readouterr().err
  assert not (tmp_path / 'out').exists()  # refused before writing anything


def test_mismatched_export_is_refused(tmp_path):
  write_torch_export({'G_ema': random_network(TINY_G)}, tmp_path, pt=False)
  kwargs = json.loads((tmp_path / 'networks.json').read_text())
  kwargs['G']['synthesis_kwargs']['channel_max'] = 16
  (tmp_path / 'networks.json').write_text(json.dumps(kwargs))
  with pytest.raises(StateDictMismatchError, match='shape'):
    load_networks(tmp_path)


def test_damaged_files_are_refused_with_their_name(tmp_path):
  write_torch_export({'G_ema': random_network(TINY_G)}, tmp_path, pt=False)
  (tmp_path / 'G_ema.safetensors').write_bytes(b'not a safetensors file')
  with pytest.raises(UnsupportedPickleError, match='G_ema.safetensors is not a readable safetensors file'):
    load_networks(tmp_path)
  (tmp_path / 'image.png').write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(64))
  with pytest.raises(UnsupportedPickleError, match='image.png: unsupported'):
    load_networks(tmp_path / 'image.png')
  with pytest.raises(FileNotFoundError, match='does not exist'):
    load_networks(tmp_path / 'missing.pkl')

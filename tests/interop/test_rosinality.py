"""The rosinality/stylegan2-pytorch checkpoint layout: names, shapes, kernels, round trips, refusals."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from interop_helpers import TINY_D, TINY_G, assert_same_variables, random_network
from stylegan2_jax import cli
from stylegan2_jax.loading import load_networks
from stylegan2_jax.networks.handle import UnsupportedNetworkError
from stylegan2_jax.interop.rosinality import export_rosinality, from_rosinality_state_dict, import_rosinality
from stylegan2_jax.interop.state_dict import StateDictMismatchError
from stylegan2_jax.ops.upfirdn2d import setup_filter
from torch_pickles import torch_save_zip


def _styled(prefix, out, inp, k=3):
  return {f'{prefix}.conv.weight': (1, out, inp, k, k), f'{prefix}.conv.modulation.weight': (inp, 16),
          f'{prefix}.conv.modulation.bias': (inp,)}


# rosinality's Generator(size=16, style_dim=16, n_mlp=2) with channels {4: 32, 8: 32, 16: 16}, written out
# module by module from its model.py: the names and shapes its load_state_dict(strict=True) requires.
EXPECTED_G = {
    'style.1.weight': (16, 16), 'style.1.bias': (16,), 'style.2.weight': (16, 16), 'style.2.bias': (16,),
    'input.input': (1, 32, 4, 4),
    **_styled('conv1', 32, 32), 'conv1.noise.weight': (1,), 'conv1.activate.bias': (32,),
    **_styled('to_rgb1', 3, 32, k=1), 'to_rgb1.bias': (1, 3, 1, 1),
    **_styled('convs.0', 32, 32), 'convs.0.noise.weight': (1,), 'convs.0.activate.bias': (32,),
    'convs.0.conv.blur.kernel': (4, 4),
    **_styled('convs.1', 32, 32), 'convs.1.noise.weight': (1,), 'convs.1.activate.bias': (32,),
    **_styled('to_rgbs.0', 3, 32, k=1), 'to_rgbs.0.bias': (1, 3, 1, 1), 'to_rgbs.0.upsample.kernel': (4, 4),
    **_styled('convs.2', 16, 32), 'convs.2.noise.weight': (1,), 'convs.2.activate.bias': (16,),
    'convs.2.conv.blur.kernel': (4, 4),
    **_styled('convs.3', 16, 16), 'convs.3.noise.weight': (1,), 'convs.3.activate.bias': (16,),
    **_styled('to_rgbs.1', 3, 16, k=1), 'to_rgbs.1.bias': (1, 3, 1, 1), 'to_rgbs.1.upsample.kernel': (4, 4),
    'noises.noise_0': (1, 1, 4, 4), 'noises.noise_1': (1, 1, 8, 8), 'noises.noise_2': (1, 1, 8, 8),
    'noises.noise_3': (1, 1, 16, 16), 'noises.noise_4': (1, 1, 16, 16),
}
# rosinality's Discriminator(size=16) with the same channels.
EXPECTED_D = {
    'convs.0.0.weight': (16, 3, 1, 1), 'convs.0.1.bias': (16,),
    'convs.1.conv1.0.weight': (16, 16, 3, 3), 'convs.1.conv1.1.bias': (16,), 'convs.1.conv2.0.kernel': (4, 4),
    'convs.1.conv2.1.weight': (32, 16, 3, 3), 'convs.1.conv2.2.bias': (32,), 'convs.1.skip.0.kernel': (4, 4),
    'convs.1.skip.1.weight': (32, 16, 1, 1),
    'convs.2.conv1.0.weight': (32, 32, 3, 3), 'convs.2.conv1.1.bias': (32,), 'convs.2.conv2.0.kernel': (4, 4),
    'convs.2.conv2.1.weight': (32, 32, 3, 3), 'convs.2.conv2.2.bias': (32,), 'convs.2.skip.0.kernel': (4, 4),
    'convs.2.skip.1.weight': (32, 32, 1, 1),
    'final_conv.0.weight': (32, 33, 3, 3), 'final_conv.1.bias': (32,),
    'final_linear.0.weight': (32, 512), 'final_linear.0.bias': (32,),
    'final_linear.1.weight': (1, 32), 'final_linear.1.bias': (1,),
}


@pytest.fixture(scope='module')
def nets():
  G, G_ema = random_network(TINY_G, seed=4), random_network(TINY_G, seed=5)
  # Training keeps G_ema's buffers equal to G's (the official EMA copies them): one latent_avg serves both.
  G.variables['buffers']['mapping']['w_avg'] = G_ema.variables['buffers']['mapping']['w_avg']
  return {'G': G, 'G_ema': G_ema, 'D': random_network(TINY_D, discriminator=True, seed=6)}


def test_layout_is_rosinalitys(nets):
  ckpt = export_rosinality(nets)
  assert set(ckpt) == {'g_ema', 'latent_avg', 'g', 'd'}
  assert {k: v.shape for k, v in ckpt['g_ema'].items()} == EXPECTED_G
  assert {k: v.shape for k, v in ckpt['d'].items()} == EXPECTED_D
  f = setup_filter([1, 3, 3, 1])
  assert np.array_equal(ckpt['g_ema']['convs.0.conv.blur.kernel'], f * 4)     # Blur(upsample_factor=2)
  assert np.array_equal(ckpt['g_ema']['to_rgbs.1.upsample.kernel'], f * 4)    # Upsample
  assert np.array_equal(ckpt['d']['convs.2.conv2.0.kernel'], f)               # Blur for downsampling
  v = nets['G_ema'].variables
  assert np.array_equal(ckpt['latent_avg'], v['buffers']['mapping']['w_avg'])
  # The values sit where rosinality's forward uses them (spot checks of each kind of rename/reshape).
  p = v['params']['synthesis']
  assert np.array_equal(ckpt['g_ema']['convs.2.conv.weight'][0], p['b16']['conv0']['weight'])
  assert np.array_equal(ckpt['g_ema']['to_rgbs.0.bias'].ravel(), p['b8']['torgb']['bias'])
  assert ckpt['g_ema']['convs.3.noise.weight'][0] == p['b16']['conv1']['noise_strength']
  assert np.array_equal(ckpt['g_ema']['noises.noise_3'][0, 0], v['buffers']['synthesis']['b16']['conv0']['noise_const'])
  assert np.array_equal(ckpt['g_ema']['style.2.weight'], v['params']['mapping']['fc1']['weight'])
  d = nets['D'].variables['params']
  assert np.array_equal(ckpt['d']['convs.1.conv2.1.weight'], d['b16']['conv1']['weight'])
  assert np.array_equal(ckpt['d']['final_linear.0.bias'], d['b4']['fc']['bias'])


def test_round_trip_through_a_pt_file_is_exact(nets, tmp_path):
  path = tmp_path / 'rosinality.pt'
  path.write_bytes(torch_save_zip(export_rosinality(nets)))
  back = load_networks(path)
  for name in ('G', 'G_ema', 'D'):
    assert_same_variables(back[name], nets[name])  # same names and shapes: the same architecture


def test_export_command_writes_a_torch_checkpoint(nets, tmp_path):
  torch = pytest.importorskip('torch', reason='the torch extra is not installed')
  from stylegan2_jax.interop.torch_export import write_torch_export
  write_torch_export(nets, tmp_path / 'src', pt=False)
  out = tmp_path / 'ros.pt'
  assert cli.main(['export', '--network', str(tmp_path / 'src'), '--format', 'rosinality', '--out', str(out)]) == 0
  ckpt = torch.load(out, weights_only=True)
  assert set(ckpt) == {'g_ema', 'latent_avg', 'g', 'd'} and ckpt['g_ema']['input.input'].shape == (1, 32, 4, 4)
  assert_same_variables(load_networks(out)['G_ema'], nets['G_ema'])


def test_missing_latent_avg_is_the_mean_w(nets):
  ckpt = export_rosinality({'G_ema': nets['G_ema']})
  net = from_rosinality_state_dict(ckpt['g_ema'], is_d=False)
  z = np.random.RandomState(0).randn(20000, 16).astype(np.float32)
  ws = net.module.apply(net.variables, jnp.asarray(z), jnp.zeros((20000, 0)), method='map')
  assert np.allclose(net.variables['buffers']['mapping']['w_avg'], np.asarray(ws[:, 0]).mean(0), atol=0.03)


def test_unsupported_networks_and_files_are_refused(nets):
  with pytest.raises(UnsupportedNetworkError, match='conditional'):
    export_rosinality({'G_ema': random_network({**TINY_G, 'c_dim': 3})})
  with pytest.raises(UnsupportedNetworkError, match='resnet discriminator'):
    export_rosinality({'G_ema': nets['G_ema'], 'D': random_network({**TINY_D, 'architecture': 'orig'}, True)})
  ckpt = export_rosinality(nets)
  ckpt['g_ema']['convs.1.conv.weight'] = ckpt['g_ema']['convs.1.conv.weight'][:, :, :8]
  with pytest.raises(StateDictMismatchError, match='convs.1.conv.weight'):
    import_rosinality(ckpt)
  ckpt = export_rosinality(nets)
  ckpt['g_ema']['convs.0.conv.blur.kernel'] = np.ones((4, 4), np.float32) / 16
  with pytest.raises(StateDictMismatchError, match='blur kernel'):
    import_rosinality(ckpt)
  ckpt = export_rosinality(nets)
  ckpt['d']['extra.weight'] = np.zeros(3, np.float32)
  with pytest.raises(StateDictMismatchError, match='unexpected extra.weight'):
    import_rosinality(ckpt)

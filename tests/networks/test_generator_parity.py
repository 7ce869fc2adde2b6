"""Generator parity with the official implementation on the reference fixtures.

Tolerances come from the fixtures README: ws and images ``atol=1e-4, rtol=1e-4``
(two float32 formulations inside PyTorch itself differ by ~1e-5).
"""

import jax
import numpy as np
import pytest
from conftest import init_kwargs_of, load_npz, state_dict_of

from stylegan2_jax.interop.state_dict import from_state_dict
from stylegan2_jax.networks.config import generator_from_kwargs, init_generator

TOL = dict(atol=1e-4, rtol=1e-4)
CASES = ['g_res32_skip.npz', 'g_res32_cond.npz']


@pytest.fixture(scope='module', params=CASES)
def case(request):
  data = load_npz(request.param)
  G = generator_from_kwargs(init_kwargs_of(data))
  template = jax.eval_shape(lambda: init_generator(G, jax.random.PRNGKey(0)))
  variables = from_state_dict(state_dict_of(data), template)
  return data, G, variables


def test_mapping(case):
  data, G, v = case
  np.testing.assert_allclose(G.apply(v, data['z'], data['c'], method=G.map), data['ws'], **TOL)


def test_truncation_all_layers(case):
  data, G, v = case
  ws = G.apply(v, data['z'], data['c'], 0.7, method=G.map)
  np.testing.assert_allclose(ws, data['ws_psi07'], **TOL)


def test_truncation_cutoff(case):
  data, G, v = case
  ws = G.apply(v, data['z'], data['c'], 0.7, 4, method=G.map)
  np.testing.assert_allclose(ws, data['ws_psi07_cutoff4'], **TOL)


@pytest.mark.parametrize('noise_mode', ['const', 'none'])
def test_synthesis(case, noise_mode):
  data, G, v = case
  img = G.apply(v, data['ws'], noise_mode, method=G.synthesize)
  np.testing.assert_allclose(img, data[f'img_{noise_mode}'], **TOL)


def test_truncated_image_end_to_end(case):
  data, G, v = case
  img = G.apply(v, data['z'], data['c'], 0.7, noise_mode='const')
  np.testing.assert_allclose(img, data['img_psi07_const'], **TOL)


def test_mapping_intermediates(case):
  data, G, v = case
  _, state = G.apply(v, data['z'][:2], data['c'][:2], method=G.map, capture_intermediates=True,
                     mutable=['intermediates'])
  mapping = state['intermediates']['mapping']
  layers = sorted(k for k in data if k.startswith('interm_mapping_fc'))
  assert layers, 'fixture has no mapping intermediates'
  for key in layers:
    np.testing.assert_allclose(mapping[key[len('interm_mapping_'):]]['__call__'][0], data[key], **TOL, err_msg=key)
  if 'interm_mapping_embed' in data:
    np.testing.assert_allclose(mapping['embed']['__call__'][0], data['interm_mapping_embed'], **TOL)


def test_synthesis_block_intermediates(case):
  data, G, v = case
  _, state = G.apply(v, data['ws'][:2], 'const', method=G.synthesize, capture_intermediates=True,
                     mutable=['intermediates'])
  blocks = state['intermediates']['synthesis']
  resolutions = sorted(int(k.split('_')[2][1:]) for k in data if k.startswith('interm_synthesis_') and k.endswith('_x'))
  assert resolutions == [4, 8, 16, 32]
  for res in resolutions:
    x, img = blocks[f'b{res}']['__call__'][0]
    np.testing.assert_allclose(np.transpose(x, (0, 3, 1, 2)), data[f'interm_synthesis_b{res}_x'], **TOL, err_msg=f'b{res} x')
    np.testing.assert_allclose(np.transpose(img, (0, 3, 1, 2)), data[f'interm_synthesis_b{res}_img'], **TOL,
                               err_msg=f'b{res} img')


@pytest.mark.parametrize('noise_mode', ['const', 'none'])
def test_style_mixing(noise_mode):
  data = load_npz('g_res32_skip.npz')
  G = generator_from_kwargs(init_kwargs_of(data))
  v = from_state_dict(state_dict_of(data), jax.eval_shape(lambda: init_generator(G, jax.random.PRNGKey(0))))
  cutoff = int(data['mix_cutoff'])
  ws1 = G.apply(v, data['mix_z1'], data['c'], method=G.map)
  ws2 = G.apply(v, data['mix_z2'], data['c'], method=G.map)
  ws = np.concatenate([ws1[:, :cutoff], ws2[:, cutoff:]], axis=1)
  np.testing.assert_allclose(ws, data['mix_ws'], **TOL)
  img = G.apply(v, data['mix_ws'], noise_mode, method=G.synthesize)
  np.testing.assert_allclose(img, data[f'mix_img_{noise_mode}'], **TOL)

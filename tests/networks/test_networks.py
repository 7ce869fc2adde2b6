"""Network behaviour beyond the fixtures: every architecture and resolution, noise, precision, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from stylegan2_jax.interop.state_dict import from_state_dict, to_state_dict
from stylegan2_jax.networks.config import (abstract_variables, discriminator_from_kwargs, generator_from_kwargs, init_discriminator, init_generator)
from stylegan2_jax.networks.defaults import discriminator_config, generator_config
from stylegan2_jax.networks.layers import minibatch_stddev


def tiny_g(res=16, **synthesis):
  cfg = generator_config(res, z_dim=8, w_dim=8)
  cfg.mapping_kwargs.num_layers = 2
  cfg.synthesis_kwargs.update(dict(channel_base=64, channel_max=8, **synthesis))
  return generator_from_kwargs(cfg)


def tiny_d(res=16, **kwargs):
  cfg = discriminator_config(res, channel_base=64, channel_max=8)
  cfg.update(kwargs)
  return discriminator_from_kwargs(cfg)


@pytest.mark.parametrize('architecture', ['orig', 'skip', 'resnet'])
@pytest.mark.parametrize('res', [4, 16])
def test_generator_shapes_and_state_dict_names(architecture, res):
  G = tiny_g(res, architecture=architecture)
  v = init_generator(G, jax.random.PRNGKey(0))
  z = jax.random.normal(jax.random.PRNGKey(1), (2, 8))
  img = G.apply(v, z, None, noise_mode='const')
  assert img.shape == (2, 3, res, res) and img.dtype == jnp.float32
  names = set(to_state_dict(v))
  top = f'synthesis.b{res}'
  assert f'{top}.torgb.weight' in names and 'mapping.w_avg' in names and 'synthesis.b4.const' in names
  assert ('synthesis.b8.torgb.weight' in names) == (architecture == 'skip' and res > 8)
  assert ('synthesis.b8.skip.weight' in names) == (architecture == 'resnet' and res >= 8)


def test_official_initialization():
  G = tiny_g(8)
  v = init_generator(G, jax.random.PRNGKey(0))
  sd = to_state_dict(v)
  assert np.all(sd['synthesis.b8.conv0.affine.bias'] == 1) and np.all(sd['synthesis.b8.conv0.bias'] == 0)
  assert sd['synthesis.b8.conv0.noise_strength'] == 0 and np.all(sd['mapping.w_avg'] == 0)
  assert 20 < np.std(sd['mapping.fc0.weight']) < 200  # randn / lr_multiplier (0.01)


@pytest.mark.parametrize('architecture', ['orig', 'skip', 'resnet'])
def test_discriminator_shapes(architecture):
  D = tiny_d(16, architecture=architecture, c_dim=3)
  v = init_discriminator(D, jax.random.PRNGKey(0), batch_size=4)
  img = jax.random.normal(jax.random.PRNGKey(1), (4, 3, 16, 16))
  logits = D.apply(v, img, jnp.eye(3)[jnp.array([0, 1, 2, 0])])
  assert logits.shape == (4, 1)
  names = set(to_state_dict(v))
  assert 'mapping.embed.weight' in names and 'b4.out.weight' in names
  assert ('b8.fromrgb.weight' in names) == (architecture == 'skip')


def test_state_dict_round_trip():
  G = tiny_g(8)
  v = init_generator(G, jax.random.PRNGKey(3))
  template = abstract_variables(G)
  back = from_state_dict(to_state_dict(v), template)
  jax.tree.map(np.testing.assert_array_equal, back, jax.tree.map(np.asarray, v))


def test_noise_modes_and_injected_noise():
  G = tiny_g(8)
  v = init_generator(G, jax.random.PRNGKey(0))
  v = jax.tree.map(lambda x: x, v)
  v['params']['synthesis']['b8']['conv1']['noise_strength'] = jnp.asarray(0.5)
  ws = G.apply(v, jnp.ones((2, 8)), None, method=G.map)
  const = G.apply(v, ws, 'const', method=G.synthesize)
  none = G.apply(v, ws, 'none', method=G.synthesize)
  r1 = G.apply(v, ws, 'random', method=G.synthesize, rngs={'noise': jax.random.PRNGKey(1)})
  r2 = G.apply(v, ws, 'random', method=G.synthesize, rngs={'noise': jax.random.PRNGKey(2)})
  assert not np.allclose(const, none) and not np.allclose(r1, r2)
  # Injecting the stored constant as explicit noise reproduces noise_mode='const'.
  noise_const = v['buffers']['synthesis']
  noise = {f'b{r}.conv{k}': jnp.broadcast_to(noise_const[f'b{r}'][f'conv{k}']['noise_const'], (2, 1, r, r))
           for r, k in [(4, 1), (8, 0), (8, 1)]}
  injected = G.apply(v, ws, 'random', noise, method=G.synthesize)
  np.testing.assert_allclose(injected, const, atol=1e-6)
  with pytest.raises(ValueError, match='unknown noise layers'):
    G.apply(v, ws, 'random', {'b16.conv0': noise['b8.conv0']}, method=G.synthesize)
  with pytest.raises(ValueError, match='noise_mode'):
    G.apply(v, ws, 'sometimes', method=G.synthesize)


def test_w_avg_update_and_truncation():
  G = tiny_g(8)
  v = init_generator(G, jax.random.PRNGKey(0))
  z = jax.random.normal(jax.random.PRNGKey(1), (4, 8))
  ws, state = G.apply(v, z, None, update_w_avg=True, method=G.map, mutable=['buffers'])
  w_mean = np.asarray(ws[:, 0]).mean(0)
  np.testing.assert_allclose(state['buffers']['mapping']['w_avg'], (1 - 0.995) * w_mean, rtol=1e-5, atol=1e-7)
  v = {**v, 'buffers': state['buffers']}
  ws_t = G.apply(v, z, None, 0.0, method=G.map)
  np.testing.assert_allclose(ws_t, np.broadcast_to(state['buffers']['mapping']['w_avg'], ws_t.shape), atol=1e-6)


def test_minibatch_stddev_groups_are_strided():
  x = np.zeros((8, 1, 1, 2), np.float32)
  x[[0, 2, 4, 6], 0, 0, 0] = [0, 2, 0, 2]  # group {0,2,4,6}: std 1 on channel 0
  y = np.asarray(minibatch_stddev(jnp.asarray(x), 4))[:, 0, 0, -1]
  np.testing.assert_allclose(y[[0, 2, 4, 6]], (1 + 1e-4) / 2, rtol=1e-4)  # averaged over 2 channels
  np.testing.assert_allclose(y[[1, 3, 5, 7]], 1e-4, rtol=1e-3)
  with pytest.raises(ValueError, match='divide'):
    minibatch_stddev(jnp.zeros((6, 1, 1, 2)), 4)


def test_mbstd_shards_keep_groups_inside_each_slice():
  D = tiny_d(8)
  v = init_discriminator(D, jax.random.PRNGKey(0), batch_size=8)
  img = jax.random.normal(jax.random.PRNGKey(1), (8, 3, 8, 8))
  per_slice = jnp.concatenate([D.apply(v, img[:4]), D.apply(v, img[4:])])
  np.testing.assert_allclose(D.apply(v, img, mbstd_shards=2), per_slice, atol=1e-6)
  assert not np.allclose(D.apply(v, img), per_slice, atol=1e-6)


@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_reduced_precision_top_resolutions(dtype):
  G32 = tiny_g(16)
  Gmp = tiny_g(16, num_fp16_res=2, fp16_dtype=dtype, conv_clamp=256.0)
  v = init_generator(G32, jax.random.PRNGKey(0))
  z = jax.random.normal(jax.random.PRNGKey(1), (2, 8))
  a = G32.apply(v, z, None, noise_mode='const')
  b = Gmp.apply(v, z, None, noise_mode='const')
  assert b.dtype == jnp.float32
  assert np.abs(np.asarray(a) - np.asarray(b)).max() < 0.1 * np.abs(np.asarray(a)).max()
  D = tiny_d(16, num_fp16_res=2, fp16_dtype=dtype, conv_clamp=256.0)
  vd = init_discriminator(D, jax.random.PRNGKey(0), batch_size=2)
  assert D.apply(vd, a).dtype == jnp.float32


def test_bad_inputs_give_clear_errors():
  with pytest.raises(ValueError, match='power of two'):
    init_generator(tiny_g(12), jax.random.PRNGKey(0))
  with pytest.raises(ValueError, match='architecture'):
    init_generator(tiny_g(8, architecture='fancy'), jax.random.PRNGKey(0))
  G = tiny_g(8)
  v = init_generator(G, jax.random.PRNGKey(0))
  with pytest.raises(ValueError, match=r'z must have shape \[N, 8\]'):
    G.apply(v, jnp.zeros((2, 5)), None)
  D = tiny_d(8)
  vd = init_discriminator(D, jax.random.PRNGKey(0))
  with pytest.raises(ValueError, match='NCHW'):
    D.apply(vd, jnp.zeros((2, 8, 8, 3)))

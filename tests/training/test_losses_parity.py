"""Every training phase against the official code (``train_res32.npz``), with the official random draws replayed."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import init_kwargs_of, load_npz
from stylegan2_jax import losses
from stylegan2_jax.interop.state_dict import from_state_dict, to_state_dict
from stylegan2_jax.networks.config import abstract_variables, discriminator_from_kwargs, generator_from_kwargs
from stylegan2_jax.ops.target import TARGETS, use_target


@pytest.fixture(scope='module')
def case():
  data = load_npz('train_res32.npz')
  kwargs = init_kwargs_of(data)
  G = generator_from_kwargs(kwargs['G'])
  D = discriminator_from_kwargs(kwargs['D'])
  g_vars = from_state_dict(data, abstract_variables(G), prefix='G.')
  d_vars = from_state_dict(data, abstract_variables(D), prefix='D.')
  return dict(data=data, G=G, D=D, g_vars=g_vars, d_vars=d_vars)


def draws_of(data: dict, phase: str, n: int) -> dict:
  """The official draws of one phase in our ``draws`` layout."""
  noise = {k[len(phase) + 7:].replace('_', '.'): data[k]
           for k in data if k.startswith(f'{phase}_noise_')}
  return dict(z=data[f'{phase}_gen_z'][:n], z2=data[f'{phase}_mix_z2'], cutoff=data[f'{phase}_mix_cutoff'],
              noise=noise)


def assert_close(actual, expected, rtol=1e-4, atol=1e-4):
  np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol, atol=atol)


def assert_gradients_match(grads, data: dict, phase: str):
  """Per tensor ``max|d| <= 1e-3 max|ref_t| + 1e-6 max_phase|ref|``; global relative L2 <= 1e-4."""
  ours = to_state_dict({'params': grads})
  prefix = f'grad_{phase}.'
  refs = {k[len(prefix):]: v for k, v in data.items() if k.startswith(prefix)}
  assert set(ours) == set(refs)
  phase_max = max(float(np.abs(v).max()) for v in refs.values())
  bad = []
  for name, ref in refs.items():
    err = float(np.abs(ours[name] - ref).max())
    if err > 1e-3 * float(np.abs(ref).max()) + 1e-6 * phase_max:
      bad.append(f'{name}: max|d| {err:.3g}, max|ref| {np.abs(ref).max():.3g}')
  assert not bad, '\n'.join(bad)
  diff = np.sqrt(sum(np.sum((ours[k] - refs[k]) ** 2) for k in refs))
  norm = np.sqrt(sum(np.sum(refs[k] ** 2) for k in refs))
  assert diff <= 1e-4 * norm


@pytest.fixture(params=TARGETS)
def ops_form(request):
  """Runs the test with the resampling ops in each formulation (ops/target.py): the default and the TPU one."""
  with use_target(request.param):
    yield request.param


def test_draw_layout_matches_official_noise_layers(case):
  ours = losses.draw_generator_inputs(jax.random.PRNGKey(0), case['G'], 8, 0.9)
  official = draws_of(case['data'], 'gmain', 8)
  assert set(ours) == set(official)
  assert set(ours['noise']) == set(official['noise'])
  for name, value in official['noise'].items():
    assert ours['noise'][name].shape == value.shape


def test_generator_main_phase(case, ops_form):
  data, G, D = case['data'], case['G'], case['D']
  draws = draws_of(data, 'gmain', 8)
  assert int(data['gmain_mix_cutoff']) == 3
  loss_fn = jax.value_and_grad(losses.generator_main_loss, has_aux=True)
  (objective, aux), grads = loss_fn(case['g_vars']['params'], case['g_vars']['buffers'], case['d_vars']['params'],
                                    G, D, draws, gain=float(data['gain_Gmain']))
  ws, _ = losses.mixed_ws(G, case['g_vars'], draws, None)
  assert_close(ws, data['gmain_ws'])
  img, _, _ = losses.run_generator(G, case['g_vars'], draws, None)
  assert_close(img, data['gmain_gen_img'])
  assert_close(aux['gen_logits'], data['gmain_gen_logits'])
  assert_close(aux['loss_Gmain'], data['gmain_loss_Gmain'])
  assert_close(objective, data['gmain_objective'])
  assert_close(aux['buffers']['mapping']['w_avg'], data['gmain_w_avg_after'])
  assert_gradients_match(grads, data, 'Gmain')


def test_path_length_phase(case, ops_form):
  data, G = case['data'], case['G']
  n = int(data['batch_size']) // int(data['pl_batch_shrink'])
  draws = draws_of(data, 'greg', n)
  np.testing.assert_allclose(data['greg_pl_noise'], data['greg_pl_noise_randn'] / 32, rtol=1e-6)
  loss_fn = jax.value_and_grad(losses.path_length_loss, has_aux=True)
  (objective, aux), grads = loss_fn(case['g_vars']['params'], case['g_vars']['buffers'],
                                    jnp.float32(data['greg_pl_mean_before']), G, draws, data['greg_pl_noise'],
                                    pl_weight=float(data['pl_weight']), pl_decay=float(data['pl_decay']),
                                    gain=float(data['gain_Greg']))
  assert_close(aux['pl_grads'], data['greg_pl_grads'])
  assert_close(aux['pl_lengths'], data['greg_pl_lengths'])
  assert_close(aux['pl_mean'], data['greg_pl_mean_after'])
  assert_close(aux['pl_penalty'], data['greg_pl_penalty'])
  assert_close(aux['loss_Gpl'], data['greg_loss_Gpl'])
  assert_close(objective, data['greg_objective'])
  assert_close(aux['buffers']['mapping']['w_avg'], data['greg_w_avg_after'])
  assert_gradients_match(grads, data, 'Greg')


def test_path_length_noise_scale():
  noise = losses.draw_pl_noise(jax.random.PRNGKey(1), (64, 3, 32, 32))
  assert abs(float(jnp.std(noise)) * 32 - 1) < 0.02


def test_discriminator_main_phase(case, ops_form):
  data, G, D = case['data'], case['G'], case['D']
  draws = draws_of(data, 'dmain', 8)
  loss_fn = jax.value_and_grad(losses.discriminator_main_loss, has_aux=True)
  (objective, aux), grads = loss_fn(case['d_vars']['params'], case['g_vars']['params'], case['g_vars']['buffers'],
                                    G, D, draws, data['real_img'], gain=float(data['gain_Dmain']))
  assert_close(aux['gen_logits'], data['dmain_gen_logits'])
  assert_close(aux['real_logits'], data['dmain_real_logits'])
  assert_close(aux['loss_Dgen'], data['dmain_loss_Dgen'])
  assert_close(aux['loss_Dreal'], data['dmain_loss_Dreal'])
  assert_close(objective, data['dmain_objective'])
  assert_close(aux['buffers']['mapping']['w_avg'], data['dmain_w_avg_after'])
  assert_gradients_match(grads, data, 'Dmain')


def test_r1_phase(case, ops_form):
  data, D = case['data'], case['D']
  loss_fn = jax.value_and_grad(losses.r1_loss, has_aux=True)
  (objective, aux), grads = loss_fn(case['d_vars']['params'], D, data['real_img'],
                                    r1_gamma=float(data['r1_gamma']), gain=float(data['gain_Dreg']))
  assert_close(aux['real_logits'], data['dreg_real_logits'])
  ref = data['dreg_r1_grads']
  assert np.abs(np.asarray(aux['r1_grads']) - ref).max() <= 1e-3 * np.abs(ref).max()
  assert_close(aux['r1_penalty'], data['dreg_r1_penalty'], atol=1e-3 * np.abs(data['dreg_r1_penalty']).max())
  assert_close(objective, data['dreg_objective'], atol=1e-3 * abs(float(data['dreg_objective'])))
  assert_gradients_match(grads, data, 'Dreg')

"""Import of original TensorFlow StyleGAN2 pickles, built here in the TF1 layout from the official fixtures."""

from __future__ import annotations

import io

import numpy as np
import pytest

from conftest import fixture_path
from stylegan2_jax.loading import load_networks
from stylegan2_jax.networks.handle import UnsupportedNetworkError
from stylegan2_jax.interop.official_pickle import UnsafePickleError, UnsupportedPickleError, read_pickle
from stylegan2_jax.interop.state_dict import to_state_dict
from torch_pickles import Call, Global, TFNetwork, dumps

RES, CHANNEL_BASE, CHANNEL_MAX = 32, 2048, 128  # the fixture networks (fixtures/README.md)


def _official(npz_name: str) -> dict[str, np.ndarray]:
  with np.load(fixture_path(npz_name)) as npz:
    return {k: npz[k] for k in npz.files if '.' in k and not k.endswith('resample_filter')}


def _tf_conv(w, flip=False):
  """PyTorch [out, in, kh, kw] -> TF [kh, kw, in, out]; TF runs up-convs as transposed convs of the flipped kernel."""
  w = w.transpose(2, 3, 1, 0)
  return np.ascontiguousarray(w[::-1, ::-1] if flip else w)


def _tf_layer(sd, ours, scope, flip=False):
  return {f'{scope}/weight': _tf_conv(sd[f'{ours}.weight'], flip), f'{scope}/bias': sd[f'{ours}.bias'],
          f'{scope}/mod_weight': sd[f'{ours}.affine.weight'].T.copy(),
          f'{scope}/mod_bias': sd[f'{ours}.affine.bias'] - 1,  # TF adds the 1 at run time
          **({f'{scope}/noise_strength': sd[f'{ours}.noise_strength']} if f'{ours}.noise_strength' in sd else {})}


def tf1_generator(sd: dict, name: str) -> TFNetwork:
  """A G_main network (mapping + synthesis components) in the TF1 layout, holding the official ``sd``.

  Every variable the official TF code creates is there: G_main's ``dlatent_avg`` and
  ``lod``, G_mapping's ``Dense{i}`` (unconditional: no ``LabelConcat``), and
  G_synthesis_stylegan2's ``4x4/Const``, per-layer weights, ``noise{i}`` buffers and
  ToRGB layers (it has no ``lod``: only G_main and the older networks do).
  """
  mapping = {f'Dense{i}/{p}': sd[f'mapping.fc{i}.{p}'].T.copy() if p == 'weight' else sd[f'mapping.fc{i}.{p}']
             for i in range(8) for p in ('weight', 'bias')}
  synthesis = {'4x4/Const/const': sd['synthesis.b4.const'][None],
               **_tf_layer(sd, 'synthesis.b4.conv1', '4x4/Conv'), **_tf_layer(sd, 'synthesis.b4.torgb', '4x4/ToRGB')}
  noise = [sd['synthesis.b4.conv1.noise_const']]
  for res in (8, 16, 32):
    synthesis.update(_tf_layer(sd, f'synthesis.b{res}.conv0', f'{res}x{res}/Conv0_up', flip=True))
    synthesis.update(_tf_layer(sd, f'synthesis.b{res}.conv1', f'{res}x{res}/Conv1'))
    synthesis.update(_tf_layer(sd, f'synthesis.b{res}.torgb', f'{res}x{res}/ToRGB'))
    noise += [sd[f'synthesis.b{res}.conv0.noise_const'], sd[f'synthesis.b{res}.conv1.noise_const']]
  synthesis.update({f'noise{i}': n[None, None] for i, n in enumerate(noise)})
  common = dict(fmap_base=CHANNEL_BASE // 2, fmap_max=CHANNEL_MAX, resolution=RES, num_channels=3)
  return _network(name, 'G_main', {**common, 'latent_size': 64, 'dlatent_size': 64, 'mapping_fmaps': 64},
                  {'dlatent_avg': sd['mapping.w_avg'], 'lod': np.float32(0)}, components={
                      'mapping': _network('G_mapping', 'G_mapping', dict(latent_size=64, dlatent_size=64,
                                                                         mapping_fmaps=64, label_size=0), mapping),
                      'synthesis': _network('G_synthesis', 'G_synthesis_stylegan2', {**common, 'dlatent_size': 64},
                                            synthesis)})


def tf1_discriminator(sd: dict) -> TFNetwork:
  """D_stylegan2 (resnet) in the TF1 layout."""
  variables = {f'{RES}x{RES}/FromRGB/weight': _tf_conv(sd[f'b{RES}.fromrgb.weight']),
               f'{RES}x{RES}/FromRGB/bias': sd[f'b{RES}.fromrgb.bias']}
  for res in (32, 16, 8):
    for ours, scope in (('conv0', 'Conv0'), ('conv1', 'Conv1_down')):
      variables[f'{res}x{res}/{scope}/weight'] = _tf_conv(sd[f'b{res}.{ours}.weight'])
      variables[f'{res}x{res}/{scope}/bias'] = sd[f'b{res}.{ours}.bias']
    variables[f'{res}x{res}/Skip/weight'] = _tf_conv(sd[f'b{res}.skip.weight'], flip=True)
  variables.update({'4x4/Conv/weight': _tf_conv(sd['b4.conv.weight']), '4x4/Conv/bias': sd['b4.conv.bias'],
                    '4x4/Dense0/weight': sd['b4.fc.weight'].T.copy(), '4x4/Dense0/bias': sd['b4.fc.bias'],
                    'Output/weight': sd['b4.out.weight'].T.copy(), 'Output/bias': sd['b4.out.bias']})
  return _network('D', 'D_stylegan2', dict(fmap_base=CHANNEL_BASE // 2, fmap_max=CHANNEL_MAX, resolution=RES,
                                            num_channels=3, label_size=0), variables)


def _network(name, func, static_kwargs, variables, components=None) -> TFNetwork:
  """The state dict TF1's Network.__getstate__ writes (version 4)."""
  return TFNetwork({'version': 4, 'name': name, 'static_kwargs': static_kwargs, 'components': components or {},
                    'build_module_src': 'raise RuntimeError("never executed")', 'build_func_name': func,
                    'variables': list(variables.items())})


@pytest.fixture(scope='module')
def official():
  g_ema = _official('g_res32_skip.npz')
  g = {k: v + np.float32(0.01) for k, v in g_ema.items()}  # G differs from Gs
  return {'G': g, 'G_ema': g_ema, 'D': _official('d_res32_resnet.npz')}


@pytest.fixture(scope='module')
def tf1_pickle(official, tmp_path_factory):
  path = tmp_path_factory.mktemp('tf1') / 'stylegan2-config-f.pkl'
  path.write_bytes(dumps((tf1_generator(official['G'], 'G'), tf1_discriminator(official['D']),
                          tf1_generator(official['G_ema'], 'Gs')), protocol=3))
  return path


def test_tf1_pickle_imports_to_the_official_parameters(official, tf1_pickle):
  nets = load_networks(tf1_pickle)
  for name in ('G', 'G_ema', 'D'):
    ours = to_state_dict(nets[name].variables)
    assert sorted(ours) == sorted(official[name]), name
    for key, value in official[name].items():
      assert np.array_equal(ours[key], value.astype(np.float32)), f'{name}.{key}'
  G = nets['G_ema'].module
  assert (G.z_dim, G.w_dim, G.img_resolution) == (64, 64, RES)
  assert (G.synthesis_kwargs['channel_base'], G.synthesis_kwargs['channel_max']) == (CHANNEL_BASE, CHANNEL_MAX)


def test_tf1_generator_renders_the_official_images(tf1_pickle):
  """End to end: the imported Gs reproduces the official generator's fixture output."""
  net = load_networks(tf1_pickle, keys=('G_ema',))['G_ema']
  with np.load(fixture_path('g_res32_skip.npz')) as npz:
    img = net.module.apply(net.variables, npz['ws'], noise_mode='const', method='synthesize')
    np.testing.assert_allclose(np.asarray(img), npz['img_const'], atol=1e-4, rtol=0)


def _edit(official, edit_g=None, edit_d=None):
  G = tf1_generator(official['G_ema'], 'Gs')
  D = tf1_discriminator(official['D'])
  if edit_g:
    edit_g(G.state)
  if edit_d:
    edit_d(D.state)
  return io.BytesIO(dumps((G, D, G), protocol=3))


def test_unsupported_tf1_networks_are_refused(official, tmp_path):
  cases = [
      (lambda s: s['components']['mapping'].state['static_kwargs'].update(label_size=10), None, 'conditional'),
      (lambda s: s.update(build_func_name='G_style'), None, "built by 'G_style'"),
      (None, lambda s: s['variables'].append(('4x4/Extra/weight', np.zeros(2, np.float32))),
       'unexpected 4x4/Extra/weight'),
      (None, lambda s: s['variables'].pop(0), 'missing 32x32/FromRGB/weight'),
      (None, lambda s: s['static_kwargs'].update(fmap_max=64), 'shape'),
  ]
  for i, (edit_g, edit_d, message) in enumerate(cases):
    path = tmp_path / f'case{i}.pkl'
    path.write_bytes(_edit(official, edit_g, edit_d).getvalue())
    with pytest.raises((UnsupportedNetworkError, ValueError), match=message):
      load_networks(path)


def test_hostile_tf1_pickles_are_refused():
  evil = TFNetwork({'name': 'G', 'build_func_name': 'G_main', 'static_kwargs': {},
                    'variables': [('x', Call(Global('os', 'system'), 'echo pwned'))]})
  with pytest.raises(UnsafePickleError, match='os.system'):
    read_pickle(io.BytesIO(dumps((evil,))))
  with pytest.raises(UnsupportedPickleError, match='TF1 network'):  # a Network without state
    read_pickle(io.BytesIO(dumps((Call(Global('dnnlib.tflib.network', 'Network')),))))
  bad_vars = TFNetwork({'name': 'G', 'build_func_name': 'G_main', 'static_kwargs': {}, 'variables': [('x', 'y')]})
  with pytest.raises(UnsupportedPickleError, match='variables'):
    read_pickle(io.BytesIO(dumps((bad_vars,))))

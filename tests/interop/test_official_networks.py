"""Official snapshot pickle -> our G, G_ema and D, matching the reference fixtures."""

import numpy as np
import pytest
from conftest import fixture_path, load_npz, state_dict_of

from stylegan2_jax.interop.official import convert_official_module, load_official_networks
from stylegan2_jax.networks.handle import UnsupportedNetworkError
from stylegan2_jax.interop.official_pickle import OfficialModule
from stylegan2_jax.interop.state_dict import StateDictMismatchError, to_state_dict

TOL = dict(atol=1e-4, rtol=1e-4)


@pytest.fixture(scope='module')
def networks():
  return load_official_networks(fixture_path('network-snapshot-res32-nosrc.pkl'))


def test_g_ema_is_the_reference_generator(networks):
  ref = load_npz('g_res32_skip.npz')
  net = networks['G_ema']
  assert net.class_name == 'Generator'
  assert to_state_dict(net.variables).keys() == {k for k in state_dict_of(ref) if not k.endswith('resample_filter')}
  img = net.module.apply(net.variables, ref['ws'], 'const', method=net.module.synthesize)
  np.testing.assert_allclose(img, ref['img_const'], **TOL)


@pytest.mark.parametrize('name,fixture', [('G_ema', 'g_res32_skip.npz'), ('D', 'd_res32_resnet.npz')])
def test_complete_official_state_dict_round_trip(networks, name, fixture):
  """With the derived FIR buffers, our state dict is the official one: same keys, same values."""
  ref = state_dict_of(load_npz(fixture))
  ours = to_state_dict(networks[name].variables, with_derived=True)
  assert sorted(ours) == sorted(ref)
  for key, value in ref.items():
    np.testing.assert_array_equal(ours[key], value, err_msg=key)


def test_g_is_not_g_ema(networks):
  ref = load_npz('g_res32_skip.npz')
  net = networks['G']
  img = net.module.apply(net.variables, ref['ws'], 'const', method=net.module.synthesize)
  assert np.abs(np.asarray(img) - ref['img_const']).max() > 1e-3


def test_discriminator_matches_reference(networks):
  ref = load_npz('d_res32_resnet.npz')
  net = networks['D']
  logits = net.module.apply(net.variables, ref['img'], ref['c'])
  assert np.abs(np.asarray(logits) - ref['logits']).max() <= 1e-3 * np.abs(ref['logits']).max()


def _official(class_name, state_dict, init_kwargs, classes=None):
  return OfficialModule(class_name=class_name, init_kwargs=init_kwargs, state_dict=state_dict,
                        module_classes=classes or {'': class_name, 'synthesis.b4': 'SynthesisBlock'}, attributes={})


def test_state_dict_mismatches_are_listed():
  ref = load_npz('g_res32_skip.npz')
  sd = state_dict_of(ref)
  kwargs = dict(z_dim=64, w_dim=64, c_dim=0, img_resolution=32, img_channels=3,
                mapping_kwargs=dict(num_layers=8), synthesis_kwargs=dict(channel_base=2048, channel_max=128))
  sd = dict(sd)
  del sd['mapping.fc0.weight']
  sd['synthesis.b8.conv0.weight'] = sd['synthesis.b8.conv0.weight'][:, :3]
  sd['extra.weight'] = np.zeros(3)
  sd['synthesis.b8.resample_filter'] = np.ones((4, 4), np.float32)
  with pytest.raises(StateDictMismatchError) as err:
    convert_official_module('G', _official('Generator', sd, kwargs))
  message = str(err.value)
  for fragment in ['missing mapping.fc0.weight', 'synthesis.b8.conv0.weight: shape', 'unexpected extra.weight',
                   'synthesis.b8.resample_filter: resample filter differs']:
    assert fragment in message


def test_stylegan3_generator_is_refused_clearly():
  net = _official('Generator', {}, {}, classes={'': 'Generator', 'synthesis': 'SynthesisNetwork',
                                                'synthesis.input': 'SynthesisInput'})
  with pytest.raises(UnsupportedNetworkError, match='StyleGAN3'):
    convert_official_module('G_ema', net)


def test_unknown_constructor_kwargs_are_refused():
  ref = load_npz('g_res32_skip.npz')
  kwargs = dict(z_dim=64, w_dim=64, c_dim=0, img_resolution=32, img_channels=3,
                synthesis_kwargs=dict(channel_base=2048, channel_max=128, magic=1))
  with pytest.raises(ValueError, match=r"unsupported synthesis_kwargs argument\(s\) \['magic'\]"):
    convert_official_module('G', _official('Generator', state_dict_of(ref), kwargs))


def test_stylegan3_repo_layout_of_stylegan2_kwargs():
  """stylegan3's networks_stylegan2.Generator takes the synthesis kwargs flat, plus fused_modconv_default."""
  ref = load_npz('g_res32_skip.npz')
  kwargs = dict(z_dim=64, w_dim=64, c_dim=0, img_resolution=32, img_channels=3, mapping_kwargs=dict(num_layers=8),
                channel_base=2048, channel_max=128, num_fp16_res=4, conv_clamp=None,
                fused_modconv_default='inference_only')
  net = convert_official_module('G_ema', _official('Generator', state_dict_of(ref), kwargs))
  assert net.module.synthesis_kwargs['channel_base'] == 2048 and net.module.synthesis_kwargs['num_fp16_res'] == 0
  img = net.module.apply(net.variables, ref['ws'], 'const', method=net.module.synthesize)
  np.testing.assert_allclose(img, ref['img_const'], **TOL)

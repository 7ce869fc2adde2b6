"""Network presets build the networks they describe."""

import subprocess
import sys

import jax
import pytest

from conftest import REPO
from configs.networks import PRESETS, get_config
from stylegan2_jax.networks.config import discriminator_from_kwargs, generator_from_kwargs


@pytest.mark.parametrize('preset', sorted(PRESETS))
def test_presets_build(preset):
  cfg = get_config(preset)
  G = generator_from_kwargs(cfg.G)
  D = discriminator_from_kwargs(cfg.D)
  assert G.img_resolution == D.img_resolution == PRESETS[preset][0]
  assert G.num_ws == 2 * (G.img_resolution.bit_length() - 1) - 2


def test_tiny_preset_runs():
  from stylegan2_jax.networks.config import init_generator
  G = generator_from_kwargs(get_config('tiny').G)
  v = init_generator(G, jax.random.PRNGKey(0))
  assert G.apply(v, jax.numpy.zeros((1, 32)), None, noise_mode='none').shape == (1, 3, 16, 16)


def test_unknown_preset():
  with pytest.raises(ValueError, match='unknown network preset'):
    get_config('huge')


##### training configs ###########################################################################

import importlib  # noqa: E402

from stylegan2_jax.training.build import build_networks  # noqa: E402
from stylegan2_jax.training.config import validate_config  # noqa: E402

TRAINING_CONFIGS = [
    ('ffhq', 'res=1024'), ('ffhq', 'res=256'), ('lsun', 'category=car'), ('lsun', 'category=church'),
    ('paper', 'preset=paper256,dataset=ffhq,res=256'), ('paper', 'preset=auto,dataset=ffhq,res=64'),
    ('ablations', 'config=B'), ('ablations', 'config=C'), ('ablations', 'config=D'),
    ('ablations', 'config=E,G=orig,D=skip,dataset=lsun_car'), ('ablations', 'config=F'),
]


def _config(module, arg):
  return importlib.import_module(f'configs.{module}').get_config(arg)


@pytest.mark.parametrize('module,arg', TRAINING_CONFIGS)
def test_training_configs_validate_and_build(module, arg):
  config = _config(module, arg)
  validate_config(config, num_devices=8)
  G, D = build_networks(config, img_channels=3)
  assert G.img_resolution == D.img_resolution == config.resolution
  tiny = _config(module, arg + ',tiny')
  assert (tiny.resolution, tiny.dataset, tiny.batch_size) == (16, 'demo_mnist', 8)


def test_paper_settings():
  f = _config('ffhq', 'res=1024')
  assert (f.G.synthesis_kwargs.channel_base, f.D.channel_base, f.batch_size, f.G_lr, f.r1_gamma, f.pl_weight,
          f.style_mixing_prob, f.ema_kimg, f.G.mapping_kwargs.num_layers, f.xflip) == \
      (32768, 32768, 32, 0.002, 10.0, 2.0, 0.9, 10.0, 8, True)
  lsun = {c: _config('lsun', f'category={c}') for c in ('car', 'cat', 'church', 'horse')}
  assert {c: (x.resolution, x.r1_gamma, x.total_kimg, x.dataset) for c, x in lsun.items()} == {
      'car': (512, 10.0, 57000, 'lsun_car'), 'cat': (256, 10.0, 88000, 'lsun_cat'),
      'church': (256, 100.0, 48000, 'lsun_church'), 'horse': (256, 100.0, 100000, 'lsun_horse')}
  p256 = _config('paper', 'preset=paper256,dataset=x,res=256')
  assert (p256.batch_size, p256.D.epilogue_kwargs.mbstd_group_size, p256.G.synthesis_kwargs.channel_base,
          p256.r1_gamma, p256.ema_kimg, p256.G_lr) == (64, 8, 16384, 1.0, 20.0, 0.0025)
  auto = _config('paper', 'preset=auto,dataset=x,res=32')  # the official rule on 8 GPUs
  assert (auto.batch_size, auto.r1_gamma, auto.ema_kimg, auto.ema_rampup, auto.G.mapping_kwargs.num_layers) == \
      (64, 0.0002 * 32 ** 2 / 64, 20.0, 0.05, 2)


def test_precision_argument_sets_the_official_mixed_precision():
  for module, arg in (('paper', 'preset=paper256,dataset=x,res=256'), ('ffhq', 'res=1024')):
    plain = _config(module, arg)
    assert (plain.G.synthesis_kwargs.num_fp16_res, plain.D.num_fp16_res, plain.D.conv_clamp) == (0, 0, None)
    low = _config(module, arg + ',precision=bf16')
    for net in (low.G.synthesis_kwargs, low.D):
      assert (net.num_fp16_res, net.conv_clamp, net.fp16_dtype) == (4, 256.0, 'bfloat16')
    validate_config(low, num_devices=8)
  assert _config('ffhq', 'res=1024,precision=fp16').D.fp16_dtype == 'float16'
  with pytest.raises(ValueError, match='choose one of fp32, bf16, fp16'):
    _config('ffhq', 'res=1024,precision=half')


def test_ablation_table():
  rows = {c: _config('ablations', f'config={c}') for c in 'BCDEF'}
  summary = {c: (x.G.synthesis_kwargs.architecture, x.D.architecture, x.G.synthesis_kwargs.channel_base,
                 x.r1_gamma, x.pl_weight, x.G_reg_interval, x.D_reg_interval) for c, x in rows.items()}
  assert summary == {
      'B': ('orig', 'orig', 16384, 10.0, 0.0, None, None),
      'C': ('orig', 'orig', 16384, 10.0, 0.0, 4, 16),
      'D': ('orig', 'orig', 16384, 10.0, 2.0, 4, 16),
      'E': ('skip', 'resnet', 16384, 100.0, 2.0, 4, 16),
      'F': ('skip', 'resnet', 32768, 10.0, 2.0, 4, 16)}
  grid = _config('ablations', 'config=E,G=resnet,D=orig,dataset=lsun_car')
  assert (grid.G.synthesis_kwargs.architecture, grid.D.architecture, grid.resolution) == ('resnet', 'orig', 512)
  with pytest.raises(ValueError, match='config=E'):
    _config('ablations', 'config=F,G=orig')
  with pytest.raises(ValueError, match='choose one of'):
    _config('lsun', 'category=bedroom')
  with pytest.raises(ValueError, match='unknown config argument'):
    _config('ffhq', 'resolution=256')


def test_ablation_b_trains_without_lazy_regularization(tmp_path):
  from stylegan2_jax.training.loop import train_and_evaluate
  config = _config('ablations', 'config=B,tiny')
  config.total_kimg = 0.016
  state = train_and_evaluate(config, tmp_path)
  assert int(state.step) == 2 and float(state.pl_mean) == 0.0


def test_a_config_override_that_names_no_setting_gets_one_line():
  from stylegan2_jax.commands.train import override_error
  config = ['--config', str(REPO / 'configs' / 'demo.py') + ':tiny']
  assert 'did you mean --config.r1_gamma' in override_error(config + ['--config.r1_gama=1'])
  assert 'is not a setting: the resolution is --config.resolution' in override_error(
      config + ['--config.D.img_resolution=64'])
  assert override_error(config + ['--config.G.mapping_kwargs.num_layers=3']) is None


def test_the_train_command_refuses_an_unknown_override_in_one_line(tmp_path):
  result = subprocess.run([sys.executable, '-m', 'stylegan2_jax.cli', 'train', '--config',
                           str(REPO / 'configs' / 'demo.py') + ':tiny', '--workdir', str(tmp_path / 'run'),
                           '--config.G.img_resolution=64'], capture_output=True, text=True, cwd=REPO, timeout=300)
  assert result.returncode != 0
  assert result.stderr.strip().splitlines() == [
      'stylegan2-jax train: error: --config.G.img_resolution is not a setting: the resolution is --config.resolution '
      '(for G and D), and the channel and label counts come from the dataset']
  assert not (tmp_path / 'run').exists()


def test_a_config_that_sets_data_derived_network_fields_is_refused():
  config = importlib.import_module('configs.demo').get_config('tiny')
  with config.unlocked():
    config.G.img_channels = 1
  with pytest.raises(ValueError, match='G.img_channels is not a training setting'):
    validate_config(config, 1)

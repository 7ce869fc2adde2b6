"""The TPU compile benchmark's parts that run without libtpu: settings and the HLO byte ranking."""

import jax
import jax.numpy as jnp
import pytest

from benchmarks.tpu_compile import CHIPS, setting_config, top_ops
from stylegan2_jax.training.config import validate_config


def test_settings_are_the_presets_at_their_images_per_device():
  p256 = setting_config('paper256', 'fp32', devices=8)
  assert (p256.resolution, p256.batch_size, p256.G.synthesis_kwargs.channel_base, p256.r1_gamma) == (256, 64, 16384, 1.0)
  f = setting_config('f1024', 'bf16', devices=8, batch_gpu=2)
  assert (f.resolution, f.batch_size, f.batch_gpu, f.G.synthesis_kwargs.channel_base, f.r1_gamma) == \
      (1024, 32, 2, 32768, 10.0)
  assert (f.G.synthesis_kwargs.num_fp16_res, f.D.conv_clamp, f.D.fp16_dtype) == (4, 256.0, 'bfloat16')
  validate_config(f, num_devices=8)
  assert set(CHIPS) >= {'v5e', 'v6e', 'v5p', 'v4'}


def test_remat_setting_builds_rematerialized_networks():
  from stylegan2_jax.training.build import build_networks
  assert not setting_config('f1024', 'fp32', devices=8).remat
  config = setting_config('f1024', 'fp32', devices=8, remat=True)
  validate_config(config, num_devices=8)
  G, D = build_networks(config, 3)
  assert G.remat and D.remat


def test_interleaved_terms_setting_reaches_the_steps():
  from stylegan2_jax.training.build import loss_settings
  assert loss_settings(setting_config('paper256', 'fp32', devices=8), 8).sequential_terms
  config = setting_config('paper256', 'fp32', devices=8, sequential_terms=False)
  validate_config(config, num_devices=8)
  assert not loss_settings(config, 8).sequential_terms


def test_settings_the_trainer_refuses_are_refused():
  # config F at 4 images per device in rounds of 1: Greg's path-length batch (images // 2) would be empty per round
  with pytest.raises(ValueError, match='path-length batch'):
    setting_config('f1024', 'bf16', devices=8, batch_gpu=1)


def test_top_ops_ranks_instructions_by_operand_and_result_bytes():
  def fn(x, w):
    return jnp.tanh(x @ w).sum(axis=0) + jnp.sin(x).sum(axis=0)[: w.shape[1]]
  x, w = jnp.zeros((256, 128), jnp.float32), jnp.zeros((128, 64), jnp.float32)
  text = jax.jit(fn).lower(x, w).compile().as_text()
  rows = top_ops(text, 5)
  assert 1 <= len(rows) <= 5
  assert [r['bytes'] for r in rows] == sorted((r['bytes'] for r in rows), reverse=True)
  assert rows[0]['bytes'] >= 256 * 128 * 4  # the biggest reads all of x
  assert all(r['opcode'] not in ('parameter', 'tuple', 'constant') for r in rows)


@pytest.mark.parametrize('text,expected', [
    ('ENTRY %main (p: f32[4,4]) -> f32[4,4] {\n  %p = f32[4,4]{1,0} parameter(0)\n'
     '  ROOT %add.1 = f32[4,4]{1,0} add(f32[4,4]{1,0} %p, f32[4,4]{1,0} %p), metadata={op_name="jit(f)/add"}\n}\n',
     [dict(bytes=192, opcode='add', source='jit(f)/add')]),
])
def test_top_ops_reads_shapes_and_source_names(text, expected):
  rows = top_ops(text, 3)
  assert [{k: r[k] for k in expected[0]} for r in rows] == expected


def test_phase_setup_builds_the_trainers_phases_with_augmentation():
  """``--augment`` compiles the phases with ADA's pipe: D's phases do more work, G's state has p."""
  from benchmarks.tpu_compile import phase_setup
  from stylegan2_jax.sharding import data_mesh

  def flops(augment):
    config = setting_config('paper256', 'fp32', devices=1, augment=augment)
    config.resolution = 16
    for net in (config.G.synthesis_kwargs, config.D):
      net.update(channel_base=64, channel_max=16)
    config.G.mapping_kwargs.num_layers = 1
    config.batch_size = 2
    steps, state, real = phase_setup(config, data_mesh(jax.devices()[:1]))
    cost = steps.d_step.lower(state, real, None).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return state, float(cost['flops'])

  plain_state, plain = flops('none')
  aug_state, augmented = flops('bgc')
  assert plain_state.augment_p is None and aug_state.augment_p.shape == ()
  assert augmented > plain

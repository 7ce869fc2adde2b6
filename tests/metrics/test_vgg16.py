"""The precision/recall VGG16 embedding: torchvision names, flatten order, area resize, weights files."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import fixture_path
from stylegan2_jax.metrics.vgg16 import (EMBEDDING_SIZE, IMAGENET_MEAN, IMAGENET_STD, TAPS, VGG16_CONVS,
                                         VGG16Embedding, VGG16Features, area_resize, load_vgg16,
                                         vgg16_embedding_from_state_dict)


def _area_reference(x: np.ndarray, size: int) -> np.ndarray:
  """torch ``adaptive_avg_pool2d`` written out: window [floor(i*in/out), ceil((i+1)*in/out))."""
  n, h, w, c = x.shape
  out = np.zeros((n, size, size, c), np.float64)
  for i in range(size):
    r0, r1 = int(np.floor(i * h / size)), int(np.ceil((i + 1) * h / size))
    for j in range(size):
      c0, c1 = int(np.floor(j * w / size)), int(np.ceil((j + 1) * w / size))
      out[:, i, j] = x[:, r0:r1, c0:c1].mean(axis=(1, 2))
  return out


@pytest.mark.parametrize('in_size,out_size', [(512, 224), (300, 224), (64, 224), (224, 224), (7, 3)])
def test_area_resize_is_adaptive_average_pooling(in_size, out_size):
  x = np.random.RandomState(in_size).rand(2, in_size, in_size, 3).astype(np.float32)
  np.testing.assert_allclose(np.asarray(area_resize(jnp.asarray(x), out_size)), _area_reference(x, out_size),
                             atol=2e-6)


def _random_torchvision_state_dict(rng: np.random.RandomState) -> dict:
  """A state_dict with torchvision vgg16's names and shapes, small random weights."""
  sd, in_ch = {}, 3
  for _, index, ch in VGG16_CONVS:
    sd[f'features.{index}.weight'] = (rng.randn(ch, in_ch, 3, 3) * np.sqrt(2 / (9 * in_ch))).astype(np.float32)
    sd[f'features.{index}.bias'] = (rng.randn(ch) * 0.05).astype(np.float32)
    in_ch = ch
  for index, (fan_in, fan_out) in ((0, (512 * 7 * 7, 4096)), (3, (4096, 4096)), (6, (4096, 1000))):
    sd[f'classifier.{index}.weight'] = (rng.randn(fan_out, fan_in) * np.sqrt(2 / fan_in)).astype(np.float32)
    sd[f'classifier.{index}.bias'] = (rng.randn(fan_out) * 0.05).astype(np.float32)
  return sd


@pytest.fixture(scope='module')
def torchvision_sd():
  return _random_torchvision_state_dict(np.random.RandomState(0))


def test_embedding_is_fc7_of_torchvision_layout(torchvision_sd):
  """fc7 = relu(W3 relu(W0 flatten_CHW(pool5) + b0) + b3), computed in numpy from the trunk's relu5_3."""
  variables = vgg16_embedding_from_state_dict(torchvision_sd)
  images = np.random.RandomState(1).randint(0, 256, (2, 64, 48, 3)).astype(np.uint8)
  fc7 = np.asarray(VGG16Embedding().apply(variables, jnp.asarray(images)))
  assert fc7.shape == (2, 4096)

  x = _area_reference(images.astype(np.float64) / 255, EMBEDDING_SIZE)
  x = (x - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
  relu5_3 = np.asarray(VGG16Features().apply({'params': variables['params']['vgg']}, jnp.asarray(x, jnp.float32))[-1])
  pool5 = relu5_3.reshape(2, 7, 2, 7, 2, 512).max(axis=(2, 4))  # 2x2 max-pool of 14x14
  flat = pool5.transpose(0, 3, 1, 2).reshape(2, -1).astype(np.float64)
  fc6 = np.maximum(flat @ torchvision_sd['classifier.0.weight'].T + torchvision_sd['classifier.0.bias'], 0)
  ref = np.maximum(fc6 @ torchvision_sd['classifier.3.weight'].T + torchvision_sd['classifier.3.bias'], 0)
  assert np.abs(ref).max() > 0.1
  np.testing.assert_allclose(fc7, ref, atol=1e-4 * np.abs(ref).max())


def test_trunk_matches_lpips_reference_under_torchvision_names():
  """The lpips fixture's VGG16 (net.sliceK.i = features.i) loaded by torchvision name gives its normalized taps."""
  with np.load(fixture_path('lpips_vgg.npz')) as data:
    ref = {k: data[k].astype(np.float32) if data[k].dtype.kind == 'f' else data[k] for k in data.files}
  sd = {f'features.{k.split(".", 2)[2]}': v for k, v in ref.items() if k.startswith('net.slice')}
  sd.update({f'classifier.{i}.{leaf}': np.zeros((4096, 25088 if i == 0 else 4096) if leaf == 'weight' else (4096,),
                                                 np.float32) for i in (0, 3) for leaf in ('weight', 'bias')})
  variables = vgg16_embedding_from_state_dict(sd)
  shift = np.asarray(ref['scaling_layer.shift']).reshape(1, 1, 1, 3)
  scale = np.asarray(ref['scaling_layer.scale']).reshape(1, 1, 1, 3)
  x = (ref['in0'][:1].transpose(0, 2, 3, 1) - shift) / scale
  taps = VGG16Features().apply({'params': variables['params']['vgg']}, jnp.asarray(x))
  for name, tap in zip(('relu1_2', 'relu2_2', 'relu3_3', 'relu4_3', 'relu5_3'), taps):
    norm = tap / (jnp.sqrt(jnp.sum(tap * tap, axis=-1, keepdims=True)) + 1e-10)
    np.testing.assert_allclose(np.asarray(norm).transpose(0, 3, 1, 2), ref[f'nfeat_in0_{name}_s0'], atol=1e-5)
  assert len(taps) == len(TAPS)


def test_load_vgg16_files_and_errors(tmp_path, torchvision_sd):
  np.savez(tmp_path / 'vgg16.npz', **torchvision_sd)
  loaded = load_vgg16(tmp_path / 'vgg16.npz')
  expected = vgg16_embedding_from_state_dict(torchvision_sd)
  jax.tree.map(np.testing.assert_array_equal, loaded, expected)
  with pytest.raises(FileNotFoundError, match='--vgg16'):
    load_vgg16(tmp_path / 'missing.pth')
  partial = {k: v for k, v in torchvision_sd.items() if not k.startswith('classifier.3')}
  np.savez(tmp_path / 'partial.npz', **partial)
  with pytest.raises(KeyError, match=r'classifier\.3'):
    load_vgg16(tmp_path / 'partial.npz')
  wrong = dict(torchvision_sd, **{'features.0.weight': np.zeros((32, 3, 3, 3), np.float32)})
  np.savez(tmp_path / 'wrong.npz', **wrong)
  with pytest.raises(ValueError, match='conv1_1'):
    load_vgg16(tmp_path / 'wrong.npz')

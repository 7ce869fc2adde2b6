"""``stylegan2-jax generate`` reproduces the official generate.py PNGs for the reference snapshot."""

import json

import numpy as np
import PIL.Image
import pytest
from conftest import fixture_path

from stylegan2_jax import cli
from stylegan2_jax.sampling import class_labels, parse_seeds, seed_latents


def test_parse_seeds():
  assert parse_seeds('0-3,42') == [0, 1, 2, 3, 42]
  assert parse_seeds('7') == [7]
  for bad in ['a', '3-1', '1,,2']:
    with pytest.raises(ValueError):
      parse_seeds(bad)


def test_seed_latents_are_the_official_ones():
  z = seed_latents([5, 42], 64)
  np.testing.assert_array_equal(z[1], np.random.RandomState(42).randn(64).astype(np.float32))
  assert z.dtype == np.float32 and z.shape == (2, 64)


def test_class_labels():
  assert class_labels(2, 0, None).shape == (2, 0)
  np.testing.assert_array_equal(class_labels(1, 3, 2), [[0, 0, 1]])
  with pytest.raises(ValueError, match='--class'):
    class_labels(1, 3, None)
  with pytest.raises(ValueError, match='out of range'):
    class_labels(1, 3, 3)


def test_generate_matches_official_pngs(tmp_path):
  ref_dir = fixture_path('generate_res32')
  args = json.loads((ref_dir / 'args.json').read_text())
  pkl = fixture_path('network-snapshot-res32-nosrc.pkl')
  argv = ['generate', '--network', str(pkl), '--seeds', args['seeds'], '--trunc', str(args['trunc']),
          '--noise-mode', args['noise_mode'], '--outdir', str(tmp_path), '--batch-size', '3']
  assert cli.main(argv) == 0
  expected = sorted(ref_dir.glob('seed*.png'))
  assert [p.name for p in expected] == sorted(p.name for p in tmp_path.glob('seed*.png'))
  for ref in expected:
    ours = np.asarray(PIL.Image.open(tmp_path / ref.name)).astype(int)
    theirs = np.asarray(PIL.Image.open(ref)).astype(int)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= 1, ref.name
  assert json.loads((tmp_path / 'generate_args.json').read_text())['seeds'] == parse_seeds(args['seeds'])


def test_random_noise_depends_only_on_the_seed(tmp_path):
  pkl = fixture_path('network-snapshot-res32-nosrc.pkl')
  assert cli.main(['generate', '--network', str(pkl), '--seeds', '3,4', '--noise-mode', 'random',
                   '--outdir', str(tmp_path / 'a'), '--batch-size', '2']) == 0
  assert cli.main(['generate', '--network', str(pkl), '--seeds', '4', '--noise-mode', 'random',
                   '--outdir', str(tmp_path / 'b')]) == 0
  a = np.asarray(PIL.Image.open(tmp_path / 'a' / 'seed0004.png'))
  b = np.asarray(PIL.Image.open(tmp_path / 'b' / 'seed0004.png'))
  const = tmp_path / 'c'
  assert cli.main(['generate', '--network', str(pkl), '--seeds', '4', '--outdir', str(const)]) == 0
  np.testing.assert_array_equal(a, b)
  assert np.any(a != np.asarray(PIL.Image.open(const / 'seed0004.png')))


def test_says_how_many_images_it_wrote(tmp_path, capsys):
  pkl = str(fixture_path('network-snapshot-res32-nosrc.pkl'))
  assert cli.main(['generate', '--network', pkl, '--seeds', '4', '--outdir', str(tmp_path)]) == 0
  assert f'wrote 1 image to {tmp_path}\n' in capsys.readouterr().out
  assert cli.main(['generate', '--network', pkl, '--seeds', '4-5', '--outdir', str(tmp_path)]) == 0
  assert f'wrote 2 images to {tmp_path}\n' in capsys.readouterr().out


def test_cli_errors_are_clear(tmp_path, capsys):
  assert cli.main(['generate', '--network', str(tmp_path / 'nope.pkl'), '--seeds', '0',
                   '--outdir', str(tmp_path)]) == 2
  assert 'does not exist' in capsys.readouterr().err


def test_cli_refuses_a_malicious_pickle(tmp_path, capsys):
  marker = tmp_path / 'pwned'

  class Evil:
    def __reduce__(self):
      import os
      return (os.system, (f'touch {marker}',))

  import pickle
  bad = tmp_path / 'evil.pkl'
  bad.write_bytes(pickle.dumps({'G_ema': Evil()}))
  assert cli.main(['generate', '--network', str(bad), '--seeds', '0', '--outdir', str(tmp_path / 'out')]) == 2
  err = capsys.readouterr().err
  assert 'system' in err and 'nothing from the file was executed' in err
  assert not marker.exists()


def test_generate_sharded_over_8_devices_matches_official_pngs(tmp_path):
  """The batch is split over 8 (forced host) devices; the PNGs stay the official ones."""
  import os
  import subprocess
  import sys
  ref_dir = fixture_path('generate_res32')
  pkl = fixture_path('network-snapshot-res32-nosrc.pkl')
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=8', JAX_PLATFORMS='cpu')
  code = ('import jax, sys; from stylegan2_jax import cli; assert jax.device_count() == 8; '
          'sys.exit(cli.main(sys.argv[1:]))')
  subprocess.run([sys.executable, '-c', code, 'generate', '--network', str(pkl), '--seeds', '0-3,42',
                  '--trunc', '0.7', '--outdir', str(tmp_path), '--batch-size', '8'], env=env, check=True)
  for ref in sorted(ref_dir.glob('seed*.png')):
    ours = np.asarray(PIL.Image.open(tmp_path / ref.name)).astype(int)
    assert np.abs(ours - np.asarray(PIL.Image.open(ref)).astype(int)).max() <= 1, ref.name

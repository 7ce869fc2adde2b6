"""Projection and detection: the official projector's schedule and penalty, files written, and that a generated
image projects much closer than a real-looking (here random) one. LPIPS uses the fixture's real linear heads on a
randomly initialised VGG16 trunk (see the fixtures' README_metrics.md)."""

import json
import math

import numpy as np
import PIL.Image
import pytest
from conftest import fixture_path

from stylegan2_jax import cli
from stylegan2_jax.tools import projection_io, video
from stylegan2_jax.tools.projection import ProjectionSettings, lpips_input, noise_regularization
from stylegan2_jax.tools.projection_io import load_projected_w, load_target, save_projected_w

STEPS = 40


def network():
  return str(fixture_path('network-snapshot-res32-nosrc.pkl'))


def png(path):
  return np.asarray(PIL.Image.open(path))


@pytest.fixture(scope='module')
def targets(tmp_path_factory):
  """A generated image (seed 7, psi 0.7) and a random-noise image, as PNG files."""
  root = tmp_path_factory.mktemp('targets')
  assert cli.main(['generate', '--network', network(), '--seeds', '7', '--trunc', '0.7', '--outdir', str(root)]) == 0
  noise = np.random.RandomState(0).randint(0, 256, (32, 32, 3)).astype(np.uint8)
  PIL.Image.fromarray(noise).save(root / 'random.png')
  return root / 'seed0007.png', root / 'random.png'


def test_learning_rate_and_noise_schedules():
  s = ProjectionSettings()
  assert s.learning_rate(0) == 0
  assert s.learning_rate(25) == pytest.approx(0.1 * 0.5)          # halfway up the 50-step ramp
  assert s.learning_rate(500) == pytest.approx(0.1)
  assert s.learning_rate(875) == pytest.approx(0.1 * (0.5 - 0.5 * math.cos(0.5 * math.pi)))
  assert s.w_noise_factor(0) == pytest.approx(0.05)
  assert s.w_noise_factor(375) == pytest.approx(0.05 * 0.25)
  assert s.w_noise_factor(800) == 0


def test_noise_regularization_is_the_official_formula():
  rng = np.random.RandomState(1)
  maps = {'a': rng.randn(2, 32, 32).astype(np.float32), 'b': rng.randn(2, 4, 4).astype(np.float32)}
  expected = np.zeros(2)
  for i in range(2):
    for value in maps.values():
      x = value[i].astype(np.float64)
      while True:
        expected[i] += np.mean(x * np.roll(x, 1, axis=1)) ** 2 + np.mean(x * np.roll(x, 1, axis=0)) ** 2
        if x.shape[0] <= 8:
          break
        x = x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).mean(axis=(1, 3))
  np.testing.assert_allclose(np.asarray(noise_regularization(maps)), expected, rtol=1e-5)


def test_lpips_input_repeats_gray_and_downsamples():
  gray = np.linspace(-1, 1, 2 * 512 * 512).reshape(2, 1, 512, 512).astype(np.float32)
  out = np.asarray(lpips_input(gray))
  assert out.shape == (2, 3, 256, 256)
  np.testing.assert_allclose(out[0, 2, 0, 0], gray[0, 0, :2, :2].mean(), rtol=1e-6)
  with pytest.raises(ValueError, match='channels'):
    lpips_input(np.zeros((1, 2, 8, 8), np.float32))


def test_load_target_crops_and_resizes(tmp_path):
  image = np.zeros((40, 60, 3), np.uint8)
  image[:, :10] = 255                      # cropped away: the centre square is columns 10-49
  PIL.Image.fromarray(image).save(tmp_path / 'wide.png')
  target = load_target(tmp_path / 'wide.png', 32, 3)
  assert target.shape == (32, 32, 3) and target.max() == 0
  assert load_target(tmp_path / 'wide.png', 16, 1).shape == (16, 16, 1)
  (tmp_path / 'bad.png').write_text('not an image')
  with pytest.raises(ValueError, match='cannot read'):
    load_target(tmp_path / 'bad.png', 32, 3)


def test_projected_w_file_round_trip_and_checks(tmp_path):
  class G:
    num_ws, w_dim = 8, 4
  ws = np.arange(64, dtype=np.float32).reshape(2, 8, 4)
  save_projected_w(tmp_path / 'p.npz', ws, {'b4.conv1': np.ones((2, 4, 4))})
  back, noise = load_projected_w(tmp_path / 'p.npz', G)
  np.testing.assert_array_equal(back, ws)
  assert list(noise) == ['b4.conv1']
  G.w_dim = 5
  with pytest.raises(ValueError, match='needs'):
    load_projected_w(tmp_path / 'p.npz', G)


def test_projected_w_noise_mode_has_one_validator_used_before_loading(tmp_path, monkeypatch, capsys):
  checked = []
  real = projection_io.check_projected_w_noise_mode
  monkeypatch.setattr(projection_io, 'check_projected_w_noise_mode', lambda mode: checked.append(mode) or real(mode))
  # the command refuses before it loads anything: neither the network nor the ws file exists
  argv = ['generate', '--network', str(tmp_path / 'missing.pkl'), '--projected-w', str(tmp_path / 'missing.npz'),
          '--outdir', str(tmp_path / 'out')]
  assert cli.main(argv + ['--noise-mode', 'random']) == 2
  assert "--projected-w renders with noise mode 'const' or 'none', got 'random'" in capsys.readouterr().err
  assert checked == ['random'] and not (tmp_path / 'out').exists()
  with pytest.raises(ValueError, match="got 'random'"):
    projection_io.generate_from_projected_w(None, tmp_path / 'missing.npz', tmp_path / 'out', 'random')
  assert checked == ['random', 'random']
  assert [projection_io.check_projected_w_noise_mode(m) for m in ('const', 'none')] == ['const', 'none']


def test_project_command(tmp_path, targets):
  generated, random = targets
  argv = ['project', '--network', network(), '--target', str(generated), str(random), '--outdir', str(tmp_path),
          '--lpips', str(fixture_path('lpips_vgg.npz')), '--steps', str(STEPS), '--w-avg-samples', '1000']
  assert cli.main(argv) == 0
  result = {}
  for name in ('seed0007', 'random'):
    d = tmp_path / name
    record = json.loads((d / 'projection.json').read_text())
    assert len(record['dist_per_step']) == STEPS and record['settings']['num_steps'] == STEPS
    assert video.read_video(d / 'proj.mp4').shape == (STEPS, 32, 64, 3)   # target | projection, every step
    np.testing.assert_array_equal(png(d / 'target.png'), png(generated if name == 'seed0007' else random))
    assert np.load(d / 'projected_w.npz')['w'].shape == (1, 8, 64)
    result[name] = record['distance']
    # generate --projected-w renders the projection again, with its noise maps
    assert cli.main(['generate', '--network', network(), '--projected-w', str(d / 'projected_w.npz'),
                     '--outdir', str(d / 'again')]) == 0
    np.testing.assert_array_equal(png(d / 'again' / 'proj00.png'), png(d / 'proj.png'))
  # an image the network made projects much closer than one it cannot make
  assert result['seed0007'] < 0.5 * result['random'], result
  assert result['seed0007'] < json.loads((tmp_path / 'seed0007' / 'projection.json').read_text())['dist_per_step'][0]


def test_detect_command(tmp_path, targets, capsys):
  generated, random = targets
  out = tmp_path / 'detect.jsonl'
  argv = ['detect', '--network', network(), str(generated), str(random), '--lpips',
          str(fixture_path('lpips_vgg.npz')), '--steps', str(STEPS), '--w-avg-samples', '1000', '--calibrate', '2',
          '--out', str(out)]
  assert cli.main(argv) == 0
  report = capsys.readouterr().out
  assert 'threshold' in report
  records = {r['image']: r for r in map(json.loads, out.read_text().splitlines())}
  assert records[str(generated)]['generated'] and not records[str(random)]['generated']
  assert records['seed0']['calibration'] and records[str(random)]['ratio'] > 2
  assert cli.main(argv[:5] + ['--lpips', str(tmp_path / 'missing.pth')]) == 2
  assert 'missing.pth not found' in capsys.readouterr().err


@pytest.mark.slow
def test_projection_over_8_devices_matches_one(tmp_path, targets):
  """Two targets padded to 8 devices give the same projections as on one device."""
  from test_image_tools import run_on_8_devices
  generated, random = targets
  argv = ['project', '--network', network(), '--target', str(generated), str(random), '--lpips',
          str(fixture_path('lpips_vgg.npz')), '--steps', '5', '--w-avg-samples', '1000', '--no-video']
  assert cli.main(argv + ['--outdir', str(tmp_path / 'one')]) == 0
  run_on_8_devices(argv + ['--outdir', str(tmp_path / 'eight')])
  for name in ('seed0007', 'random'):
    one, eight = (np.load(tmp_path / d / name / 'projected_w.npz')['w'] for d in ('one', 'eight'))
    # Adam divides each gradient by its running RMS, so float32 rounding differences between the batch shapes
    # reach the ws at ~1e-4 of the lr-0.1 steps; a mixed-up or mis-padded target would be off by ~1e-1.
    np.testing.assert_allclose(one, eight, atol=2e-4)

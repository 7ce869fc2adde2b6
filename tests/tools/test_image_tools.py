"""Style mixing, interpolation and latent maps on the reference snapshot (32 px, random-looking weights)."""

import json

import numpy as np
import PIL.Image
import pytest
from conftest import fixture_path

from stylegan2_jax import cli
from stylegan2_jax.sampling import seed_latents
from stylegan2_jax.loading import load_generator
from stylegan2_jax.tools import video
from stylegan2_jax.tools.interpolation import interpolation_grid, interpolation_ws, slerp
from stylegan2_jax.tools.latent_maps import bilinear_ws, latent_map_ws, map_layers
from stylegan2_jax.sampling import image_grid
from stylegan2_jax.tools.render import Renderer, layer_groups, parse_layers
from stylegan2_jax.tools.style_mixing import style_mix


@pytest.fixture(scope='module')
def renderer():
  return Renderer(load_generator(fixture_path('network-snapshot-res32-nosrc.pkl')), batch_size=4, progress=False)


def png(path):
  return np.asarray(PIL.Image.open(path))


def test_parse_layers_and_groups():
  assert parse_layers('0-3,6', 8) == [0, 1, 2, 3, 6]
  for bad in ['x', '2-a', '0-8']:
    with pytest.raises(ValueError):
      parse_layers(bad, 8)
  assert layer_groups(18) == dict(coarse=[0, 1, 2, 3], middle=[4, 5, 6, 7], fine=list(range(8, 18)))
  assert layer_groups(8) == dict(coarse=[0, 1, 2, 3], middle=[], fine=[4, 5, 6, 7])


def test_image_grid_is_row_major():
  images = np.arange(5)[:, None, None, None] * np.ones((1, 2, 3, 1), np.uint8)
  grid = image_grid(images, 2, 3)
  assert grid.shape == (4, 9, 1)
  assert grid[0, 3, 0] == 1 and grid[2, 0, 0] == 3 and grid[2, 6, 0] == 0  # the empty cell is filled


def test_truncation_matches_the_mapping_network(renderer):
  net = renderer.net
  ws = renderer.ws_from_seeds([3, 9], truncation_psi=0.6)
  G = net.module
  expected = np.asarray(G.apply(net.variables, seed_latents([3, 9], G.z_dim), None, 0.6, method=G.map))
  np.testing.assert_allclose(ws, expected, rtol=1e-5, atol=1e-6)


def test_renderer_refuses_random_noise_and_bad_ws(renderer):
  with pytest.raises(ValueError, match='noise mode'):
    Renderer(renderer.net, noise_mode='random')
  with pytest.raises(ValueError, match='ws must have shape'):
    renderer.images(np.zeros((1, 3, 4), np.float32))


def test_style_mix_cells_are_the_mixed_ws(renderer):
  grid, images = style_mix(renderer, [1, 2], [3, 4, 5], [0, 1, 2, 3])
  assert grid.shape == (3 * 32, 4 * 32, 3)
  ws = dict(zip([1, 2, 3, 4, 5], renderer.ws_from_seeds([1, 2, 3, 4, 5])))
  mixed = ws[4].copy()
  mixed[:4] = ws[2][:4]                        # row seed 2 gives layers 0-3, column seed 4 the rest
  np.testing.assert_array_equal(images[(2, 4)], renderer.images(mixed[None])[0])
  np.testing.assert_array_equal(grid[64:96, 64:96], images[(2, 4)])
  np.testing.assert_array_equal(grid[:32, 32:64], images[(3, 3)])   # column sources on top
  np.testing.assert_array_equal(grid[32:64, :32], images[(1, 1)])   # row sources on the left
  assert not grid[:32, :32].any()
  assert not np.array_equal(images[(2, 4)], images[(4, 4)])
  # the official orientation (styles from the columns) is the same picture with the roles swapped
  _, official = style_mix(renderer, [4], [2], [0, 1, 2, 3], styles_from='cols')
  np.testing.assert_array_equal(official[(4, 2)], images[(2, 4)])


def test_style_mix_command(tmp_path, capsys):
  out = tmp_path / 'mix' / 'grid.png'
  argv = ['style-mix', '--network', str(fixture_path('network-snapshot-res32-nosrc.pkl')), '--rows', '1,2',
          '--cols', '3', '--styles', '4-7', '--trunc', '0.7', '--out', str(out), '--save-cells']
  assert cli.main(argv) == 0
  assert png(out).shape == (96, 64, 3)
  assert (out.parent / '2-3.png').exists() and (out.parent / '3-3.png').exists()
  args = json.loads(out.with_suffix('.json').read_text())
  assert args['rows'] == [1, 2] and args['styles'] == [4, 5, 6, 7] and args['trunc'] == 0.7
  assert cli.main(argv[:7] + ['--styles', '0-9', '--out', str(out)]) == 2
  assert 'outside 0-7' in capsys.readouterr().err


def test_slerp():
  a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
  path = slerp(a, b, np.array([0.0, 1 / 3, 0.5, 1.0]))
  np.testing.assert_allclose(path[[0, 3]], [a, b], atol=1e-12)
  np.testing.assert_allclose(path[1], [np.cos(np.pi / 6), np.sin(np.pi / 6)], atol=1e-12)  # on the circle
  np.testing.assert_allclose(path[2], [2 ** -0.5, 2 ** -0.5], atol=1e-12)
  np.testing.assert_allclose(slerp(a, 2 * a, np.array([0.5]))[0], [1.5, 0.0])  # parallel: a line


def test_interpolation_frames(renderer):
  ws_seeds = renderer.ws_from_seeds([1, 2, 3], 0.5)
  loop = interpolation_ws(renderer, [1, 2, 3], 4, 'w', 0.5)
  assert loop.shape == (12, 8, 64)
  np.testing.assert_allclose(loop[[0, 4, 8]], ws_seeds, atol=1e-6)
  np.testing.assert_allclose(loop[2], (ws_seeds[0] + ws_seeds[1]) / 2, atol=1e-6)
  np.testing.assert_allclose(loop[10], (ws_seeds[2] + ws_seeds[0]) / 2, atol=1e-6)  # back to the start
  open_walk = interpolation_ws(renderer, [1, 2, 3], 4, 'z', 0.5, loop=False)
  assert open_walk.shape == (9, 8, 64)
  np.testing.assert_allclose(open_walk[[0, 4, 8]], ws_seeds, atol=1e-5)
  grid = interpolation_grid(renderer, [1, 2, 3], 5)
  assert grid.shape == (2 * 32, 5 * 32, 3)
  np.testing.assert_array_equal(grid[:32, 4 * 32:], grid[32:, :32])  # row 1 ends where row 2 starts
  with pytest.raises(ValueError, match='two seeds'):
    interpolation_ws(renderer, [1], 4)


def test_interpolate_command_writes_the_video(tmp_path):
  out = tmp_path / 'walk.mp4'
  argv = ['interpolate', '--network', str(fixture_path('network-snapshot-res32-nosrc.pkl')), '--seeds', '1-3',
          '--frames', '5', '--out', str(out), '--grid', str(tmp_path / 'grid.png'), '--grid-steps', '4']
  assert cli.main(argv) == 0
  frames = video.read_video(out)
  assert frames.shape == (15, 32, 32, 3)
  error = [np.abs(frames[0].astype(int) - png_of_seed(tmp_path, seed)).mean() for seed in (1, 2)]
  assert error[0] < error[1] / 3  # the walk starts on seed 1 (H.264 with 4:2:0 chroma is lossy on 32 px noise)
  assert png(tmp_path / 'grid.png').shape == (64, 128, 3)
  assert json.loads((tmp_path / 'walk.json').read_text())['num_frames'] == 15


def png_of_seed(tmp_path, seed):
  assert cli.main(['generate', '--network', str(fixture_path('network-snapshot-res32-nosrc.pkl')),
                   '--seeds', str(seed), '--outdir', str(tmp_path / 'seeds')]) == 0
  return png(tmp_path / 'seeds' / f'seed{seed:04d}.png').astype(int)


def test_video_falls_back_to_gif_without_ffmpeg(tmp_path, monkeypatch):
  monkeypatch.setattr(video, 'ffmpeg_available', lambda: False)
  frames = [np.full((6, 6, 3), 40 * i, np.uint8) for i in range(4)]
  path = video.write_video(frames, tmp_path / 'v.mp4', fps=10)
  assert path.suffix == '.gif'
  back = video.read_video(path)
  assert back.shape[0] == 4 and back[3, 0, 0, 0] == 120
  with pytest.raises(ValueError, match='.mp4 or .gif'):
    video.write_video(frames, tmp_path / 'v.avi')


def test_latent_map(renderer):
  corners = renderer.ws_from_seeds([1, 2, 3, 4])
  everything = latent_map_ws(renderer, [1, 2, 3, 4], 3, list(range(8)))
  np.testing.assert_allclose(everything[[0, 2, 6, 8]], corners, atol=1e-6)
  np.testing.assert_allclose(everything[4], corners.mean(0), atol=1e-5)
  content = latent_map_ws(renderer, [1, 2, 3, 4], 3, map_layers(8, 'content'), base_seed=7)
  base = renderer.ws_from_seeds([7])[0]
  np.testing.assert_allclose(content[:, 4:], np.broadcast_to(base[4:], (9, 4, 64)), atol=1e-6)
  np.testing.assert_allclose(content[2, :4], corners[1, :4], atol=1e-6)
  assert map_layers(18, 'style') == list(range(8, 18)) and map_layers(8, 'all', '1-2') == [1, 2]
  np.testing.assert_allclose(bilinear_ws(np.eye(4), 2), np.eye(4))


def test_latent_map_command(tmp_path, capsys):
  out = tmp_path / 'style.png'
  argv = ['latent-map', '--network', str(fixture_path('network-snapshot-res32-nosrc.pkl')), '--corners', '1,2,3,4',
          '--size', '3', '--mode', 'style', '--out', str(out)]
  assert cli.main(argv) == 0
  assert png(out).shape == (96, 96, 3)
  assert json.loads(out.with_suffix('.json').read_text())['layers'] == [4, 5, 6, 7]
  assert cli.main(argv[:5] + ['--corners', '1,2,3', '--out', str(out)]) == 2
  assert '4 corner seeds' in capsys.readouterr().err


def run_on_8_devices(argv):
  """Runs the CLI in a subprocess with 8 forced host devices."""
  import os
  import subprocess
  import sys
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=8', JAX_PLATFORMS='cpu')
  code = ('import jax, sys; from stylegan2_jax import cli; assert jax.device_count() == 8; '
          'sys.exit(cli.main(sys.argv[1:]))')
  subprocess.run([sys.executable, '-c', code] + argv, env=env, check=True)


def test_style_mix_over_8_devices_is_the_same_grid(tmp_path):
  argv = ['style-mix', '--network', str(fixture_path('network-snapshot-res32-nosrc.pkl')), '--rows', '1,2,3',
          '--cols', '4,5', '--styles', '0-3', '--batch-size', '3']
  assert cli.main(argv + ['--out', str(tmp_path / 'one.png')]) == 0
  run_on_8_devices(argv + ['--out', str(tmp_path / 'eight.png')])
  one, eight = png(tmp_path / 'one.png').astype(int), png(tmp_path / 'eight.png').astype(int)
  assert np.abs(one - eight).max() <= 1  # uint8 rounding of float32 results computed in other batch shapes

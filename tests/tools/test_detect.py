"""``detect`` checks each image independently: its projection, score and verdict, and the calibrated threshold, do not
depend on the other files on the command line. Tiny random generator and LPIPS weights (meaningless distances,
but exact comparisons)."""

import jax
import numpy as np
import PIL.Image
import pytest

from interop.interop_helpers import TINY_G, random_network
from stylegan2_jax.metrics.lpips import LPIPS
from stylegan2_jax.tools.detect import detect, format_report
from stylegan2_jax.tools.projection import ProjectionSettings
from stylegan2_jax.tools.projection_io import project_to_dir
from stylegan2_jax.tools.render import Renderer

SETTINGS = ProjectionSettings(num_steps=4, w_avg_samples=64)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
  """(renderer, lpips variables, three image files) for a tiny random network."""
  root = tmp_path_factory.mktemp('detect')
  renderer = Renderer(random_network(TINY_G, seed=3), progress=False)
  x = np.zeros((1, 3, 16, 16), np.float32)
  lpips = jax.device_get(LPIPS().init(jax.random.key(0), x, x))
  rng = np.random.RandomState(0)
  files = []
  for name in ('a', 'b', 'c'):
    files.append(root / f'{name}.png')
    PIL.Image.fromarray(rng.randint(0, 256, (16, 16, 3)).astype(np.uint8)).save(files[-1])
  return renderer, lpips, files


def by_image(records):
  return {r['image']: r for r in records}


def test_a_files_verdict_does_not_depend_on_the_other_files(setup, tmp_path):
  renderer, lpips, (a, b, c) = setup
  run = lambda files: by_image(detect(renderer, files, lpips, SETTINGS, calibrate=2, progress=False))
  alone, among = run([a]), run([b, c, a])
  assert alone[str(a)] == among[str(a)]  # distance, threshold, ratio and verdict, exactly
  assert alone['seed1'] == among['seed1']
  assert among[str(b)]['distance'] != among[str(a)]['distance']  # the records are each image's own
  # and the distance is the one `project` finds for that file alone
  projected = project_to_dir(renderer, [a], tmp_path, lpips, SETTINGS, video=False, progress=False)
  assert projected[0]['distance'] == alone[str(a)]['distance']


def test_report_shows_full_paths_and_small_distances(tmp_path):
  long_name = str(tmp_path / ('deep/' * 12) / 'photo_of_a_cat.png')
  records = [dict(image=long_name, distance=0.00041234, threshold=0.0006, calibration=False, ratio=0.69,
                  generated=True),
             dict(image='seed0', distance=0.0004, threshold=0.0006, calibration=True, ratio=1.0, generated=True)]
  report = format_report(records)
  assert long_name in report and '0.0004123' in report and 'LPIPS < 0.0006' in report

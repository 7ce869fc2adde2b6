"""The demo page in a real headless Chromium: the images it computes equal the JAX generator's.

A tiny random conditional network (and, where the reference fixtures are present,
an official snapshot) is exported with ``write_site`` and served on localhost.
Every control is driven as a user would (sliders, drags, clicks) and the page's
image is compared with G.apply for the same latents.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import fixture_path
from interop.interop_helpers import TINY_G, random_network
from stylegan2_jax.loading import load_generator
from stylegan2_jax.interop.torch_export import write_torch_export
from stylegan2_jax.tools.projection_io import load_projected_w
from stylegan2_jax.web.headless import chromium, served, wait_first_image
from web_helpers import canvas_pixels, expected_pixels, jax_image, jax_ws, page_image, page_ws, require_browser, settle

ATOL = 1e-4  # float32 in onnxruntime-web's WebAssembly against XLA on the CPU


@pytest.fixture(scope='module')
def browser():
  require_browser()
  with chromium() as b:
    yield b


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
  """(network, site URL): a random conditional 16x16 generator with 4 classes, served."""
  require_browser()
  from stylegan2_jax.web.static_site import write_site  # pylint: disable=import-outside-toplevel
  root = tmp_path_factory.mktemp('web')
  net = random_network({**TINY_G, 'c_dim': 4}, seed=5)
  write_torch_export({'G_ema': net}, root / 'net', pt=False)
  write_site(root / 'net', root / 'site')
  with served(root / 'site') as url:
    yield net, url


@pytest.fixture
def context(browser):
  ctx = browser.new_context(accept_downloads=True)
  yield ctx
  ctx.close()


def open_page(context, url, query=''):
  page = context.new_page()
  errors = []
  page.on('pageerror', lambda error: errors.append(error))
  page.goto(url + query)
  wait_first_image(page)
  assert not errors, errors
  return page


def assert_matches(page, net, ws):
  expected = jax_image(net, ws)
  np.testing.assert_allclose(page_ws(page), ws, atol=1e-5, rtol=0)
  np.testing.assert_allclose(page_image(page), expected, atol=ATOL, rtol=0)
  pixels = canvas_pixels(page)
  difference = np.abs(pixels[..., :3].astype(int) - expected_pixels(expected).astype(int))
  assert difference.max() <= 1 and (difference == 0).mean() > 0.99 and (pixels[..., 3] == 255).all()


def test_seed_latents_equal_numpy(context, tiny):
  page = open_page(context, tiny[1])
  for seed in [0, 1, 42, 123456789, 2 ** 32 - 1]:
    latent = np.asarray(page.evaluate(f'window.stylegan.seedLatent({seed}, 512)'), np.float32)
    np.testing.assert_allclose(latent, np.random.RandomState(seed).randn(512).astype(np.float32), rtol=1e-6, atol=0)


def test_seed_image_equals_jax(context, tiny):
  net, url = tiny
  page = open_page(context, url, '?seed=7&psi=0.6&class=2')
  assert_matches(page, net, jax_ws(net, 7, 0.6, 2))
  page.fill('#seed', '8')
  page.select_option('#class', '3')
  settle(page)
  assert_matches(page, net, jax_ws(net, 8, 0.6, 3))


def test_truncation_slider_changes_the_image(context, tiny):
  net, url = tiny
  page = open_page(context, url, '?seed=3')
  before = page_image(page)
  page.fill('#psi', '0.3')
  settle(page)
  assert page.text_content('#psi-value') == '0.30'
  assert np.abs(page_image(page) - before).max() > 0.05
  assert_matches(page, net, jax_ws(net, 3, 0.3))


def _drag(page, selector, start, end):
  box = page.locator(selector).bounding_box()
  at = lambda f: (box['x'] + f[0] * box['width'], box['y'] + f[1] * box['height'])  # noqa: E731
  page.mouse.move(*at(start))
  page.mouse.down()
  for k in range(1, 5):
    page.mouse.move(*at(tuple(a + k / 4 * (b - a) for a, b in zip(start, end))))
  page.mouse.up()


def test_content_and_style_maps_blend_four_seeds(context, tiny):
  net, url = tiny
  page = open_page(context, url, '?mode=maps&psi=0.8')
  before = page_image(page)
  _drag(page, '#content-pad', (0.5, 0.5), (0.2, 0.9))
  _drag(page, '#style-pad', (0.5, 0.5), (0.95, 0.1))
  page.fill('#split', '2')
  settle(page)
  state = page.evaluate('window.stylegan.last.state')
  assert state['mode'] == 'maps' and state['split'] == 2
  assert state['content'][0] < 0.3 and state['content'][1] > 0.8 and state['style'][0] > 0.9
  assert np.abs(page_image(page) - before).max() > 0.05

  def blend(seeds, point):
    x, y = point
    weights = [(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y]
    return sum(w * jax_ws(net, s, 0.8) for w, s in zip(weights, seeds))
  ws = blend([5, 6, 7, 8], state['style'])
  ws[:2] = blend([1, 2, 3, 4], state['content'])[:2]
  assert_matches(page, net, ws.astype(np.float32))


def test_style_mixing_takes_a_layer_range_from_seed_b(context, tiny):
  net, url = tiny
  page = open_page(context, url, '?mode=mix')
  page.fill('#mix-a', '3')
  page.fill('#mix-b', '9')
  page.fill('#mix-lo', '1')
  page.fill('#mix-hi', '4')
  settle(page)
  ws = jax_ws(net, 3, 1.0).copy()
  ws[1:4] = jax_ws(net, 9, 1.0)[1:4]
  assert_matches(page, net, ws)


def test_interpolation_plays_and_pauses(context, tiny):
  net, url = tiny
  page = open_page(context, url, '?mode=interp')
  page.fill('#interp-seeds', '2,5,8')
  page.fill('#interp-frames', '100')  # 200 frames for the loop: it cannot wrap around before the pause
  settle(page)
  renders = page.evaluate('window.stylegan.stats.renders')
  page.click('#play')
  page.wait_for_function(f'window.stylegan.stats.renders >= {renders + 5}')
  page.click('#play')
  settle(page)
  assert page.text_content('#play') == 'Play' and 'images/s' in page.text_content('#status')
  position = page.evaluate('window.stylegan.last.state.position')
  assert 0 < position < 0.5 and position == pytest.approx(float(page.input_value('#interp-position')))
  i = min(int(position * 2), 1)
  t = position * 2 - i
  a, b = jax_ws(net, [2, 5, 8][i], 1.0), jax_ws(net, [2, 5, 8][i + 1], 1.0)
  assert_matches(page, net, (a + np.float32(t) * (b - a)).astype(np.float32))


def test_downloads_the_image_and_its_latent(context, tiny, tmp_path):
  net, url = tiny
  page = open_page(context, url, '?seed=11&psi=0.5')
  with page.expect_download() as download:
    page.click('#download-image')
  assert download.value.suggested_filename == 'seed0011.png'
  png = np.asarray(Image.open(io.BytesIO(open(download.value.path(), 'rb').read())).convert('RGB'))
  np.testing.assert_array_equal(png, canvas_pixels(page)[..., :3])
  with page.expect_download() as download:
    page.click('#download-latent')
  path = tmp_path / download.value.suggested_filename
  download.value.save_as(path)
  ws, noise = load_projected_w(path, net.module)
  assert path.name == 'seed0011.npy' and ws.shape == (1, net.module.num_ws, net.module.w_dim) and noise == {}
  np.testing.assert_array_equal(ws[0], page_ws(page))


def test_bad_input_shows_a_message(context, tiny):
  page = open_page(context, tiny[1], '?mode=maps')
  page.fill('#content-seeds', '1,2,3')
  settle(page)
  assert 'four corner seeds' in page.text_content('#status')
  assert 'error' in page.get_attribute('#status', 'class')
  page.check('input[name=mode][value="seed"]')
  page.fill('#seed', '')
  settle(page)
  assert 'seeds are whole numbers' in page.text_content('#status')
  page.fill('#seed', '12')
  settle(page)
  assert 'error' not in page.get_attribute('#status', 'class')
  assert page.evaluate('window.stylegan.last.state.seed') == 12


def test_works_offline_once_loaded(context, tiny):
  net, url = tiny
  page = open_page(context, url, '?seed=4')
  page.wait_for_function('window.stylegan.stats.offlineReady === true')
  context.set_offline(True)
  page.reload()
  wait_first_image(page)
  assert_matches(page, net, jax_ws(net, 4, 1.0))


def test_official_network_in_the_browser(context, tmp_path):
  """An official stylegan2-ada-pytorch snapshot, exported and run in the page, equals G.apply."""
  require_browser()
  from stylegan2_jax.web.static_site import write_site  # pylint: disable=import-outside-toplevel
  snapshot = fixture_path('network-snapshot-res32-nosrc.pkl')
  net = load_generator(snapshot)
  write_site(snapshot, tmp_path / 'site')
  with served(tmp_path / 'site') as url:
    page = open_page(context, url, '?seed=1&psi=0.7')
    assert_matches(page, net, jax_ws(net, 1, 0.7))

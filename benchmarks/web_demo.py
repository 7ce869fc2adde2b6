"""The browser demo's speed in headless Chromium: time to first image and images/s, one JSON line per network.

    python -m benchmarks.web_demo                          # tiny (16x16) and res256 random networks
    python -m benchmarks.web_demo --networks res256 --frames 10
    python -m benchmarks.web_demo --network runs/demo --screenshot docs/web_demo.png   # a trained network

For each network: ``write_site`` exports it (the time is reported), the site is
served on localhost, and a fresh browser context (empty cache) opens the page.
``first_image_s`` is the page's own measure from navigation start to the first
image on the canvas (fetching the page, the WebAssembly runtime and the ONNX
files, creating the sessions, mapping and synthesis). ``img_per_s`` renders
``--frames`` interpolation frames back to back (ws blend in JavaScript, synthesis
in onnxruntime-web, canvas), after one warm-up frame. Needs Chromium and the
built page (see the README's browser demo section) and Playwright.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import tempfile
import time

import jax

from stylegan2_jax.networks.handle import LoadedNetwork
from stylegan2_jax.interop.torch_export import write_torch_export
from stylegan2_jax.networks.config import generator_from_kwargs, init_generator
from stylegan2_jax.web.headless import chromium, served, wait_first_image
from stylegan2_jax.web.static_site import write_site

NETWORKS = {
    'tiny': dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
                 synthesis_kwargs=dict(channel_base=256, channel_max=32)),
    # The official paper256 generator (stylegan2-ada-pytorch --cfg=paper256).
    'res256': dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
                   mapping_kwargs=dict(num_layers=8), synthesis_kwargs=dict(channel_base=16384, channel_max=512)),
}


def random_network_dir(name: str, root: pathlib.Path) -> pathlib.Path:
  """A freshly initialised generator of setting ``name``, written as a network directory."""
  kwargs = NETWORKS[name]
  module = generator_from_kwargs(kwargs)
  net = LoadedNetwork(module=module, variables=jax.device_get(init_generator(module, jax.random.key(0))),
                      init_kwargs=kwargs, class_name='Generator')
  write_torch_export({'G_ema': net}, root / name, pt=False)
  return root / name


def measure(browser, network, site: pathlib.Path, frames: int, screenshot: str | None = None) -> dict:
  """Exports ``network`` to ``site``, opens it in a fresh context and times the first image and playback."""
  start = time.perf_counter()
  write_site(network, site)
  export_s = time.perf_counter() - start
  size_mb = sum(p.stat().st_size for p in (site / 'network').iterdir()) / 2 ** 20
  with served(site) as url:
    context = browser.new_context(viewport={'width': 1180, 'height': 760})
    page = context.new_page()
    page.goto(url + '?seed=0&psi=0.7')
    wait_first_image(page, timeout_ms=600_000)
    first_ms = page.evaluate('window.stylegan.stats.firstImageMs')
    page.evaluate('window.stylegan.benchmark(1)')
    result = page.evaluate(f'window.stylegan.benchmark({frames})')
    isolated = page.evaluate('crossOriginIsolated')
    cores = page.evaluate('navigator.hardwareConcurrency')
    if screenshot:
      page.check('input[name=mode][value="maps"]')
      box = page.locator('#content-pad').bounding_box()
      page.mouse.click(box['x'] + 0.3 * box['width'], box['y'] + 0.7 * box['height'])
      page.evaluate('window.stylegan.idle()')
      page.screenshot(path=screenshot)
    context.close()
  return dict(network_mb=round(size_mb, 1), export_s=round(export_s, 2), first_image_s=round(first_ms / 1000, 2),
              img_per_s=round(result['imgPerSec'], 2), frames=frames, cross_origin_isolated=isolated,
              browser_cores=cores)


def main() -> None:
  """Command line: see the module docstring."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--networks', default='tiny,res256', help=f'random networks: {",".join(NETWORKS)}')
  parser.add_argument('--network', default=None, help='a real network instead (workdir, pickle, export directory)')
  parser.add_argument('--frames', type=int, default=30, help='interpolation frames timed per network')
  parser.add_argument('--screenshot', default=None, help='save a screenshot of the page (content map) here')
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
    root = pathlib.Path(tmp)
    named = ([(str(args.network), args.network)] if args.network else
             [(name, random_network_dir(name, root)) for name in args.networks.split(',')])
    for name, network in named:
      row = measure(browser, network, root / f'site-{name}', args.frames, args.screenshot)
      print(json.dumps(dict(benchmark='web_demo', network=name, browser='headless chromium (wasm)',
                            machine=platform.machine(), **row)), flush=True)


if __name__ == '__main__':
  main()

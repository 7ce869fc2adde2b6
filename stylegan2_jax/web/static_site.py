"""``stylegan2-jax web --network N --out site/``: the demo page plus the network as ONNX, as a static site.

The page (``web/`` in the repository, built by ``npm ci && npm run build`` into
``stylegan2_jax/web/page/``) loads ``network/onnx.json``, ``network/mapping.onnx``
and ``network/synthesis.onnx`` and computes everything in the browser. The
site needs no server code: any static file server will do (``--serve`` starts one).
"""

from __future__ import annotations

import os
import pathlib
import shutil

PAGE_DIR = pathlib.Path(__file__).parent / 'page'
WEB_SOURCE = pathlib.Path(__file__).parents[2] / 'web'
NETWORK_DIR = 'network'
MARKER = '.stylegan2-jax-site'


def built_page() -> pathlib.Path:
  """The directory of the built page; a clear error saying how to build it if it is missing."""
  if not (PAGE_DIR / 'index.html').is_file():
    how = (f'cd {WEB_SOURCE} && npm ci && npm run build' if (WEB_SOURCE / 'package.json').is_file()
           else 'build it from the repository: cd web && npm ci && npm run build')
    raise FileNotFoundError(f'the demo page is not built ({PAGE_DIR} has no index.html); {how} (needs Node.js 20+)')
  return PAGE_DIR


def _check_out_dir(out: pathlib.Path) -> None:
  if out.exists() and not out.is_dir():
    raise ValueError(f'--out {out} is a file; give a directory for the site')
  if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
    raise ValueError(f'--out {out} is a non-empty directory that is not a site written by this command; '
                     'give an empty or new directory')


def write_site(network: str | os.PathLike, out: str | os.PathLike, checkpoint: str = 'latest',
               noise_mode: str = 'const', truncation_cutoff: int | None = None) -> pathlib.Path:
  """Writes the page and ``network``'s generator (mapping + synthesis ONNX) to ``out``; returns ``out``."""
  from stylegan2_jax.export import write_onnx  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.loading import load_networks  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.interop.torch_export import require_extra  # pylint: disable=import-outside-toplevel
  page = built_page()
  out = pathlib.Path(out)
  _check_out_dir(out)
  require_extra('onnx', 'web', 'the browser demo (it runs the ONNX export)')
  nets = load_networks(network, keys=('G_ema', 'G'), checkpoint=checkpoint)
  G = nets.get('G_ema') or nets['G']
  staging = out.with_name(out.name + '.partial')
  shutil.rmtree(staging, ignore_errors=True)
  shutil.copytree(page, staging)
  write_onnx(G, staging / NETWORK_DIR, noise_mode, truncation_cutoff, models=('mapping', 'synthesis'))
  (staging / MARKER).write_text(f'network: {network}\n')
  if out.exists():
    shutil.rmtree(out)
  staging.rename(out)
  return out

"""``stylegan2-jax web`` without a browser: the site it writes, the server's headers, its errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from conftest import REPO
from interop.interop_helpers import TINY_G, random_network
from process_helpers import started_process
from stylegan2_jax import cli
from stylegan2_jax.interop.torch_export import write_torch_export
from stylegan2_jax.tools.projection_io import load_projected_w
from stylegan2_jax.web import static_site
from stylegan2_jax.web.headless import served
from stylegan2_jax.web.server import make_server

pytest.importorskip('onnx', reason="the onnx extra is not installed (.venv/bin/pip install -e '.[web]')")


@pytest.fixture
def fake_page(tmp_path, monkeypatch):
  """A stand-in for the built page, so these tests need no Node.js."""
  page = tmp_path / 'page'
  (page / 'assets').mkdir(parents=True)
  (page / 'index.html').write_text('<!doctype html><title>demo</title>')
  (page / 'assets' / 'ort.wasm').write_bytes(b'\0asm')
  monkeypatch.setattr(static_site, 'PAGE_DIR', page)
  return page


@pytest.fixture(scope='module')
def network(tmp_path_factory):
  path = tmp_path_factory.mktemp('net')
  write_torch_export({'G_ema': random_network({**TINY_G, 'c_dim': 3}, seed=1)}, path, pt=False)
  return path


def test_writes_page_and_network(fake_page, network, tmp_path):
  out = tmp_path / 'site'
  assert cli.main(['web', '--network', str(network), '--out', str(out)]) == 0
  assert (out / 'index.html').read_text() == (fake_page / 'index.html').read_text()
  assert (out / 'assets' / 'ort.wasm').is_file()
  assert sorted(p.name for p in (out / 'network').iterdir()) == ['mapping.onnx', 'onnx.json', 'synthesis.onnx']
  info = json.loads((out / 'network' / 'onnx.json').read_text())
  assert (info['c_dim'], info['num_ws'], info['img_resolution']) == (3, 6, 16)
  assert info['inputs'] == {'mapping': ['z', 'c', 'psi'], 'synthesis': ['ws']}
  assert not list(tmp_path.glob('*.partial'))
  # Writing again replaces the site it wrote before.
  (out / 'network' / 'stale.onnx').write_bytes(b'')
  assert cli.main(['web', '--network', str(network), '--out', str(out)]) == 0
  assert not (out / 'network' / 'stale.onnx').exists()


def test_refuses_a_directory_it_did_not_write(fake_page, network, tmp_path, capsys):
  out = tmp_path / 'mine'
  out.mkdir()
  (out / 'notes.txt').write_text('keep me')
  assert cli.main(['web', '--network', str(network), '--out', str(out)]) == 2
  assert 'not a site written by this command' in capsys.readouterr().err
  assert (out / 'notes.txt').read_text() == 'keep me'


def test_unbuilt_page_says_how_to_build_it(tmp_path, monkeypatch, network, capsys):
  monkeypatch.setattr(static_site, 'PAGE_DIR', tmp_path / 'missing')
  assert cli.main(['web', '--network', str(network), '--out', str(tmp_path / 'site')]) == 2
  assert 'npm ci && npm run build' in capsys.readouterr().err
  assert not (tmp_path / 'site').exists()


def test_needs_network_or_serve(capsys):
  assert cli.main(['web']) == 2
  assert 'give --network N to write a site, --serve to serve one' in capsys.readouterr().err


def test_serve_refuses_a_directory_without_a_site(tmp_path):
  with pytest.raises(FileNotFoundError, match='is not a site'):
    make_server(tmp_path)


def test_server_sends_types_and_isolation_headers(fake_page, network, tmp_path):
  static_site.write_site(network, tmp_path / 'site')
  with served(tmp_path / 'site') as url:
    with urllib.request.urlopen(url + 'assets/ort.wasm') as response:
      assert response.headers['Content-Type'] == 'application/wasm'
      assert response.headers['Cross-Origin-Opener-Policy'] == 'same-origin'
      assert response.headers['Cross-Origin-Embedder-Policy'] == 'require-corp'
    with urllib.request.urlopen(url + 'network/onnx.json') as response:
      assert json.loads(response.read())['w_dim'] == 16


def test_projected_w_reads_a_downloaded_npy(tmp_path):
  G = random_network(TINY_G).module
  ws = np.random.RandomState(0).randn(1, G.num_ws, G.w_dim).astype(np.float32)
  np.save(tmp_path / 'latent.npy', ws)
  loaded, noise = load_projected_w(tmp_path / 'latent.npy', G)
  np.testing.assert_array_equal(loaded, ws)
  assert noise == {}
  np.save(tmp_path / 'wrong.npy', ws[:, :2])
  with pytest.raises(ValueError, match='this network needs'):
    load_projected_w(tmp_path / 'wrong.npy', G)


@pytest.fixture
def sigint_ignored():
  """SIGINT ignored in this process, as in a job a shell starts in the background (children inherit it)."""
  previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
  try:
    yield
  finally:
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize('background', [False, True])
def test_serve_command_serves_until_stopped(fake_page, network, tmp_path, request, background):
  """``stylegan2-jax web --serve --port 0`` prints its address, serves the site, and stops on Ctrl-C, also
  when the tests run where SIGINT is ignored; the server is ended whatever happens."""
  if background:
    request.getfixturevalue('sigint_ignored')
  static_site.write_site(network, tmp_path / 'site')
  command = [sys.executable, '-m', 'stylegan2_jax.cli', 'web', '--serve', '--out', str(tmp_path / 'site'),
             '--port', '0']
  with started_process(command, stdout=subprocess.PIPE, text=True, cwd=REPO,
                       env={**os.environ, 'PYTHONPATH': str(REPO)}) as process:
    line = process.stdout.readline()
    url = re.search(r'http://127\.0\.0\.1:\d+/', line).group(0)
    with urllib.request.urlopen(url) as response:
      assert b'<title>demo</title>' in response.read()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


def test_started_processes_are_ended_even_when_they_ignore_signals(sigint_ignored):
  code = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print("ready", flush=True); time.sleep(600)'
  with started_process([sys.executable, '-c', code], grace_s=1, stdout=subprocess.PIPE, text=True) as process:
    assert process.stdout.readline() == 'ready\n'
  assert process.returncode == -signal.SIGKILL

"""The demo site's server: only regular files inside the site, no listings, bad paths answered with 400."""

from __future__ import annotations

import http.client
import os

import pytest

from stylegan2_jax.web.headless import served


@pytest.fixture
def site(tmp_path):
  """A site with a page, an asset, and links and special files that must not be served."""
  root = tmp_path / 'site'
  (root / 'assets').mkdir(parents=True)
  (root / 'index.html').write_text('<title>demo</title>')
  (root / 'assets' / 'app.js').write_text('let x = 1;')
  (root / 'assets' / 'inside.js').symlink_to(root / 'assets' / 'app.js')
  (root / 'empty').mkdir()
  outside = tmp_path / 'private'
  outside.mkdir()
  (outside / 'secret.txt').write_text('secret')
  (outside / 'index.html').write_text('secret page')
  (root / 'leak.txt').symlink_to(outside / 'secret.txt')
  (root / 'leakdir').symlink_to(outside)
  os.mkfifo(root / 'pipe.js')
  return root


def get(url: str, path: str) -> tuple[int, bytes]:
  """Sends ``GET path`` exactly as given (no client-side normalization) -> (status, body)."""
  host, port = url.split('//')[1].rstrip('/').split(':')
  connection = http.client.HTTPConnection(host, int(port), timeout=20)
  try:
    connection.putrequest('GET', path, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    return response.status, response.read()
  finally:
    connection.close()


def test_serves_regular_files_inside_the_site(site):
  with served(site) as url:
    assert get(url, '/') == (200, b'<title>demo</title>')
    assert get(url, '/index.html?v=1') == (200, b'<title>demo</title>')
    assert get(url, '/assets/app.js') == (200, b'let x = 1;')
    assert get(url, '/assets/inside.js') == (200, b'let x = 1;')  # a link that stays inside the site
    assert get(url, '/assets/%61pp.js') == (200, b'let x = 1;')


@pytest.mark.parametrize('path', ['/leak.txt', '/leakdir/secret.txt', '/leakdir/', '/assets/', '/empty/',
                                  '/pipe.js', '/../private/secret.txt', '/%2e%2e/private/secret.txt',
                                  '/assets/..%2f..%2fprivate%2fsecret.txt', '/missing.js', '/assets/app.js/'])
def test_refuses_links_out_directories_and_special_files(site, path):
  with served(site) as url:
    status, body = get(url, path)
  assert status == 404, (path, status)
  assert b'secret' not in body and b'app.js' not in body


@pytest.mark.parametrize('path', ['/index.html%00.js', '/%00', '/%ff.js', '/a%c3', 'index.html'])
def test_bad_paths_are_bad_requests_not_tracebacks(site, path, capfd):
  with served(site) as url:
    assert get(url, path)[0] == 400
    assert get(url, '/')[0] == 200  # still serving
  assert 'Traceback' not in capfd.readouterr().err

"""A dataset name is a plain folder name: anything that could reach outside the data directory is refused."""

from __future__ import annotations

import pytest
from PIL import Image

from stylegan2_jax.cli import main as cli_main
from stylegan2_jax.data.image_collection import ImageCollectionConfig, Stylegan2Images, image_collection_builder

NOT_PLAIN = ['..', '.', '../escaped', 'a/b', '/abs', '', '.hidden', '-dash', 'a\\b', 'a\x00b', 'a b', 'A']


def _files_under(path) -> list[str]:
  return sorted(p.relative_to(path).as_posix() for p in path.rglob('*'))


@pytest.mark.parametrize('name', NOT_PLAIN)
def test_the_dataset_tool_refuses_a_name_that_is_not_plain_in_one_line(name, tmp_path, capsys):
  source = tmp_path / 'raw'
  source.mkdir()
  Image.new('RGB', (8, 8)).save(source / 'a.png')
  before = _files_under(tmp_path)
  code = cli_main(['dataset', 'images', '--source', str(source), '--resolution', '4', f'--name={name}',
                   '--data-dir', str(tmp_path / 'data' / 'inside')])
  err = capsys.readouterr().err
  assert code == 2
  assert err.count('\n') == 1 and f'--name {name!r} is not a plain name' in err
  assert _files_under(tmp_path) == before  # nothing written anywhere


@pytest.mark.parametrize('name', ['..', 'a/b', ''])
def test_every_way_to_make_the_builder_checks_the_name(name, tmp_path):
  with pytest.raises(ValueError, match='is not a plain name'):
    image_collection_builder(str(tmp_path), 4, str(tmp_path), name)
  with pytest.raises(ValueError, match='is not a plain name'):
    Stylegan2Images(config=ImageCollectionConfig(name=name, source=str(tmp_path)), data_dir=str(tmp_path))


def test_plain_names_are_accepted(tmp_path):
  for name in ['paintings_256', 'v1.2-b', '0']:
    assert image_collection_builder(str(tmp_path), 4, str(tmp_path), name).builder_config.name == name

"""Weight files the metrics cannot read are refused in one line that names the file to use instead."""

import gzip
import io
import zipfile

import pytest
from torch_pickles import TFNetwork, dumps

from stylegan2_jax import cli
from stylegan2_jax.metrics.inception import FID_WEIGHTS_URL, load_inception
from stylegan2_jax.metrics.lpips import load_lpips


def torchscript_archive(path, name):
  """The layout of a ``torch.jit.save`` file (as NVIDIA's metric networks are): code, constants, data."""
  out = io.BytesIO()
  with zipfile.ZipFile(out, 'w') as archive:
    archive.writestr(f'{name}/version', '3\n')
    archive.writestr(f'{name}/code/__torch__/{name}.py', 'class Model(Module): ...\n')
    archive.writestr(f'{name}/constants.pkl', b'\x80\x02).')
    archive.writestr(f'{name}/data.pkl', b'\x80\x02c__torch__.Model\nModel\nq\x00)\x81q\x01.')
  path.write_bytes(out.getvalue())
  return path


def test_nvidias_torchscript_metric_files_are_refused_naming_the_right_one(tmp_path):
  inception = torchscript_archive(tmp_path / 'inception-2015-12-05.pt', 'inception')
  with pytest.raises(ValueError, match='is a TorchScript program') as error:
    load_inception(inception)
  assert FID_WEIGHTS_URL in str(error.value)
  with pytest.raises(ValueError, match='is a TorchScript program.*vgg.pth'):
    load_lpips(torchscript_archive(tmp_path / 'vgg16.pt', 'vgg16'))


def test_tensorflow_inception_files_are_refused_naming_the_right_one(tmp_path):
  tf1 = tmp_path / 'inception_v3_features.pkl'  # TF StyleGAN2's metric network: a TF1 Network pickle
  tf1.write_bytes(dumps(TFNetwork({'name': 'Inception', 'static_kwargs': {}, 'variables': []})))
  archive = tmp_path / 'inception-2015-12-05.tgz'  # the TensorFlow graph's archive
  archive.write_bytes(gzip.compress(b'classify_image_graph_def.pb' * 10))
  for path in (tf1, archive):
    with pytest.raises(ValueError, match='is not a torch state_dict') as error:
      load_inception(path)
    assert FID_WEIGHTS_URL in str(error.value)


def test_the_detect_command_says_it_in_one_line(tmp_path, capsys):
  vgg16 = torchscript_archive(tmp_path / 'vgg16.pt', 'vgg16')
  assert cli.main(['detect', '--network', str(tmp_path / 'net.pkl'), str(tmp_path / 'a.png'), '--lpips', str(vgg16),
                   '--calibrate', '1']) == 2
  err = capsys.readouterr().err
  assert len(err.strip().splitlines()) == 1 and 'TorchScript' in err

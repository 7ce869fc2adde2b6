"""The training benchmark runs end to end on a tiny setting, with and without ADA's pipe."""

import pytest

from benchmarks import train_throughput

TINY = dict(resolution=16, r1_gamma=0.01, channel_base=64, channel_max=8, z_dim=8, mapping_layers=1)


@pytest.mark.parametrize('augment', ['none', 'bgc'])
def test_a_setting_reports_every_phase_and_the_pipe(augment, monkeypatch):
  monkeypatch.setitem(train_throughput.SETTINGS, 'tiny', TINY)
  row = train_throughput.run('tiny', batch=2, iters=1, augment=augment, augment_p=0.5)
  assert set(row['phase_s']) == set(row['phase_cpu_s']) == {'Gmain', 'Greg', 'Dmain', 'Dreg'}
  assert row['sec_per_iter'] > 0 and row['resolution'] == 16 and row['augment'] == augment
  if augment == 'none':
    assert row['augment_p'] is None and 'pipe_cpu_s_per_iter' not in row
  else:
    assert (row['augpipe'], row['augment_p']) == ('bgc', 0.5)
    assert row['pipe_calls']['forward']['images'] == 4 and row['pipe_calls']['with_grad']['images'] == 2

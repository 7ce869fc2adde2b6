"""Our generator as ONNX graphs (opset 17), for onnxruntime (Python, C++, the browser's onnxruntime-web).

Three models from one builder, all with a dynamic batch size:

* ``generator``: ``z [N, z_dim]`` (+ ``c [N, c_dim]``), ``psi [1]`` -> ``img [N, C, R, R]``;
* ``mapping``: ``z`` (+ ``c``), ``psi`` -> ``ws [N, num_ws, w_dim]`` (truncated);
* ``synthesis``: ``ws`` -> ``img`` (for style mixing and latent blending outside the graph).

The graph is the network written out in ONNX operators, layer for layer as
``networks/layers.py`` computes it (modulate the activations, one convolution,
demodulate; upsampling as a transposed convolution then the FIR filter). The
noise mode (``const`` or ``none``) and the truncation cutoff are fixed at export;
everything runs in float32. Images come out in [-1, 1] like ``G.apply``.
"""

from __future__ import annotations

import jax
import numpy as np

from stylegan2_jax.networks.handle import LoadedNetwork
from stylegan2_jax.interop.torch_export import require_extra
from stylegan2_jax.ops.upfirdn2d import setup_filter

OPSET = 17
MODELS = ('generator', 'mapping', 'synthesis')
_ACT_GAIN = {'lrelu': np.sqrt(2), 'linear': 1.0}


class _Graph:
  """A tiny ONNX graph builder: ``op`` adds a node and returns its output name, ``const`` an initializer."""

  def __init__(self, onnx):
    self.onnx, self.nodes, self.initializers, self.count = onnx, [], [], 0

  def name(self, hint: str) -> str:
    self.count += 1
    return f'{hint}_{self.count}'

  def const(self, value, hint: str = 'c') -> str:
    name = self.name(hint)
    value = np.asarray(value)
    value = value.astype(np.int64 if value.dtype.kind in 'iu' else np.float32)
    self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
    return name

  def op(self, op_type: str, *inputs: str, hint: str | None = None, **attrs) -> str:
    out = self.name(hint or op_type.lower())
    self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], **attrs))
    return out

  def rename(self, tensor: str, name: str) -> str:
    return self.op('Identity', tensor, hint=name)


def _params(variables, path: str) -> dict:
  node = variables['params']
  for part in path.split('.'):
    node = node[part]
  return jax.tree.map(lambda v: np.asarray(v, np.float32), dict(node))


def _dense(g: _Graph, x: str, p: dict, lr_multiplier: float = 1.0, activation: str = 'linear', scale=1.0) -> str:
  """Equalized-lr dense layer (``scale`` multiplies the output before the activation's gain)."""
  in_features = p['weight'].shape[1]
  w = p['weight'] * np.float32(lr_multiplier / np.sqrt(in_features)) * np.float32(scale)
  x = g.op('MatMul', x, g.const(w.T, 'dense_w'))
  x = g.op('Add', x, g.const(p['bias'] * np.float32(lr_multiplier) * np.float32(scale), 'dense_b'))
  return _act(g, x, activation)


def _act(g: _Graph, x: str, activation: str, gain: float = 1.0, clamp: float | None = None) -> str:
  if activation not in _ACT_GAIN:
    raise NotImplementedError(f'activation {activation!r} is not supported by the ONNX export (lrelu, linear)')
  if activation == 'lrelu':
    x = g.op('LeakyRelu', x, alpha=0.2)
  total = _ACT_GAIN[activation] * gain
  if total != 1:
    x = g.op('Mul', x, g.const(np.float32(total)))
  if clamp is not None:
    x = g.op('Clip', x, g.const(np.float32(-clamp * gain)), g.const(np.float32(clamp * gain)))
  return x


def _normalize(g: _Graph, x: str) -> str:
  """``x * rsqrt(mean(x^2, axis=1) + 1e-8)``."""
  mean = g.op('ReduceMean', g.op('Mul', x, x), axes=[1], keepdims=1)
  return g.op('Mul', x, g.op('Reciprocal', g.op('Sqrt', g.op('Add', mean, g.const(np.float32(1e-8))))))


def _channels(g: _Graph, v: str) -> str:
  """[N, C] -> [N, C, 1, 1]."""
  return g.op('Unsqueeze', v, g.const(np.array([2, 3])))


def _fir(g: _Graph, x: str, f: np.ndarray, channels: int, pad: tuple[int, int], gain: float,
         up: bool = False) -> str:
  """The official FIR filtering: upfirdn2d (true convolution) as a depthwise (transposed) convolution."""
  kernel = np.tile((f * gain)[None, None], (channels, 1, 1, 1)).astype(np.float32)
  if up:  # zero insertion + padding (p0, p1) + filter == transposed conv trimmed by (fw - 1 - p0, fw - 2 - p1)
    fw = f.shape[0]
    trim = [fw - 1 - pad[0], fw - 2 - pad[1]]
    return g.op('ConvTranspose', x, g.const(kernel), strides=[2, 2], group=channels,
                pads=[trim[0], trim[0], trim[1], trim[1]])
  return g.op('Conv', x, g.const(kernel[:, :, ::-1, ::-1].copy()), group=channels,
              pads=[pad[0], pad[0], pad[1], pad[1]])


def _upsample_pads(k: int, fw: int) -> tuple[int, tuple[int, int]]:
  """conv2d_resample's padding for a k x k conv with up=2: (transposed-conv padding, FIR padding)."""
  p0 = k // 2 + (fw + 1) // 2 - (k - 1)
  p1 = k // 2 + (fw - 2) // 2 - (k - 2)
  pt = max(min(-p0, -p1), 0)
  return pt, (p0 + pt, p1 + pt)


def _synthesis_layer(g: _Graph, x: str, w: str, p: dict, noise_const, up: bool, f: np.ndarray, activation: str,
                     conv_clamp: float | None, gain: float = 1.0) -> str:
  """Modulated conv (+ up), demodulation, const noise, bias, activation (as ``SynthesisLayer``)."""
  weight = p['weight']
  out_channels, _, k, _ = weight.shape
  styles = _dense(g, w, p['affine'])
  x = g.op('Mul', x, _channels(g, styles))
  if up:
    pt, fir_pad = _upsample_pads(k, f.shape[0])
    x = g.op('ConvTranspose', x, g.const(weight.transpose(1, 0, 2, 3)), strides=[2, 2], pads=[pt] * 4)
    x = _fir(g, x, f, out_channels, fir_pad, gain=4)
  else:
    x = g.op('Conv', x, g.const(weight), pads=[k // 2] * 4)
  square_sums = np.sum(np.square(weight), axis=(2, 3)).T  # [in, out]
  d = g.op('MatMul', g.op('Mul', styles, styles), g.const(square_sums))
  d = g.op('Reciprocal', g.op('Sqrt', g.op('Add', d, g.const(np.float32(1e-8)))))
  x = g.op('Mul', x, _channels(g, d))
  if noise_const is not None:
    x = g.op('Add', x, g.const((np.asarray(noise_const, np.float32) * p['noise_strength'])[None, None]))
  x = g.op('Add', x, g.const(p['bias'][None, :, None, None]))
  return _act(g, x, activation, gain, conv_clamp)


def _torgb(g: _Graph, x: str, w: str, p: dict, conv_clamp: float | None) -> str:
  weight = p['weight']
  _, in_channels, k, _ = weight.shape
  styles = _dense(g, w, p['affine'], scale=1 / np.sqrt(in_channels * k * k))
  x = g.op('Conv', g.op('Mul', x, _channels(g, styles)), g.const(weight), pads=[k // 2] * 4)
  x = g.op('Add', x, g.const(p['bias'][None, :, None, None]))
  return _act(g, x, 'linear', 1.0, conv_clamp)


def _mapping(g: _Graph, G, variables, z: str | None, c: str | None, psi: str, truncation_cutoff) -> str:
  """z, c, psi -> ws [N, num_ws, w_dim] (``MappingNetwork`` with truncation)."""
  kwargs = dict(G.mapping_kwargs)
  lr, activation = kwargs.get('lr_multiplier', 0.01), kwargs.get('activation', 'lrelu')
  x = _normalize(g, z) if G.z_dim else None
  if G.c_dim:
    y = _normalize(g, _dense(g, c, _params(variables, 'mapping.embed')))
    x = y if x is None else g.op('Concat', x, y, axis=1)
  for i in range(kwargs.get('num_layers', 8)):
    x = _dense(g, x, _params(variables, f'mapping.fc{i}'), lr, activation)
  w_avg = g.const(np.asarray(variables['buffers']['mapping']['w_avg'], np.float32))
  truncated = g.op('Add', w_avg, g.op('Mul', psi, g.op('Sub', x, w_avg)))
  axis = g.const(np.array([1]))
  layers = [truncated if truncation_cutoff is None or i < truncation_cutoff else x for i in range(G.num_ws)]
  return g.op('Concat', *[g.op('Unsqueeze', w, axis) for w in layers], axis=1)


def _synthesis(g: _Graph, G, variables, ws: str, noise_mode: str) -> str:
  """ws -> NCHW images (``SynthesisNetwork``, every architecture)."""
  kwargs = dict(G.synthesis_kwargs)
  from stylegan2_jax.networks.generator import SynthesisNetwork  # pylint: disable=import-outside-toplevel
  net = SynthesisNetwork(w_dim=G.w_dim, img_resolution=G.img_resolution, img_channels=G.img_channels, **kwargs)
  f = setup_filter(net.resample_filter)
  buffers = variables.get('buffers', {}).get('synthesis', {})
  layer = dict(f=f, activation=net.activation, conv_clamp=net.conv_clamp)
  w_at = {}

  def w(i):
    if i not in w_at:
      w_at[i] = g.op('Gather', ws, g.const(np.array(i)), axis=1)
    return w_at[i]

  def noise(block, name):
    if noise_mode == 'none' or not net.use_noise:
      return None
    return buffers[block][name]['noise_const']

  x = img = None
  w_idx = 0
  for spec in net.block_specs():
    block = f'b{spec["resolution"]}'

    def p(name, block=block):
      return _params(variables, f'synthesis.{block}.{name}')
    if spec['in_channels'] == 0:
      const = np.asarray(variables['params']['synthesis'][block]['const'], np.float32)[None]
      shape = g.op('Concat', g.op('Slice', g.op('Shape', ws), g.const(np.array([0])), g.const(np.array([1]))),
                   g.const(np.array(const.shape[1:])), axis=0)
      x = g.op('Expand', g.const(const), shape)
      x = _synthesis_layer(g, x, w(w_idx), p('conv1'), noise(block, 'conv1'), False, **layer)
      num_conv = 1
    else:
      y = None
      if net.architecture == 'resnet':
        skip = p('skip')['weight']
        y = _fir(g, x, f, spec['in_channels'], (2, 1), gain=4, up=True)
        y = g.op('Conv', y, g.const(skip * np.float32(1 / np.sqrt(skip.shape[1]))))
        y = g.op('Mul', y, g.const(np.float32(np.sqrt(0.5))))
      x = _synthesis_layer(g, x, w(w_idx), p('conv0'), noise(block, 'conv0'), True, **layer)
      x = _synthesis_layer(g, x, w(w_idx + 1), p('conv1'), noise(block, 'conv1'), False, **layer,
                           gain=np.sqrt(0.5) if y is not None else 1.0)
      if y is not None:
        x = g.op('Add', y, x)
      num_conv = 2
    if img is not None:
      img = _fir(g, img, f, G.img_channels, (2, 1), gain=4, up=True)
    if spec['is_last'] or net.architecture == 'skip':
      y = _torgb(g, x, w(w_idx + num_conv), p('torgb'), net.conv_clamp)
      img = y if img is None else g.op('Add', img, y)
    w_idx += num_conv
  return img


def build_onnx_model(net: LoadedNetwork, model: str = 'generator', noise_mode: str = 'const',
                     truncation_cutoff: int | None = None):
  """The ONNX ``ModelProto`` of ``model`` (generator, mapping or synthesis) of the generator ``net``."""
  onnx = require_extra('onnx', 'onnx', 'the ONNX export')
  if model not in MODELS:
    raise ValueError(f'model must be one of {MODELS}, got {model!r}')
  if noise_mode not in ('const', 'none'):
    raise ValueError(f"the ONNX export supports noise_mode 'const' or 'none', got {noise_mode!r}")
  if net.class_name != 'Generator':
    raise ValueError('only generators are exported to ONNX')
  G, variables, g = net.module, net.variables, _Graph(onnx)
  float_input = lambda name, *dims: onnx.helper.make_tensor_value_info(  # noqa: E731
      name, onnx.TensorProto.FLOAT, ['batch', *dims])
  inputs = []
  if model in ('generator', 'mapping'):
    z = c = None
    if G.z_dim:
      inputs.append(float_input('z', G.z_dim))
      z = 'z'
    if G.c_dim:
      inputs.append(float_input('c', G.c_dim))
      c = 'c'
    inputs.append(onnx.helper.make_tensor_value_info('psi', onnx.TensorProto.FLOAT, [1]))
    ws = _mapping(g, G, variables, z, c, 'psi', truncation_cutoff)
  else:
    inputs.append(float_input('ws', G.num_ws, G.w_dim))
    ws = 'ws'
  if model == 'mapping':
    outputs = [(g.rename(ws, 'ws_out'), 'ws', [G.num_ws, G.w_dim])]
  else:
    res = G.img_resolution
    outputs = [(_synthesis(g, G, variables, ws, noise_mode), 'img', [G.img_channels, res, res])]
  for tensor, name, _ in outputs:  # give the graph outputs their public names
    g.nodes.append(onnx.helper.make_node('Identity', [tensor], [name]))
  graph = onnx.helper.make_graph(g.nodes, f'stylegan2_{model}', inputs,
                                 [float_input(name, *dims) for _, name, dims in outputs], g.initializers)
  proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid('', OPSET)],
                                 producer_name='stylegan2-jax')
  proto.ir_version = 8  # readable by onnxruntime >= 1.10 and onnxruntime-web
  onnx.checker.check_model(proto)
  return proto


def export_onnx(net: LoadedNetwork, path, model: str = 'generator', noise_mode: str = 'const',
                truncation_cutoff: int | None = None) -> None:
  """Writes ``model`` (generator, mapping or synthesis) of the generator ``net`` as an ONNX file."""
  onnx = require_extra('onnx', 'onnx', 'the ONNX export')
  onnx.save(build_onnx_model(net, model, noise_mode, truncation_cutoff), str(path))

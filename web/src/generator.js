// The exported generator in onnxruntime-web: mapping (seed -> truncated ws) and synthesis (ws -> image).

import * as ort from 'onnxruntime-web/wasm';
import { seedLatent } from './latents.js';

/** Loads `network/onnx.json`, `mapping.onnx` and `synthesis.onnx` from `baseUrl` into wasm sessions. */
export async function loadGenerator(baseUrl = 'network/') {
  const response = await fetch(new URL('onnx.json', new URL(baseUrl, document.baseURI)));
  if (!response.ok) throw new Error(`cannot load ${baseUrl}onnx.json (${response.status})`);
  const info = await response.json();
  const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  const [mapping, synthesis] = await Promise.all(['mapping', 'synthesis'].map(
    (name) => ort.InferenceSession.create(`${baseUrl}${name}.onnx`, options)));
  return new Generator(info, mapping, synthesis);
}

/** One network: cached per-seed ws, one synthesis run at a time. */
export class Generator {
  constructor(info, mapping, synthesis) {
    this.info = info;
    this.mapping = mapping;
    this.synthesis = synthesis;
    this.wsCache = new Map();
    this.queue = Promise.resolve();
  }

  get wsSize() {
    return this.info.num_ws * this.info.w_dim;
  }

  /** Truncated ws [numWs * wDim] of a seed (and class for conditional networks). */
  mapSeed(seed, psi, classIdx = 0) {
    const key = `${seed}/${psi}/${classIdx}`;
    if (!this.wsCache.has(key)) {
      const { z_dim: zDim, c_dim: cDim } = this.info;
      const feeds = {
        z: new ort.Tensor('float32', seedLatent(seed, zDim), [1, zDim]),
        psi: new ort.Tensor('float32', Float32Array.of(psi), [1]),
      };
      if (cDim) {
        const c = new Float32Array(cDim);
        c[classIdx] = 1;
        feeds.c = new ort.Tensor('float32', c, [1, cDim]);
      }
      const ws = this.serially(() => this.mapping.run(feeds)).then((out) => out[this.info.outputs.mapping].data);
      this.wsCache.set(key, ws);
      if (this.wsCache.size > 512) this.wsCache.delete(this.wsCache.keys().next().value);
    }
    return this.wsCache.get(key);
  }

  /** The image [C * R * R] in [-1, 1] of ws [numWs * wDim]. */
  async synthesize(ws) {
    const { num_ws: numWs, w_dim: wDim } = this.info;
    const feeds = { ws: new ort.Tensor('float32', ws, [1, numWs, wDim]) };
    const out = await this.serially(() => this.synthesis.run(feeds));
    return out[this.info.outputs.synthesis].data;
  }

  serially(run) {
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** RGBA pixels of an image [C * R * R] in [-1, 1], as the Python tools convert: float32 x * 127.5 + 128, clipped. */
export function toImageData(img, channels, resolution) {
  const pixels = new ImageData(resolution, resolution);
  const plane = resolution * resolution;
  for (let i = 0; i < plane; i++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = Math.fround(Math.fround(img[(channels === 1 ? 0 : ch) * plane + i] * 127.5) + 128);
      pixels.data[i * 4 + ch] = Math.min(255, Math.max(0, Math.trunc(v)));
    }
    pixels.data[i * 4 + 3] = 255;
  }
  return pixels;
}

// Latents as the Python side draws them, and the ways the page combines them.
//
// seedLatent(seed, zDim) equals np.random.RandomState(seed).randn(1, zDim).astype(np.float32)
// (the official generate.py): numpy's legacy MT19937 seeding and its polar Box-Muller.

const N = 624;
const M = 397;

/** numpy's legacy RandomState: MT19937 with 53-bit doubles and the cached polar gaussian. */
export class RandomState {
  constructor(seed) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`seed must be an integer in [0, 2^32 - 1], got ${seed}`);
    }
    this.mt = new Uint32Array(N);
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.pos = N;
    this.hasGauss = false;
    this.gauss = 0;
  }

  twist() {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      let v = mt[(i + M) % N] ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      mt[i] = v >>> 0;
    }
    this.pos = 0;
  }

  /** The next 32-bit output. */
  uint32() {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) from two outputs (numpy's random_sample). */
  double() {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A standard normal draw (numpy's legacy_gauss). */
  gaussian() {
    if (this.hasGauss) {
      this.hasGauss = false;
      return this.gauss;
    }
    let x1, x2, r2;
    do {
      x1 = 2 * this.double() - 1;
      x2 = 2 * this.double() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }
}

/** z for a seed: [zDim] float32, the official generate.py latent. */
export function seedLatent(seed, zDim) {
  const rng = new RandomState(seed);
  const z = new Float32Array(zDim);
  for (let i = 0; i < zDim; i++) z[i] = rng.gaussian();
  return z;
}

/** sum_i weights[i] * arrays[i] for equally long Float32Arrays. */
export function weightedSum(arrays, weights) {
  const out = new Float32Array(arrays[0].length);
  arrays.forEach((a, k) => {
    const wk = weights[k];
    if (wk === 0) return;
    for (let i = 0; i < out.length; i++) out[i] += wk * a[i];
  });
  return out;
}

/** Bilinear weights of the four corners (top-left, top-right, bottom-left, bottom-right) at (x, y) in [0, 1]^2. */
export function cornerWeights(x, y) {
  return [(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y];
}

/** ws [numWs, wDim] whose layers [lo, hi) come from `other`, the rest from `base` (style mixing). */
export function mixLayers(base, other, lo, hi, wDim) {
  const out = Float32Array.from(base);
  out.set(other.subarray(lo * wDim, hi * wDim), lo * wDim);
  return out;
}

/** Layers [0, split) from `coarse`, the rest from `fine`. */
export function splitLayers(coarse, fine, split, wDim) {
  return mixLayers(fine, coarse, 0, split, wDim);
}

/** Linear interpolation a + t (b - a). */
export function lerp(a, b, t) {
  return weightedSum([a, b], [1 - t, t]);
}

/** The seeds of a list such as "1,5,7-9". */
export function parseSeeds(text) {
  const seeds = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const range = part.match(/^(\d+)-(\d+)$/);
    if (range) {
      for (let s = Number(range[1]); s <= Number(range[2]); s++) seeds.push(s);
    } else if (/^\d+$/.test(part)) {
      seeds.push(Number(part));
    } else {
      throw new Error(`cannot read seeds "${text}": use a list like 1,5,7-9`);
    }
  }
  return seeds;
}

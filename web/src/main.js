// The demo page: controls -> ws (in JavaScript) -> synthesis (onnxruntime-web) -> canvas.

import { loadGenerator, toImageData } from './generator.js';
import { cornerWeights, lerp, mixLayers, parseSeeds, seedLatent, splitLayers, weightedSum } from './latents.js';
import { npyBytes } from './npy.js';
import { makePad } from './pad.js';

const CACHE = 'stylegan2-jax-site';
const $ = (id) => document.getElementById(id);
const canvas = $('image');
const status = $('status');
const stats = { firstImageMs: null, renders: 0, playback: null };
let G = null;
let last = null;
let contentPad = null;
let stylePad = null;

function showStatus(text, error = false) {
  status.textContent = text;
  status.classList.toggle('error', error);
}

function seedValue(id) {
  const value = Number($(id).value);
  if ($(id).value.trim() === '' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`seeds are whole numbers from 0 to 4294967295 (got "${$(id).value}")`);
  }
  return value;
}

function cornerSeeds(id) {
  const seeds = parseSeeds($(id).value);
  if (seeds.length !== 4) throw new Error(`a map needs four corner seeds (got "${$(id).value}")`);
  return seeds;
}

/** Everything the image depends on, read from the controls. */
function readState() {
  const mode = document.querySelector('input[name=mode]:checked').value;
  const state = { mode, psi: Number($('psi').value), classIdx: G.info.c_dim ? Number($('class').value) : 0 };
  if (mode === 'seed') state.seed = seedValue('seed');
  if (mode === 'maps') {
    Object.assign(state, { contentSeeds: cornerSeeds('content-seeds'), styleSeeds: cornerSeeds('style-seeds'),
      content: [contentPad.x, contentPad.y], style: [stylePad.x, stylePad.y], split: Number($('split').value) });
  }
  if (mode === 'mix') {
    Object.assign(state, { a: seedValue('mix-a'), b: seedValue('mix-b'), lo: Number($('mix-lo').value),
      hi: Number($('mix-hi').value) });
  }
  if (mode === 'interp') {
    const seeds = parseSeeds($('interp-seeds').value);
    if (!seeds.length) throw new Error('give at least one seed to interpolate');
    Object.assign(state, { seeds, position: Number($('interp-position').value) });
  }
  return state;
}

/** The ws [numWs * wDim] of a state. */
async function computeWs(s) {
  const wDim = G.info.w_dim;
  const map = (seed) => G.mapSeed(seed, s.psi, s.classIdx);
  const blend = async (seeds, [x, y]) => weightedSum(await Promise.all(seeds.map(map)), cornerWeights(x, y));
  if (s.mode === 'seed') return map(s.seed);
  if (s.mode === 'maps') {
    const [content, style] = await Promise.all([blend(s.contentSeeds, s.content), blend(s.styleSeeds, s.style)]);
    return splitLayers(content, style, s.split, wDim);
  }
  if (s.mode === 'mix') {
    const [a, b] = await Promise.all([map(s.a), map(s.b)]);
    return mixLayers(a, b, s.lo, Math.max(s.lo, s.hi), wDim);
  }
  const steps = s.seeds.length - 1;
  const i = Math.min(Math.floor(s.position * steps), Math.max(steps - 1, 0));
  const [a, b] = await Promise.all([map(s.seeds[i]), map(s.seeds[Math.min(i + 1, steps)])]);
  return lerp(a, b, steps ? s.position * steps - i : 0);
}

function draw(img) {
  const { img_channels: channels, img_resolution: res } = G.info;
  canvas.getContext('2d').putImageData(toImageData(img, channels, res), 0, 0);
}

// One render at a time; a change during a render schedules exactly one more.
let dirty = false;
let rendering = false;
let idleWaiters = [];

function requestRender() {
  dirty = true;
  if (!rendering) renderLoop();
  return whenIdle();
}

function whenIdle() {
  return rendering || dirty ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve();
}

async function renderLoop() {
  rendering = true;
  while (dirty) {
    dirty = false;
    try {
      const state = readState();
      const ws = await computeWs(state);
      const img = await G.synthesize(ws);
      draw(img);
      last = { state, ws, img };
      stats.renders += 1;
      if (stats.firstImageMs === null) firstImage();
      else if (!stats.playback) showStatus(describe(state));
    } catch (error) {
      showStatus(error.message, true);
    }
  }
  rendering = false;
  const waiters = idleWaiters;
  idleWaiters = [];
  waiters.forEach((resolve) => resolve());
}

function describe(s) {
  if (s.mode === 'seed') return `seed ${s.seed}, ψ ${s.psi}`;
  if (s.mode === 'mix') return `seed ${s.a} with layers ${s.lo}-${s.hi - 1} from seed ${s.b}`;
  const point = ([x, y]) => `(${x.toFixed(2)}, ${y.toFixed(2)})`;
  if (s.mode === 'maps') return `content ${point(s.content)}, style ${point(s.style)}`;
  return `interpolation at ${s.position.toFixed(3)}`;
}

function firstImage() {
  stats.firstImageMs = performance.now();
  showStatus(`First image ${(stats.firstImageMs / 1000).toFixed(2)} s after opening the page.`);
  $('download-image').disabled = false;
  $('download-latent').disabled = false;
  cacheForOffline().catch((error) => console.warn('offline cache:', error));
}

/** Keeps every file this page has loaded in the cache the service worker answers from when offline. */
async function cacheForOffline() {
  if (!('serviceWorker' in navigator) || !window.caches) return;
  await navigator.serviceWorker.register('sw.js');
  const urls = performance.getEntriesByType('resource').map((entry) => entry.name)
    .filter((url) => new URL(url).origin === location.origin);
  const cache = await caches.open(CACHE);
  const results = await Promise.allSettled([...new Set([location.pathname, ...urls])].map((url) => cache.add(url)));
  stats.offlineReady = results.every((result) => result.status === 'fulfilled');
}

// Interpolation playback: advance the position after each finished frame.
async function play() {
  const button = $('play');
  if (stats.playback) {
    stats.playback = null;
    button.textContent = 'Play';
    return;
  }
  button.textContent = 'Pause';
  const run = { start: performance.now(), frames: 0 };
  stats.playback = run;
  while (stats.playback === run) {
    let seeds;
    try {
      seeds = parseSeeds($('interp-seeds').value);
    } catch (error) {
      stats.playback = null;
      button.textContent = 'Play';
      showStatus(error.message, true);
      return;
    }
    const step = 1 / (Math.max(1, Number($('interp-frames').value)) * Math.max(1, seeds.length - 1));
    const position = $('interp-position');
    position.value = String((Number(position.value) + step) % 1);
    await requestRender();
    run.frames += 1;
    run.imgPerSec = run.frames / ((performance.now() - run.start) / 1000);
    showStatus(`Playing: ${run.imgPerSec.toFixed(1)} images/s`);
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

function download(blob, filename) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 5000);
}

function fileStem() {
  const { mode, seed } = last.state;
  return mode === 'seed' ? `seed${String(seed).padStart(4, '0')}` : `stylegan2-${mode}`;
}

function setRange(id, max, value) {
  const input = $(id);
  input.max = String(max);
  input.value = String(value);
  const show = () => { $(`${id}-value`).textContent = input.value; };
  input.addEventListener('input', show);
  show();
}

function setUpControls(info) {
  const { num_ws: numWs } = info;
  $('network-info').textContent = `${info.img_resolution}×${info.img_resolution}, ${info.img_channels} channel(s), `
    + `z ${info.z_dim}, w ${info.w_dim}, ${numWs} ws${info.c_dim ? `, ${info.c_dim} classes` : ''}; `
    + 'running in onnxruntime-web (WebAssembly) in this browser.';
  canvas.width = canvas.height = info.img_resolution;
  if (info.c_dim) {
    $('class-row').hidden = false;
    for (let i = 0; i < info.c_dim; i++) $('class').add(new Option(String(i), String(i)));
  }
  setRange('split', numWs, Math.ceil(numWs / 2));
  setRange('mix-lo', numWs, Math.ceil(numWs / 2));
  setRange('mix-hi', numWs, numWs);
  const psi = $('psi');
  psi.addEventListener('input', () => { $('psi-value').textContent = Number(psi.value).toFixed(2); });

  const padLabels = (id) => { try { return cornerSeeds(id).map(String); } catch { return ['?', '?', '?', '?']; } };
  contentPad = makePad($('content-pad'), padLabels('content-seeds'), requestRender);
  stylePad = makePad($('style-pad'), padLabels('style-seeds'), requestRender);
  for (const [id, pad] of [['content-seeds', contentPad], ['style-seeds', stylePad]]) {
    $(id).addEventListener('input', () => { pad.labels = padLabels(id); pad.draw(); });
  }

  document.querySelectorAll('input[name=mode]').forEach((radio) => radio.addEventListener('change', () => {
    document.querySelectorAll('fieldset[data-mode]').forEach((set) => {
      set.hidden = set.dataset.mode !== radio.value;
    });
    requestRender();
  }));
  for (const id of ['psi', 'class', 'seed', 'content-seeds', 'style-seeds', 'split', 'mix-a', 'mix-b', 'mix-lo',
    'mix-hi', 'interp-seeds', 'interp-position']) {
    $(id).addEventListener(id === 'class' ? 'change' : 'input', () => requestRender());
  }
  $('random-seed').addEventListener('click', () => {
    $('seed').value = String(Math.floor(Math.random() * 2 ** 31));
    requestRender();
  });
  $('play').addEventListener('click', play);
  $('download-image').addEventListener('click', () => canvas.toBlob((blob) => download(blob, `${fileStem()}.png`)));
  $('download-latent').addEventListener('click', () => download(
    new Blob([npyBytes(last.ws, [1, numWs, info.w_dim])], { type: 'application/octet-stream' }), `${fileStem()}.npy`));
}

/** Applies ?seed=, ?psi=, ?class= and ?mode= from the address. */
function applyQuery() {
  const query = new URLSearchParams(location.search);
  if (query.has('seed')) $('seed').value = query.get('seed');
  if (query.has('psi')) {
    $('psi').value = query.get('psi');
    $('psi-value').textContent = Number($('psi').value).toFixed(2);
  }
  if (query.has('class') && G.info.c_dim) $('class').value = query.get('class');
  const mode = query.get('mode');
  const radio = mode && document.querySelector(`input[name=mode][value="${mode}"]`);
  if (radio) {
    radio.checked = true;
    radio.dispatchEvent(new Event('change'));
  }
}

/** Renders `count` interpolation frames back to back: images/s of the whole path (ws, synthesis, canvas). */
async function benchmark(count = 20) {
  const radio = document.querySelector('input[name=mode][value="interp"]');
  radio.checked = true;
  radio.dispatchEvent(new Event('change'));
  await whenIdle();
  const start = performance.now();
  for (let i = 1; i <= count; i++) {
    $('interp-position').value = String(i / (count + 1));
    await requestRender();
  }
  const seconds = (performance.now() - start) / 1000;
  return { images: count, seconds, imgPerSec: count / seconds };
}

async function main() {
  try {
    G = await loadGenerator('network/');
  } catch (error) {
    showStatus(`Could not load the network: ${error.message}`, true);
    throw error;
  }
  setUpControls(G.info);
  applyQuery();
  await requestRender();
  return true;
}

// For scripted use (tests, benchmarks): the state of the page and a way to wait for it.
window.stylegan = {
  ready: main(),
  stats,
  get info() { return G && G.info; },
  get last() { return last; },
  idle: whenIdle,
  render: requestRender,
  benchmark,
  seedLatent: (seed, zDim) => Array.from(seedLatent(seed, zDim)),
};

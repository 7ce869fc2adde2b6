// A 2D pad: a point the user drags inside a square, reported as (x, y) in [0, 1]^2.

/** Makes `canvas` a pad with corner labels; `onMove(x, y)` runs on every change. */
export function makePad(canvas, labels, onMove) {
  const pad = { x: 0.5, y: 0.5, labels };
  const ctx = canvas.getContext('2d');

  pad.draw = () => {
    const { width: w, height: h } = canvas;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = '#20242c';
    ctx.fillRect(0, 0, w, h);
    ctx.fillStyle = '#9aa4b5';
    ctx.font = '11px sans-serif';
    const [tl, tr, bl, br] = pad.labels;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    ctx.fillText(tl, 4, 4);
    ctx.textAlign = 'right';
    ctx.fillText(tr, w - 4, 4);
    ctx.textBaseline = 'bottom';
    ctx.fillText(br, w - 4, h - 4);
    ctx.textAlign = 'left';
    ctx.fillText(bl, 4, h - 4);
    ctx.beginPath();
    ctx.arc(pad.x * w, pad.y * h, 6, 0, 2 * Math.PI);
    ctx.fillStyle = '#f5b942';
    ctx.fill();
  };

  pad.set = (x, y) => {
    pad.x = Math.min(1, Math.max(0, x));
    pad.y = Math.min(1, Math.max(0, y));
    pad.draw();
    onMove(pad.x, pad.y);
  };

  const fromEvent = (event) => {
    const rect = canvas.getBoundingClientRect();
    pad.set((event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height);
  };
  canvas.addEventListener('pointerdown', (event) => {
    canvas.setPointerCapture(event.pointerId);
    fromEvent(event);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (event.buttons) fromEvent(event);
  });
  pad.draw();
  return pad;
}

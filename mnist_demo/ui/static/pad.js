// Runs in the browser once the pad is on the page: element is the pad, props.value its value
// (setting it sends the change event). Pointer events serve mouse, pen and finger alike.
// Black ink on a transparent canvas: the alpha channel is the stroke mask that
// mnist_demo/preprocess.py reads. One small PNG data URL per stroke, not the three file
// uploads of Gradio's Sketchpad: see docs/performance.md.
const canvas = element.querySelector('canvas');
const context = canvas.getContext('2d');
const brush = element.querySelector('.brush');
context.fillStyle = context.strokeStyle = '#000';
context.lineCap = context.lineJoin = 'round';
let pen = null;  // the pointer drawing the current stroke, if any
let last = null;

function point(event) {  // page pixels -> canvas pixels (the canvas may be shown scaled)
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}
canvas.addEventListener('pointerdown', (event) => {
  event.preventDefault();
  if (!event.isPrimary) return;  // a second finger or a palm: only the first one draws
  pen = event.pointerId;
  last = point(event);
  canvas.setPointerCapture(pen);
  context.beginPath();
  context.arc(last[0], last[1], Number(brush.value), 0, 2 * Math.PI);
  context.fill();
});
canvas.addEventListener('pointermove', (event) => {
  if (event.pointerId !== pen) return;
  const next = point(event);
  context.lineWidth = 2 * Number(brush.value);
  context.beginPath();
  context.moveTo(last[0], last[1]);
  context.lineTo(next[0], next[1]);
  context.stroke();
  last = next;
  event.preventDefault();
});
function endStroke(event) {
  if (event.pointerId !== pen) return;
  pen = null;
  props.value = canvas.toDataURL('image/png');  // sends `change` with the drawing
}
canvas.addEventListener('pointerup', endStroke);
canvas.addEventListener('pointercancel', endStroke);
canvas.addEventListener('lostpointercapture', endStroke);  // never stuck mid-stroke
element.querySelector('.clear').addEventListener('click', () => {
  pen = null;  // a stroke still under a finger ends here, unsent
  context.clearRect(0, 0, canvas.width, canvas.height);
  props.value = '';  // sends `change` with nothing drawn: the answer empties too
});

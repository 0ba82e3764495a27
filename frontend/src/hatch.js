// The hatch pattern for unstaffed grids. MapLibre's fill-pattern takes an
// image from the style's sprite, and the blank style has none: the pattern
// is drawn on a canvas at run time and added with map.addImage.

/**
 * hatchLines returns the segments [[x0, y0, x1, y1], ...] of 45° lines
 * spaced `spacing` apart that tile seamlessly in a size × size square
 * (spacing must divide size).
 */
export function hatchLines(size, spacing) {
  const out = [];
  for (let k = -size; k <= 2 * size; k += spacing) out.push([k, 0, k - size, size]);
  return out;
}

/**
 * addHatch adds the image `name` to map: diagonal lines of colour on a
 * transparent square of size CSS pixels, drawn at the screen's pixel ratio.
 */
export function addHatch(map, name, { color = 'rgba(251, 146, 60, 0.95)', size = 12, spacing = 6, width = 1.6 } = {}) {
  if (map.hasImage(name)) return;
  const ratio = Math.max(1, Math.round(globalThis.devicePixelRatio || 1));
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size * ratio;
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.strokeStyle = color;
  g.lineWidth = width;
  g.lineCap = 'square';
  g.beginPath();
  for (const [x0, y0, x1, y1] of hatchLines(size, spacing)) {
    g.moveTo(x0, y0);
    g.lineTo(x1, y1);
  }
  g.stroke();
  map.addImage(name, g.getImageData(0, 0, canvas.width, canvas.height), { pixelRatio: ratio });
}

// A small element builder, so the pages build their DOM without innerHTML
// (names and addresses come from the server and are never parsed as HTML).

/**
 * h creates an element: h('div', { class: 'x', 'data-testid': 'y', onclick: fn }, child, ...).
 * Attributes: class, text, hidden, title, style (an object), on<event>
 * handlers, anything else with setAttribute. Children: nodes, strings and
 * numbers (as text), arrays of them; null, undefined and false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'hidden') el.hidden = Boolean(v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** clear removes every child of el and returns it. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** escapeHTML makes a string safe inside HTML text and attributes (for MapLibre popups). */
export function escapeHTML(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

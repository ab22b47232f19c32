// Entity IDs in text become links to the plant view of that entity.

import { h } from "./ui.js";

const KINDS = [
  ["sku", /^SKU-[A-Z]{2,4}-[A-Z0-9]+$/],
  ["machine", /^[A-Z]{3}-[A-Z]{2,4}-\d{3}$/],
  ["order", /^ORD-\d+$/],
  ["work-order", /^WO-\d+$/],
  ["shipment", /^SHP-\d+$/],
];
const ANY = /\b(?:SKU-[A-Z]{2,4}-[A-Z0-9]+|[A-Z]{3}-[A-Z]{2,4}-\d{3}|ORD-\d+|WO-\d+|SHP-\d+)\b/g;

export function kindOf(id) {
  const found = KINDS.find(([, pattern]) => pattern.test(id));
  return found ? found[0] : null;
}

export function entityHref(id) {
  const kind = kindOf(id);
  return kind ? `#/plant/${kind}/${encodeURIComponent(id)}` : null;
}

export function entityLink(id) {
  const href = entityHref(id);
  return href ? h("a", { href, class: "entity" }, id) : id;
}

/** `text` as nodes, with every entity ID a link. */
export function linkify(text) {
  const nodes = [];
  let at = 0;
  for (const match of String(text).matchAll(ANY)) {
    if (match.index > at) nodes.push(text.slice(at, match.index));
    nodes.push(entityLink(match[0]));
    at = match.index + match[0].length;
  }
  if (at < text.length) nodes.push(text.slice(at));
  return nodes;
}

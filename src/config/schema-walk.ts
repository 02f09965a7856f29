import type { z } from 'zod';

/**
 * Looks inside the zod schema by key path: which keys a section has (environment
 * overrides, unknown-key messages) and the description of a leaf (error messages).
 * Wrappers (default, prefault, optional, nullable) are looked through.
 */

type Node = z.ZodType;

interface Def {
  type: string;
  innerType?: Node;
  shape?: Record<string, Node>;
  element?: Node;
  options?: Node[];
}

const def = (node: Node): Def => (node as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch']);

/** The node without its wrappers, and the first description met on the way down. */
export function unwrap(node: Node): { node: Node; description: string | undefined } {
  let description = node.description;
  let current = node;
  for (let d = def(current); WRAPPERS.has(d.type) && d.innerType; d = def(current)) {
    current = d.innerType;
    description ??= current.description;
  }
  return { node: current, description };
}

/** The schema node at `path` (object keys, array indexes), or undefined when there is none. */
export function schemaAt(root: Node, path: readonly PropertyKey[]): Node | undefined {
  let current: Node | undefined = root;
  for (const key of path) {
    if (!current) return undefined;
    const inner = def(unwrap(current).node);
    if (inner.type === 'object' && typeof key === 'string') current = inner.shape?.[key];
    else if (inner.type === 'array' && typeof key === 'number') current = inner.element;
    else return undefined;
  }
  return current;
}

/** The keys of the object section at `path`; empty when it is not an object. */
export function keysAt(root: Node, path: readonly PropertyKey[]): string[] {
  const node = schemaAt(root, path);
  if (!node) return [];
  const inner = def(unwrap(node).node);
  return inner.type === 'object' && inner.shape ? Object.keys(inner.shape) : [];
}

/** What a value at `path` must be, as a noun phrase; undefined when the schema does not say. */
export function describeAt(root: Node, path: readonly PropertyKey[]): string | undefined {
  const node = schemaAt(root, path);
  return node ? unwrap(node).description : undefined;
}

/** `sync.brokers[0]`: a key path as the example configuration spells it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(top level)' : out;
}

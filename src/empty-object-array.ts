/**
 * An empty array with the map V8 gives an array of objects. A fresh `[]` keeps the map of an
 * array of small integers until an object is stored in it, so a loop optimised on full
 * arrays of objects is thrown away ("wrong map") the first time an empty one comes; the
 * sync's claim loop, fed an empty claim at the end of each drain and at every idle poll, was
 * recompiled three times a drain (20 ms of a compiler thread each).
 */
export function emptyObjectArray<T extends object>(): T[] {
  const empty: (T | undefined)[] = [undefined];
  empty.pop();
  return empty as T[];
}

import type { en } from './en.js';

/**
 * The shape every catalogue has: English defines the keys, and a catalogue that misses or adds
 * one does not compile. Apart from catalogues.ts so the language files can name it without an
 * import cycle.
 */
export type MessageKey = keyof typeof en;
export type Catalogue = Readonly<Record<MessageKey, string>>;

/**
 * The lock requirements of PROTOCOL.md §16, as the conformance kit reports them. The ids,
 * levels and sections are the spec's (test/conformance/lock/requirements.test.ts compares
 * this table with the one in PROTOCOL.md so they cannot drift apart).
 */

export type RequirementLevel = 'MUST' | 'SHOULD';

export interface Requirement {
  id: string;
  level: RequirementLevel;
  /** PROTOCOL.md section(s). */
  section: string;
  text: string;
}

export const LOCK_REQUIREMENTS: readonly Requirement[] = [
  {
    id: 'LINE-1',
    level: 'MUST',
    section: '2',
    text: 'lines are ~, canonical base64 and LF, ≤ 2048 bytes, completed in time',
  },
  { id: 'LINE-2', level: 'SHOULD', section: '2', text: 'no CR before the LF' },
  {
    id: 'LINE-3',
    level: 'MUST',
    section: '2',
    text: 'an overlong line is discarded up to its LF, nothing in it answered',
  },
  { id: 'LINE-4', level: 'MUST', section: '2', text: 'an incomplete line is dropped within 10 s' },
  { id: 'LINE-5', level: 'SHOULD', section: '2', text: 'an incomplete line is dropped within 5 s' },
  { id: 'FRAME-1', level: 'MUST', section: '3, 4', text: 'frames sent pass the checks of §3 and §4' },
  { id: 'FRAME-2', level: 'MUST', section: '3', text: 'a request with a bad CRC is dropped silently' },
  { id: 'FRAME-3', level: 'MUST', section: '3', text: 'an unknown type is answered ERROR UNKNOWN_TYPE' },
  {
    id: 'FRAME-4',
    level: 'MUST',
    section: '3, 4',
    text: 'a body off its schema is answered ERROR MALFORMED',
  },
  { id: 'FRAME-5', level: 'SHOULD', section: '4', text: 'answers are encoded deterministically' },
  {
    id: 'HELLO-1',
    level: 'MUST',
    section: '4.1, 6',
    text: 'HELLO answered HELLO_R, version 1, INFO fields in range',
  },
  {
    id: 'HELLO-2',
    level: 'MUST',
    section: '6',
    text: 'no common version: ERROR VERSION listing the versions',
  },
  { id: 'HELLO-3', level: 'MUST', section: '4.2', text: 'INFO agrees with HELLO_R' },
  {
    id: 'AUTH-1',
    level: 'MUST',
    section: '5.2',
    text: 'AUTH_R signs the §5.2 payload with the announced key',
  },
  { id: 'AUTH-2', level: 'MUST', section: '5.1', text: 'the announced key is the provisioned one' },
  {
    id: 'SESS-1',
    level: 'MUST',
    section: '9.2',
    text: 'every request answered exactly once, with its seq and type',
  },
  { id: 'SESS-2', level: 'MUST', section: '9.2', text: 'a repeated seq is not answered again' },
  { id: 'SESS-3', level: 'MUST', section: '9.1', text: 'only HELLO is answered before HELLO and after BYE' },
  {
    id: 'SESS-4',
    level: 'MUST',
    section: '9.1, 11',
    text: 'after a link ends mid-window, a new link gets a new session',
  },
  { id: 'SESS-5', level: 'MUST', section: '9.3', text: '`win` requests in flight are all answered' },
  { id: 'SESS-6', level: 'MUST', section: '9.3', text: 'answers leave in arrival order, ERROR included' },
  {
    id: 'READ-1',
    level: 'MUST',
    section: '4.4, 11',
    text: 'READ answers are exact; the manifest has SHA-256 mhash',
  },
  { id: 'READ-2', level: 'MUST', section: '4.4', text: 'READ serves any offset in any order' },
  {
    id: 'READ-3',
    level: 'MUST',
    section: '11',
    text: 'after a dropped link the manifest is the same and READ resumes',
  },
  {
    id: 'READ-4',
    level: 'MUST',
    section: '4.4',
    text: 'READ past the end is OUT_OF_RANGE (NO_MANIFEST when none)',
  },
  {
    id: 'EV-1',
    level: 'MUST',
    section: '4.5',
    text: 'EVENTS answers from `from`, ascending, ≤ max, count = ecount',
  },
  { id: 'EV-2', level: 'MUST', section: '7', text: 'the log is a valid chain ending at ecount/ehead' },
  { id: 'EV-3', level: 'MUST', section: '7', text: 'a sealed lock with a manifest has a clean log' },
  { id: 'TIME-1', level: 'SHOULD', section: '10', text: 'a request is answered within 100 ms' },
  { id: 'BIN-1', level: 'MUST', section: '13.4', text: '`bin: true` only when HELLO offered it' },
  {
    id: 'BIN-2',
    level: 'MUST',
    section: '13.4',
    text: 'after accepting, every frame binary and valid; binary requests answered',
  },
  {
    id: 'BIN-3',
    level: 'MUST',
    section: '13.4',
    text: 'a line where a frame would start is read as a line and answered binary',
  },
  { id: 'BIN-4', level: 'MUST', section: '13.4', text: 'on a serial link `bin` is ignored' },
  {
    id: 'BIN-5',
    level: 'MUST',
    section: '13.4',
    text: 'a binary frame with a bad CRC is not answered and ends the link',
  },
  {
    id: 'ADV-1',
    level: 'MUST',
    section: '13.2',
    text: 'a sealed or tampered lock, not connected, advertises every 20 ms',
  },
  {
    id: 'GATT-1',
    level: 'MUST',
    section: '13.5',
    text: 'announced GATT handles serve the layout: a HELLO at them alone, without discovery, is answered',
  },
];

export type RequirementId = (typeof LOCK_REQUIREMENTS)[number]['id'];

export function requirement(id: string): Requirement {
  const r = LOCK_REQUIREMENTS.find((x) => x.id === id);
  if (!r) throw new Error(`unknown requirement ${id}`);
  return r;
}

/**
 * The exchange conformance kit (`ctop-agent conformance exchange`, docs/CONFORMANCE.md):
 * plays a gateway against an exchange under test and checks it against
 * firmware-protocol/EXCHANGE.md v1.1.
 *
 * - `runExchangeConformance(options)` → a `ConformanceReport` (src/conformance/report.ts)
 * - `EXCHANGE_REQUIREMENTS`: every requirement checked, with its stable id
 */
export { EXCHANGE_REQUIREMENTS, type Requirement } from './requirements.js';
export type { RestartCommands } from './restart.js';
export {
  EXCHANGE_SECTIONS,
  type ExchangeConformanceOptions,
  type ExchangeSection,
  runExchangeConformance,
} from './run.js';

import type { Clock } from '../clock.js';
import type { PrivateKey, TrustStore } from '../keys/index.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { Language } from './i18n/languages.js';
import type { LoginLimiter } from './login-limiter.js';
import type { Officer } from './officers.js';
import type { Sessions } from './sessions.js';
import type { TrainFeed } from './train-feed.js';

/** What the console's routes share; built once by createConsole. */
export interface ConsoleContext {
  store: Store;
  trust: TrustStore;
  recipientKeys: readonly PrivateKey[];
  officers: ReadonlyMap<string, Officer>;
  sessions: Sessions;
  limiter: LoginLimiter;
  trains: TrainFeed;
  clock: Clock;
  log: Logger;
  site: string;
  metricsPath?: string;
  /**
   * The language each officer chose, remembered for the account (keyed by user name, so
   * bounded by the accounts) while the agent runs; a restart falls back to the browser's
   * cookie and Accept-Language.
   */
  languages: Map<string, Language>;
  cookieName: string;
  secureCookie: boolean;
}

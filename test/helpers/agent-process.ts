/**
 * The sync engine in a process of its own (test/sync/fixtures/agent-child.ts, built), for tests that
 * SIGKILL it: it loads its modules, then waits for "go" on stdin before touching the store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { built } from './built.js';

const CHILD = built('test/sync/fixtures/agent-child.ts');

export interface AgentProcess {
  child: ChildProcess;
  /** Its modules are loaded; it waits for go(). */
  loaded: Promise<void>;
  /** The engine started (connecting). */
  ready: Promise<void>;
  go(): void;
}

/** Starts an agent process on a child configuration file (see agent-child.ts); `timeoutMs` is a safety net. */
export function spawnAgent(config: string, timeoutMs = 120_000): AgentProcess {
  const child = spawn(process.execPath, [CHILD, config], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err = (err + d).slice(-20_000)));
  const seen = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`agent not ${word} in ${timeoutMs} ms: ${err}`)),
        timeoutMs,
      );
      const check = () => {
        if (!out.includes(`${word}\n`)) return;
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      };
      child.stdout!.on('data', check);
      check();
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`agent exited (${code ?? signal}) before ${word}: ${err}`));
      });
    });
  const agent = {
    child,
    loaded: seen('loaded'),
    ready: seen('ready'),
    go: () => child.stdin!.write('go\n'),
  };
  // A killed agent rejects these; only the awaited ones matter.
  agent.loaded.catch(() => undefined);
  agent.ready.catch(() => undefined);
  return agent;
}

/** Resolves with the exit code once the process has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

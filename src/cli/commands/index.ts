import type { Command } from 'commander';
import { register as backup } from './backup.js';
import { register as bleSim } from './ble-sim.js';
import { register as config } from './config.js';
import { register as conformance } from './conformance.js';
import { register as consoleCommands } from './console.js';
import { register as daemon } from './daemon.js';
import { register as demo } from './demo.js';
import { register as exportImport } from './export.js';
import { register as keys } from './keys.js';
import { register as lockSim } from './lock-sim.js';
import { register as locks } from './locks.js';
import { register as manifest } from './manifest.js';
import { register as manifests } from './manifests.js';
import { register as outages } from './outages.js';
import { register as outbox } from './outbox.js';
import { register as pair } from './pair.js';
import { register as read } from './read.js';
import { register as train } from './train.js';

/** Every CLI command registers itself on the program; one file per command group. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  read,
  lockSim,
  train,
  bleSim,
  demo,
  daemon,
  config,
  manifest,
  keys,
  manifests,
  locks,
  outbox,
  outages,
  exportImport,
  backup,
  pair,
  consoleCommands,
  conformance,
];

import type { Command } from 'commander';
import { register as demo } from './demo.js';
import { register as keys } from './keys.js';
import { register as lockSim } from './lock-sim.js';
import { register as manifest } from './manifest.js';
import { register as read } from './read.js';

/** Every CLI command registers itself on the program; one file per command group. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [read, lockSim, demo, manifest, keys];

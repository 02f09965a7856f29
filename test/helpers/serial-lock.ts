export * from '../../src/sim/lock/serial-lock-setup.js';

export * from '../../src/sim/serial-lock-setup.js';

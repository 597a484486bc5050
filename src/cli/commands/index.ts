// Registry of sub-commands. Add a command by adding its module here.
import type { Command } from '../command.js';
import { demo } from './demo.js';
import { info } from './info.js';
import { epsilon } from './epsilon.js';
import { calibrate } from './calibrate.js';
import { train } from './train.js';
import { bench } from './bench.js';
import { federate } from './federate.js';
import { audit } from './audit.js';

export const commands: Record<string, Command> = {
  demo,
  info,
  epsilon,
  calibrate,
  train,
  bench,
  federate,
  audit,
};

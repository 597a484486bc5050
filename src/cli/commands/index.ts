// Registry of sub-commands. Add a command by adding its module here.
import type { Command } from '../command.js';
import { demo } from './demo.js';
import { info } from './info.js';
import { epsilon } from './epsilon.js';
import { calibrate } from './calibrate.js';

export const commands: Record<string, Command> = {
  demo,
  info,
  epsilon,
  calibrate,
};

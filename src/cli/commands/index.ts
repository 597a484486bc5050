// Registry of sub-commands. Add a command by adding its module here.
import type { Command } from '../command.js';
import { demo } from './demo.js';

export const commands: Record<string, Command> = {
  demo,
};

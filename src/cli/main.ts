#!/usr/bin/env node
// The `dpfl` command: one sub-command per file in ./commands, each `run(argv) => exit code`.
import { commands } from './commands/index.js';

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: dpfl <command> [options]   (every command takes --json and --help)', '', ...lines].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`dpfl: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return (await command.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`dpfl: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);

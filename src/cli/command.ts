// The shape every sub-command has, and its argument parsing (option values are read in ./options.ts).
import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/**
 * Parses options with node's parseArgs, adding the --json and --help flags every command has.
 * Unknown options are an error that names them.
 */
export function parseCommandArgs<T extends OptionsConfig>(
  argv: string[],
  options: T,
): { values: { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string } & { json: boolean; help: boolean } } {
  const { values } = parseArgs({
    args: argv,
    options: { ...options, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: false,
  });
  return { values: values as never };
}

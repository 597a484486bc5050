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
): {
  values: { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string } & { json: boolean; help: boolean };
} {
  const { values } = parseArgs({
    args: argv,
    options: { ...options, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: false,
  });
  return { values: values as never };
}

type StringOptions<K extends string> = { [P in K]: { type: 'string' } };
type FlagOptions<K extends string> = { [P in K]: { type: 'boolean'; default: false } };

/** parseArgs declarations of value options: every value is read as a string (./options.ts checks it). */
export function stringOptions<K extends string>(...names: K[]): StringOptions<K> {
  return Object.fromEntries(names.map((n) => [n, { type: 'string' }])) as StringOptions<K>;
}

/** parseArgs declarations of boolean flags, false when absent. */
export function flagOptions<K extends string>(...names: K[]): FlagOptions<K> {
  return Object.fromEntries(names.map((n) => [n, { type: 'boolean', default: false }])) as FlagOptions<K>;
}

/** Reports a refused argument on stderr ("dpfl <command>: <message>") and gives the usage exit code, 2. */
export function usageError(command: string, error: unknown): number {
  console.error(`dpfl ${command}: ${error instanceof Error ? error.message : String(error)}`);
  return 2;
}

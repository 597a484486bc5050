// Progress on stderr for the long commands (train, audit, bench): on a terminal one line,
// rewritten in place; otherwise (CI logs, pipes) plain lines. stdout stays clean for --json.
// update() draws a bar with an ETA for work of known length (throttled to every 100 ms on a
// terminal, every few seconds otherwise); status() reports a step of work of unknown length.

/** A text bar: [#####.....] for a fraction in [0, 1]. */
export function bar(fraction: number, width = 20): string {
  const done = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #label: string;
  readonly #start = Date.now();
  #last = 0;
  #open = false;

  /** label prefixes status lines (e.g. "dpfl bench"). */
  constructor(options: { stream?: NodeJS.WriteStream; label?: string } = {}) {
    this.#stream = options.stream ?? process.stderr;
    this.#tty = this.#stream.isTTY === true;
    this.#label = options.label === undefined ? '' : `${options.label} `;
  }

  /**
   * Reports `done` of `total` units with a status text (a function is called only when a line is
   * written); throttled, except the last unit.
   */
  update(done: number, total: number, text: string | (() => string)): void {
    const now = Date.now();
    const last = done >= total;
    if (!last && now - this.#last < (this.#tty ? 100 : 2000)) return;
    this.#last = now;
    const elapsed = now - this.#start;
    const eta = done > 0 && !last ? `  ETA ${duration((elapsed / done) * (total - done))}` : `  ${duration(elapsed)}`;
    const pct = `${Math.floor((100 * done) / Math.max(total, 1))}%`.padStart(4);
    this.#write(`${bar(done / Math.max(total, 1))} ${pct} ${typeof text === 'function' ? text() : text}${eta}`);
  }

  /** One step of work of unknown length: the label, the seconds elapsed and the text, never throttled. */
  status(text: string): void {
    this.#write(`${this.#label}[${((Date.now() - this.#start) / 1000).toFixed(0)} s] ${text}`);
  }

  /** Ends the line on a terminal (before the report is printed). */
  finish(): void {
    if (this.#tty && this.#open) this.#stream.write('\n');
    this.#open = false;
  }

  #write(line: string): void {
    if (this.#tty) {
      this.#stream.write(`\r\x1b[2K${line.slice(0, (this.#stream.columns || 120) - 1)}`);
      this.#open = true;
    } else {
      this.#stream.write(`${line}\n`);
    }
  }
}

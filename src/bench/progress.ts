// One progress line on stderr while the bench runs: rewritten in place on a terminal, plain
// lines otherwise (CI logs, pipes), so stdout stays clean for --json.

export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #start = Date.now();

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
  }

  update(message: string): void {
    const line = `dpfl bench [${((Date.now() - this.#start) / 1000).toFixed(0)} s] ${message}`;
    if (this.#tty) {
      this.#stream.write(`\r\x1b[2K${line.slice(0, (this.#stream.columns || 120) - 1)}`);
    } else {
      this.#stream.write(`${line}\n`);
    }
  }

  /** Clears the line (terminal) before the results are printed. */
  done(): void {
    if (this.#tty) this.#stream.write('\r\x1b[2K');
  }
}

import { type ProgressEntry, type Progresser, renderProgress } from '@workerkit/core';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

type Output = { write(chunk: string): unknown; isTTY?: boolean };

/**
 * Shows start-up progress on stderr. On a terminal a spinner line tracks the current phase
 * and entries print above it; elsewhere entries are plain lines a log keeps.
 */
export class ProgressRenderer implements Progresser {
  readonly #output: Output;
  readonly #tty: boolean;
  #phase: string | undefined;
  #phaseStarted = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  #lineOpen = false;

  constructor(output: Output) {
    this.#output = output;
    this.#tty = output.isTTY === true;
  }

  /** A phase of the job ("starting instance"): a spinner on a TTY, one line otherwise. */
  phase(name: string): void {
    this.#clearSpinner();
    this.#phase = name;
    this.#phaseStarted = Date.now();
    if (!this.#tty) {
      this.#write(`${name}\n`);
      return;
    }
    this.#timer ??= setInterval(() => this.#drawSpinner(), 100);
    this.#timer.unref();
    this.#drawSpinner();
  }

  progress(entry: ProgressEntry): void {
    this.#clearSpinner();
    const text = renderProgress(entry).replaceAll('\r\n', '\n');
    this.#write(text);
    this.#lineOpen = !text.endsWith('\n') && text !== '';
    this.#drawSpinner();
  }

  /** Ends the spinner; call before the script's output starts. */
  done(): void {
    this.#clearSpinner();
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#phase = undefined;
    if (this.#lineOpen) this.#write('\n');
    this.#lineOpen = false;
  }

  note(message: string): void {
    this.#clearSpinner();
    if (this.#lineOpen) this.#write('\n');
    this.#lineOpen = false;
    this.#write(`${message}\n`);
    this.#drawSpinner();
  }

  #drawSpinner(): void {
    if (!this.#tty || this.#phase === undefined || this.#lineOpen) return;
    const seconds = ((Date.now() - this.#phaseStarted) / 1000).toFixed(1);
    this.#write(`\r\x1b[2K${SPINNER[this.#frame++ % SPINNER.length]} ${this.#phase} (${seconds}s)`);
  }

  #clearSpinner(): void {
    if (this.#tty && this.#phase !== undefined && !this.#lineOpen) this.#write('\r\x1b[2K');
  }

  #write(text: string): void {
    this.#output.write(text);
  }
}

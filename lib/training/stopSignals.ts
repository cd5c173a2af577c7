/**
 * Stopping a run cleanly on SIGINT (Ctrl-C) or SIGTERM: the first signal asks the Trainer to stop
 * after the current step and save; a second one gives up on the clean stop and lets the signal's
 * default action end the process. Nothing in the handler can throw: the notice is best-effort (it
 * goes to stdout, which may be a pipe whose reader Ctrl-C has just ended), the stop is not.
 * @module
 */

/** Why a run stopped before its last epoch. */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'stopAfterSteps';

/** Listens for SIGINT and SIGTERM while installed; `reason` is set by the first one. */
export class StopSignals {
  /** The stop asked for, or null. */
  reason: StopReason | null = null;
  readonly #onSignal = (signal: NodeJS.Signals) => {
    if (this.reason === 'SIGINT' || this.reason === 'SIGTERM') {
      // Second signal: give up on the clean stop.
      this.remove();
      process.kill(process.pid, signal);
      return;
    }
    this.reason = signal as 'SIGINT' | 'SIGTERM';
    try {
      this.notify(signal);
    } catch {
      // Telling the user is a courtesy (stdout may be a closed pipe); the stop and the save must happen.
    }
  };

  /** `notify` is told about the first signal (what it throws is ignored: the stop goes ahead regardless). */
  constructor(private readonly notify: (signal: NodeJS.Signals) => void) {}

  /** Starts listening. */
  install(): void {
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
  }

  /** Stops listening. */
  remove(): void {
    process.removeListener('SIGINT', this.#onSignal);
    process.removeListener('SIGTERM', this.#onSignal);
  }
}

/**
 * Where the time of a run goes, phase by phase, for FAAS_DEPLOY_TIMINGS=1 (the CLI prints it on
 * standard error; bench/plan.mjs reports it). Marks are cheap: one clock read each.
 */
export interface PhaseTimer {
  /** Ends the current phase under this name; the next one starts now. */
  mark(phase: string): void;
}

export class RecordingPhaseTimer implements PhaseTimer {
  private last = performance.now();
  /** The time from the process's start to the first mark's start, then each phase. */
  readonly phases: [string, number][] = [['startup', this.last]];

  mark(phase: string): void {
    const now = performance.now();
    this.phases.push([phase, now - this.last]);
    this.last = now;
  }

  /** `startup 48.2 ms, discovery 14.9 ms, …, total 112.3 ms` */
  format(): string {
    const parts = this.phases.map(([phase, ms]) => `${phase} ${ms.toFixed(1)} ms`);
    return `${parts.join(', ')}, total ${this.last.toFixed(1)} ms`;
  }
}

/** The timer of a run that does not record. */
export const NO_TIMER: PhaseTimer = { mark() {} };

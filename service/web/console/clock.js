// The server's clock as the console sees it: the lines' `at` are server time, and the browser's
// clock may be off (or, in tests, the server's is a manual one). The skew is learned from lines
// arriving live: a line is never older than its own `at`, so the smallest gap seen is the best.

// S-max-wait: a customer waiting this long is shown amber, then red.
export const WAIT_AMBER_S = 45;
export const WAIT_RED_S = 60;

export class ServerClock {
  constructor() {
    this.skew = null;
  }

  learn(at) {
    const skew = Date.now() - Date.parse(at);
    if (!Number.isNaN(skew) && (this.skew === null || skew < this.skew)) this.skew = skew;
  }

  now() {
    return Date.now() - (this.skew ?? 0);
  }

  secondsSince(iso) {
    return Math.max(0, Math.floor((this.now() - Date.parse(iso)) / 1000));
  }
}

export function minutesSeconds(s) {
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function waitLevel(s) {
  if (s >= WAIT_RED_S) return "red";
  return s >= WAIT_AMBER_S ? "amber" : "";
}

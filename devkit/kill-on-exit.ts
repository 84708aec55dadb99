// What the devkit's servers and the tests' fixtures started (Prometheus, Alertmanager, sshd, PostgreSQL), killed
// synchronously if the process exits without their stop(): a failed or aborted test, or a playground stopped
// half-way, must not leave servers behind on the machine.
const live = new Set<{ kill(): void }>();
let hookInstalled = false;

export function killOnExit(entry: { kill(): void }): void {
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const e of live) e.kill();
    });
  }
  live.add(entry);
}

/** Stopped the orderly way: nothing left to kill. */
export function forgetOnExit(entry: { kill(): void }): void {
  live.delete(entry);
}

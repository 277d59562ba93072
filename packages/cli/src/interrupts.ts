/**
 * Ctrl-C (or SIGTERM) aborts the job cleanly: the instance is stopped and deleted before the
 * process exits. A second Ctrl-C exits at once.
 */
export function handleInterrupts(
  controller: AbortController,
  notify: (message: string) => void,
  forceExit: (code: number) => void = (code) => process.exit(code),
): { interrupted: () => boolean; dispose: () => void } {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      notify(
        `received ${signal}: cancelling the job and deleting the instance (press Ctrl-C again to force)`,
      );
      controller.abort(new Error(`interrupted by ${signal}`));
      return;
    }
    notify(
      `received ${signal} again: exiting now; the instance may be left behind (workerkit gc removes it)`,
    );
    forceExit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    interrupted: () => count > 0,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

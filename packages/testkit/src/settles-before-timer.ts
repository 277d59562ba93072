/**
 * Whether `promise` settles before a timer of `ms`, started now, fires. For tests that tell a
 * short wait from a long one without measuring wall time: Node fires timers in order of their
 * expiry and runs the promise callbacks one timer causes before the next timer's, so a wait of
 * under `ms` that started before this call wins however late a loaded machine runs the timers,
 * and a wait of more than `ms` loses. A `promise` that rejects before the timer rejects this.
 */
export async function settlesBeforeTimer(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const fired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), fired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `workerkit run` exits with the script's own status when the script ran to its end. Otherwise
 * with one of these (from sysexits.h, so they rarely collide with a build's own codes).
 */
export const EXIT_CODES = Object.freeze({
  /** The command line was wrong. */
  usage: 64,
  /** The job cannot run as given (JobAbortError): mark it errored, do not requeue. */
  jobAborted: 65,
  /** Something unexpected failed inside workerkit. */
  internal: 70,
  /** The instance did not start, the upload failed, or the run did not complete: requeue. */
  incomplete: 75,
  /** A backend option or the backend choice is wrong. */
  config: 78,
  /** Cancelled with Ctrl-C (or SIGTERM); the instance was deleted. */
  interrupted: 130,
});

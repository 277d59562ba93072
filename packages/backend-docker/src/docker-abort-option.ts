/**
 * dockerode's `abortSignal` request option, present only when there is a signal: docker-modem
 * removes a set signal from the query string, but an `abortSignal: undefined` key would be sent
 * to the daemon as an empty `abortSignal=` parameter.
 */
export function abortOption(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

import { readdirSync, readFileSync } from 'node:fs';

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const [state = '', ppid = '0'] = text.slice(close + 2).split(' ');
  return { pid, ppid: Number(ppid), state, comm: text.slice(open + 1, close) };
}

/** False for a pid that is gone or a zombie (killed, but not reaped by a non-reaping init). */
export function isProcessAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Live (non-zombie) descendants of `root`, parents before children, read from /proc. */
export function descendantsOf(root: number): { pid: number; comm: string }[] {
  const children = new Map<number, ProcStat[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(stat);
    children.set(stat.ppid, siblings);
  }
  const result: { pid: number; comm: string }[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const child of children.get(parent) ?? []) {
      queue.push(child.pid);
      if (child.state !== 'Z' && child.state !== 'X') result.push({ pid: child.pid, comm: child.comm });
    }
  }
  return result;
}

/** Sends `signal` to each pid, ignoring the ones already gone. */
export function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * SIGKILLs an sshd and every process under it at once, as a machine dying does: the sshd
 * processes first, so no session can report an exit status before its connection dies.
 */
export function killSshdTree(pid: number): void {
  const tree = descendantsOf(pid);
  signalPids([pid, ...tree.filter((p) => p.comm === 'sshd').map((p) => p.pid)], 'SIGKILL');
  signalPids(
    tree.filter((p) => p.comm !== 'sshd').map((p) => p.pid),
    'SIGKILL',
  );
}

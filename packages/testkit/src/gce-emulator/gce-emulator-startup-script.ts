import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GceGuestHost } from './gce-emulator-types.js';

/** A running startup script: `stop` kills it and everything it left running (its process group). */
export interface StartupScriptRun {
  stop(): void;
}

const GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Runs the `startup-script` metadata item as the guest's metadata script runner does: as root,
 * at boot, inside the guest (its mount namespace: its own /etc and /tmp), every output line
 * logged to serial port 1 as `<time> <name> google_metadata_script_runner[<pid>]: startup-script: <line>`.
 *
 * The guest shares this machine's kernel, so power management is the emulator's: `poweroff`,
 * `shutdown`, `halt`, `reboot` and `at` come first on the script's PATH (by name only: a script
 * calling `/usr/sbin/poweroff` by path would reach this machine's). `poweroff` stops the instance
 * (TERMINATED); `at now + N minutes` runs its job after N emulated minutes. /dev/ttyS0 and
 * /dev/console are the guest's, and written nowhere.
 */
export function runStartupScript(
  spec: { name: string; dir: string; sshdPid: number; script: string },
  host: GceGuestHost,
): StartupScriptRun {
  const bin = join(spec.dir, 'guest-bin');
  const control = join(spec.dir, 'control');
  mkdirSync(bin, { recursive: true, mode: 0o755 });
  mkdirSync(control, { recursive: true, mode: 0o755 });
  writeShims(bin, control, host.secondMs);
  const scriptFile = join(spec.dir, 'startup-script');
  writeFileSync(scriptFile, spec.script, { mode: 0o700 });

  const log = (line: string) =>
    host.console(`${consoleTime()} ${spec.name} google_metadata_script_runner[${process.pid}]: ${line}\n`);
  let poweredOff = false;
  const watcher = watch(control, () => {
    if (!poweredOff && existsSync(join(control, 'poweroff'))) {
      poweredOff = true;
      host.console('reboot: Power down\n');
      host.poweroff();
    }
  });
  const prepare = [
    // The host's serial devices are not the guest's.
    'for d in /dev/ttyS0 /dev/console; do [ -e "$d" ] && mount --bind /dev/null "$d"; done',
    'shift',
    'exec "$@"',
  ].join('; ');
  log('Starting startup scripts.');
  const child = spawn(
    'nsenter',
    [
      `--target=${spec.sshdPid}`,
      '--mount',
      '--',
      'sh',
      '-c',
      prepare,
      'guest',
      bin,
      'env',
      '-i',
      `PATH=${bin}:${GUEST_PATH}`,
      'HOME=/root',
      'USER=root',
      'bash',
      scriptFile,
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) log(`startup-script: ${line}`);
    });
    stream.on('end', () => {
      if (pending !== '') log(`startup-script: ${pending}`);
    });
  }
  let exited = false;
  child.once('exit', (code, signal) => {
    exited = true;
    if (signal === 'SIGKILL') return;
    log(`startup-script exit status ${code ?? signal}`);
    log('Finished running startup scripts.');
  });
  child.once('error', (error) => log(`startup-script: could not run: ${error.message}`));
  return {
    stop() {
      watcher.close();
      // The whole group: the script and whatever it put in the background (an `at` job).
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          if (!exited) child.kill('SIGKILL');
        }
      }
    },
  };
}

function writeShims(bin: string, control: string, secondMs: number): void {
  const poweroff = `#!/bin/sh\n# emulated: stops the instance\ntouch '${control}/poweroff'\n`;
  for (const tool of ['poweroff', 'shutdown', 'halt'])
    writeFileSync(join(bin, tool), poweroff, { mode: 0o755 });
  writeFileSync(
    join(bin, 'reboot'),
    '#!/bin/sh\necho "reboot: not emulated (the emulator powers guests off only)" >&2\nexit 1\n',
    { mode: 0o755 },
  );
  writeFileSync(
    join(bin, 'at'),
    [
      '#!/bin/bash',
      '# emulated at(1): only "at now + N minutes|hours", on the emulator clock',
      'job="$(cat)"',
      'if [ "$1" != now ] || [ "$2" != + ]; then echo "at: only \'now + N minutes\' is emulated" >&2; exit 1; fi',
      'case "$4" in minute|minutes) s=$(( $3 * 60 ));; hour|hours) s=$(( $3 * 3600 ));; *) echo "at: bad unit $4" >&2; exit 1;; esac',
      `delay="$(awk -v s="$s" 'BEGIN { printf "%.3f", s * ${secondMs} / 1000 }')"`,
      '( sleep "$delay"; bash -c "$job" ) >/dev/null 2>&1 &',
      'echo "warning: commands will be executed using /bin/sh" >&2',
      'echo "job 1 at $(date -d "+$s seconds" 2>/dev/null || date)" >&2',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
}

/** The syslog-style time the guest's logs carry: `Dec  1 13:05:09`. */
function consoleTime(): string {
  const now = new Date();
  const month = now.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(now.getUTCDate()).padStart(2, ' ');
  return `${month} ${day} ${now.toISOString().slice(11, 19)}`;
}

/** The pid sshd writes to its pid file, which it does a moment after it starts listening. */
export async function readSshdPid(dir: string, timeoutMs = 5_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(join(dir, 'sshd.pid'), 'utf8').trim();
    } catch {
      // Not written yet.
    }
    const pid = Number(text);
    if (text !== '' && Number.isInteger(pid) && pid > 0) return pid;
    if (Date.now() > deadline) throw new Error(`gce emulator guest: sshd wrote no pid file in ${dir}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

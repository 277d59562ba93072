import { RecordingSink } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import { gceTestEnv } from './gce-test-env.js';

const job = { language: 'minimal', jobId: '91', repository: 'workerkit/guest', hardTimeoutMs: 60_000 };

describe('gce on the emulator: the guest', { timeout: 60_000 }, () => {
  it('runs jobs on an image without the guest agent: the host key comes from the serial console, verified', async () => {
    await using env = await gceTestEnv({ config: { IMAGE_DEFAULT: 'agentless-.+' } });
    env.emulator.addImage({ name: 'agentless-1', guestAgent: false, users: ['travis'] });
    for (const round of [1, 2]) {
      env.emulator.calls.reset();
      const instance = await env.provider.start(job);
      await instance.uploadScript(`echo round ${round} as $(id -u)\n`);
      const sink = new RecordingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text).toBe(`round ${round} as 0\n`);
      await instance.stop();
      const calls = env.emulator.calls.snapshot();
      expect(calls['instances.getSerialPortOutput']).toBeGreaterThan(0);
      // From the second job on the image's host-key source is known: no guest-attributes probes.
      if (round === 2) expect(calls['instances.getGuestAttributes']).toBeUndefined();
    }
    expect(env.emulator.instances()).toEqual([]);
  });

  it('runs the startup script as root at boot: AUTO_IMPLODE powers the VM off at hard timeout + 10 min', async () => {
    // One emulated second lasts 1 ms: `at now + 11 minutes` fires after 0.66 s.
    await using env = await gceTestEnv({
      emulator: { timings: { runDurationSecondMs: 1 } },
      config: { MAX_RUN_DURATION: 'false' },
    });
    const instance = await env.provider.start(job);
    const [emulated] = env.emulator.instances();
    expect(emulated!.metadata['startup-script']).toContain('echo poweroff | at now + 11 minutes');
    for (let i = 0; i < 500 && env.emulator.instances()[0]?.status !== 'TERMINATED'; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(env.emulator.instances()[0]?.status).toBe('TERMINATED');
    expect(env.emulator.instances()[0]?.serialOutput).toContain('reboot: Power down');
    await instance.stop();
    expect(env.emulator.instances()).toEqual([]);
  });

  it('asks for a PTY only when PTY=true', async () => {
    for (const [pty, expected] of [
      ['false', 'no tty\n'],
      ['true', 'tty\r\n'],
    ] as const) {
      await using env = await gceTestEnv({ config: { PTY: pty } });
      await using instance = await env.provider.start(job);
      await instance.uploadScript('if [ -t 1 ]; then echo tty; else echo no tty; fi\n');
      const sink = new RecordingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text).toBe(expected);
    }
  });
});

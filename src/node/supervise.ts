/**
 * Node-only: Ctrl-C that reaches a busy trainer.
 *
 * A training step on the TF.js CPU backend is one synchronous stretch of seconds; while it runs, Node cannot run
 * a signal handler. `tsx` (what `npm run train` starts) relays Ctrl-C to its child and SIGKILLs it when the child
 * has not acknowledged within ~60 ms — so a trainer running in the process tsx starts would die without its
 * checkpoint. Hence the trainer runs in a child process of its own process group (the terminal's Ctrl-C does not
 * reach it) under this supervisor, whose event loop is always free: on the first Ctrl-C (or SIGTERM) it asks
 * the trainer over IPC to stop after the current step and write its archive, and waits for it; a second Ctrl-C
 * (more than DUPLICATE_SIGNAL_MS after the first) kills the trainer at once. If the supervisor disappears, the
 * trainer sees the IPC channel close and stops the same way.
 */
import { fork, type ChildProcess } from 'node:child_process';

export const CHILD_ENV = 'REDO_SUPERVISED_CHILD';

export type StopMessage = { type: 'stop'; reason: string };

/**
 * One Ctrl-C can reach the supervisor several times within milliseconds (from the terminal, relayed by npm,
 * relayed again by tsx): a signal this soon after the first counts as the same press, not as "again".
 */
export const DUPLICATE_SIGNAL_MS = 1500;

/** True inside the supervised child. */
export function isSupervisedChild(): boolean {
  return process.env[CHILD_ENV] === '1' && typeof process.send === 'function';
}

/** Node flags that load TypeScript (tsx's loader), without tsx's signal-relay preflight. */
export function loaderArgs(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    const next = execArgv[i + 1];
    if ((a === '--require' || a === '-r') && next && /preflight\.c?js$/.test(next)) {
      i++;
      continue;
    }
    if (a.startsWith('--require=') && /preflight\.c?js$/.test(a)) continue;
    out.push(a);
  }
  return out;
}

/**
 * Runs `modulePath` with `args` as a supervised child; resolves with the exit code to use.
 * `log` is for the supervisor's own messages.
 */
export function supervise(
  modulePath: string,
  args: string[],
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
): Promise<number> {
  return new Promise((resolve) => {
    const child: ChildProcess = fork(modulePath, args, {
      execArgv: loaderArgs(process.execArgv),
      env: { ...process.env, [CHILD_ENV]: '1' },
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    let firstAt: number | null = null;
    const onSignal = (signal: NodeJS.Signals) => {
      const now = performance.now();
      if (firstAt === null) {
        firstAt = now;
        const msg: StopMessage = { type: 'stop', reason: signal === 'SIGINT' ? 'Ctrl-C' : signal };
        if (child.connected) child.send(msg);
      } else if (now - firstAt < DUPLICATE_SIGNAL_MS) {
        // The same key press arriving again: the terminal signals the whole process group, and npm and tsx
        // each relay it to their child too (tsx re-sends it when the child is slow to acknowledge).
        return;
      } else {
        log(`${signal} again: killing the trainer without a checkpoint`);
        child.kill('SIGKILL');
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const killChild = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    process.on('exit', killChild);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', killChild);
      resolve(code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15) : 1));
    });
    child.on('error', (e) => {
      log(`could not start the trainer: ${e.message}`);
      resolve(1);
    });
  });
}

/**
 * In the trainer: calls `onStop(reason)` on a stop request — the supervisor's IPC message, its disappearance, or
 * (when run directly, unsupervised) SIGINT / SIGTERM. Returns a function that removes the listeners.
 */
export function onStopRequest(onStop: (reason: string, again: boolean) => void): () => void {
  let count = 0;
  const fire = (reason: string) => onStop(reason, ++count > 1);
  const onMessage = (m: unknown) => {
    if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'stop') fire(String((m as StopMessage).reason));
  };
  const onDisconnect = () => fire('the supervisor went away');
  const onSigint = () => fire('Ctrl-C');
  const onSigterm = () => fire('SIGTERM');
  process.on('message', onMessage);
  process.on('disconnect', onDisconnect);
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  return () => {
    process.off('message', onMessage);
    process.off('disconnect', onDisconnect);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  };
}

import { vi } from 'vitest';
import { trainMain } from '../../src/node/trainCli';

/** Runs the headless trainer's main with its terminal output captured (stdout lines). */
export async function trainCaptured(argv: string[]): Promise<{ code: number; lines: string[] }> {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    const code = await trainMain(argv);
    return { code, lines: text.split('\n').filter(Boolean) };
  } finally {
    spy.mockRestore();
  }
}

/**
 * The studio's storage line (src/ui/storage.ts): persistence is asked for once, after a dataset is stored, and
 * only when storage is not persistent already; usage and what is left are shown; a browser without a
 * StorageManager, or one whose calls fail, never breaks the page.
 */
import { describe, expect, it } from 'vitest';
import { describeStorage, refreshStorage, UNKNOWN_STORAGE, type StorageManagerLike } from '../src/ui/storage';

/** A StorageManager that grants (or not) persistence and counts the requests. */
function fake(grant: boolean, opts: { already?: boolean; failEstimate?: boolean } = {}) {
  let persisted = opts.already ?? false;
  const calls = { persist: 0 };
  const sm: StorageManagerLike = {
    estimate: () => {
      if (opts.failEstimate) return Promise.reject(new Error('no'));
      return Promise.resolve({ usage: 12.5 * 1024 ** 2, quota: 2 * 1024 ** 3 });
    },
    persisted: () => Promise.resolve(persisted),
    persist: () => {
      calls.persist++;
      persisted = grant;
      return Promise.resolve(grant);
    },
  };
  return { sm, calls };
}

describe('storage', () => {
  it('asks for persistence once, when a dataset is stored, and says whether the browser granted it', async () => {
    const { sm, calls } = fake(true);
    const listed = await refreshStorage(sm, UNKNOWN_STORAGE, false); // the dataset list arrives: no request yet
    expect(calls.persist).toBe(0);
    expect(describeStorage(listed)).toBe(
      '12.5 MiB used, 1.99 GiB available. Not persistent yet: the studio asks the browser when you store a dataset.',
    );
    const stored = await refreshStorage(sm, listed, true);
    expect(calls.persist).toBe(1);
    expect(stored).toEqual({ supported: true, usage: 12.5 * 1024 ** 2, quota: 2 * 1024 ** 3, persisted: true, asked: true });
    expect(describeStorage(stored)).toBe(
      '12.5 MiB used, 1.99 GiB available. Persistent storage granted: the browser will not clear your datasets and checkpoints to free space.',
    );
    await refreshStorage(sm, stored, true);
    expect(calls.persist).toBe(1);
  });

  it('a declined request is said once and not repeated; persistence granted earlier is not asked again', async () => {
    const declined = fake(false);
    const v = await refreshStorage(declined.sm, UNKNOWN_STORAGE, true);
    expect(v.persisted).toBe(false);
    expect(describeStorage(v)).toMatch(/^12\.5 MiB used, 1\.99 GiB available\. Persistent storage not granted: the browser may clear/);
    await refreshStorage(declined.sm, v, true);
    expect(declined.calls.persist).toBe(1);
    const already = fake(true, { already: true });
    expect((await refreshStorage(already.sm, UNKNOWN_STORAGE, true)).persisted).toBe(true);
    expect(already.calls.persist).toBe(0);
  });

  it('no StorageManager, or failing calls: said plainly, nothing thrown', async () => {
    const none = await refreshStorage(undefined, UNKNOWN_STORAGE, true);
    expect(describeStorage(none)).toBe('This browser does not report its storage; export the runs you want to keep.');
    const failing = await refreshStorage(fake(true, { failEstimate: true }).sm, UNKNOWN_STORAGE, true);
    expect(describeStorage(failing)).toBe(
      'Persistent storage granted: the browser will not clear your datasets and checkpoints to free space.',
    );
  });
});

/**
 * Waits for a condition, not for a time: polls `ok` every `everyMs` until it holds. The
 * deadline only turns a condition that never comes into a failure that names it (well inside the
 * test's own timeout); it is no assertion about speed.
 */
export async function until(ok: () => boolean | Promise<boolean>, what: string, ms = 20_000, everyMs = 5): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await ok()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

import { vi } from 'vitest';
import { SecretStore, type SafeStorageLike } from '../../main/desktop/secret-store.ts';

/** Electron's safeStorage, faked: "encryption" is a reversible marker so tests can see it happened. */
export function fakeSafeStorage(backend = 'gnome_libsecret', available = true): SafeStorageLike & { backend: string; available: boolean } {
  return {
    backend,
    available,
    isEncryptionAvailable() {
      return this.available;
    },
    getSelectedStorageBackend() {
      return this.backend;
    },
    encryptString: (plain) => Buffer.from(`enc:${plain}`),
    decryptString: (buf) => {
      const s = buf.toString();
      if (!s.startsWith('enc:')) throw new Error('bad blob');
      return s.slice(4);
    },
  };
}

/** The secrets file in memory: `save` is a spy, `peek()` shows what is kept (base64 of the encrypted values). */
export function memoryBacking(initial: Record<string, string> = {}) {
  let all = { ...initial };
  return { load: () => ({ ...all }), save: vi.fn((next: Record<string, string>) => void (all = { ...next })), peek: () => all };
}

/** The desktop's SecretStore on the fake safeStorage, kept in memory (Windows: no keyring question). */
export function memorySecretStore(platform: NodeJS.Platform = 'win32'): SecretStore {
  return new SecretStore({ safeStorage: fakeSafeStorage(), platform, backing: memoryBacking() });
}

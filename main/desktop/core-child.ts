/**
 * Entry of the core's own process (out/main/core-child.js in the desktop bundle): Electron's
 * `utilityProcess.fork` talks to it through `process.parentPort`, a plain Node
 * `child_process.fork` (tests, benchmarks) through the IPC channel. See core-host.ts.
 */
import { hostCore, type ParentPortLike } from './core-host.ts';

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
}

function parentPort(): ParentPortLike | null {
  // Electron's types declare `process.parentPort` everywhere; it exists only in a utility process.
  const electron: ElectronParentPort | undefined = 'parentPort' in process ? process.parentPort : undefined;
  if (electron) {
    return {
      postMessage: (message) => electron.postMessage(message),
      onMessage: (listener) => void electron.on('message', (event) => listener(event.data)),
    };
  }
  if (typeof process.send !== 'function') return null;
  return {
    postMessage: (message) => {
      // With a callback, a channel closed meanwhile is an ignored error, not an 'error' event that would crash this process.
      if (process.connected) process.send!(message, undefined, undefined, () => {});
    },
    onMessage: (listener) => void process.on('message', listener),
    onDisconnect: (listener) => void process.once('disconnect', listener),
  };
}

const port = parentPort();
if (!port) {
  process.stderr.write('core-child: запускается только приложением Спутника (нет канала к родительскому процессу)\n');
  process.exit(2);
}
hostCore(port, { exit: (code) => process.exit(code) });

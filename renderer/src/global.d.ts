import type { SputnikBridge } from '../../preload/bridge.ts';

declare global {
  interface Window {
    /** Present only in the desktop app (set by preload); absent in a browser. */
    sputnik?: SputnikBridge;
  }
}

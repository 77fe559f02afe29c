import { crc32, deflateSync } from 'node:zlib';
import type { TrayState } from './status.ts';

/**
 * Tray icons drawn in code (a coloured dot per state) so the package carries no binary assets
 * and the three states (green, yellow, red) can never drift out of sync with TrayState.
 */
const COLORS: Readonly<Record<TrayState, readonly [number, number, number]>> = {
  ok: [0x2e, 0x9e, 0x4f],
  problem: [0xd3, 0x3a, 0x2c],
  warning: [0xf2, 0xb9, 0x0f],
};

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** Encodes straight RGBA pixels as a PNG (no filtering; the images are tiny). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An anti-aliased filled dot with a darker rim, `size` pixels square. */
export function trayIconPng(state: TrayState, size: number): Buffer {
  const [r, g, b] = COLORS[state];
  const pixels = new Uint8Array(size * size * 4);
  const centre = size / 2;
  const radius = size / 2 - size / 16;
  const rim = Math.max(1, size / 16);
  const samples = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let inside = 0;
      let onRim = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const d = Math.hypot(x + (sx + 0.5) / samples - centre, y + (sy + 0.5) / samples - centre);
          if (d <= radius) {
            inside++;
            if (d > radius - rim) onRim++;
          }
        }
      }
      const i = (y * size + x) * 4;
      const shade = inside === 0 ? 1 : 1 - 0.35 * (onRim / inside);
      pixels[i] = Math.round(r * shade);
      pixels[i + 1] = Math.round(g * shade);
      pixels[i + 2] = Math.round(b * shade);
      pixels[i + 3] = Math.round((255 * inside) / (samples * samples));
    }
  }
  return encodePng(size, size, pixels);
}

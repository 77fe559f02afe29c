import { z } from 'zod';

/**
 * The messages between the shell and the core's process (core-process.ts ↔ core-host.ts), checked
 * where they arrive: a message of another shape is ignored, as an unknown `type` always was. Only
 * zod here, so the core's process loads nothing of the shell's side.
 *
 * Where the receiver always tolerated a missing or odd field (`stop` without a grace, `failed`
 * without a text, a `secrets-delete` without a key), the field falls back to undefined instead of
 * dropping the message: the core still stops, a failed start is still ended, a waiting save still
 * gets its answer.
 */

const optionalText = z.string().optional().catch(undefined);

const secretAvailability = z.union([z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), reason: z.string() })]);

export const shellMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    options: z.object({ configFile: z.string(), dataDir: z.string(), rendererDir: z.string() }),
    secrets: z.object({ availability: secretAvailability, keys: z.array(z.string()), values: z.array(z.tuple([z.string(), z.string()])) }),
  }),
  z.object({ type: z.literal('stop'), graceMs: z.number().optional().catch(undefined) }),
  z.object({ type: z.literal('secrets-done'), id: z.number(), refused: z.string().optional(), error: z.string().optional() }),
]);

export const coreMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    ready: z.object({ uiUrl: z.string(), uiLoginUrl: z.string(), uiToken: z.string(), listenerUrl: z.string(), sandbox: z.boolean() }),
  }),
  z.object({ type: z.literal('failed'), message: optionalText }),
  // A value that is not text is left out of the save, as before.
  z.object({ type: z.literal('secrets-set'), id: z.number(), values: z.record(z.string(), z.unknown()).catch({}) }),
  z.object({ type: z.literal('secrets-delete'), id: z.number(), key: optionalText }),
  z.object({ type: z.literal('notify'), text: z.string() }),
]);

/** A message from the core's process, as checked (core-process.ts). */
export type CoreMessageIn = z.output<typeof coreMessageSchema>;
/** A message from the shell, as checked (core-host.ts). */
export type ShellMessageIn = z.output<typeof shellMessageSchema>;

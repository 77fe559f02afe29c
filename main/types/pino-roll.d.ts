declare module 'pino-roll' {
  import type { DestinationStream } from 'pino';
  interface Options {
    file: string | (() => string);
    size?: number | string;
    frequency?: number | string;
    extension?: string;
    mkdir?: boolean;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    symlink?: boolean;
  }
  export default function build(opts: Options): Promise<DestinationStream & { end(): void; flushSync?(): void }>;
}

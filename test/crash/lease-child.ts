/**
 * A worker that dies holding leases: `node test/crash/lease-child.ts <dataDir>` claims every
 * queued 'probe' job, completes the first half, prints {"held": [ids], "done": [ids]} and then
 * keeps renewing its leases (writes in progress) until it is SIGKILLed.
 */
import { openDatabase } from '../../main/store/db.ts';
import { Outbox } from '../../main/store/outbox.ts';

const db = openDatabase(process.argv[2]!);
const outbox = new Outbox(db);
const owner = `crash-child-${process.pid}`;
const jobs = outbox.claim('probe', 1000, owner);
const done = jobs.slice(0, Math.floor(jobs.length / 2));
const held = jobs.slice(done.length);
for (const j of done) outbox.complete(j, owner);
process.stdout.write(`${JSON.stringify({ held: held.map((j) => j.id), done: done.map((j) => j.id) })}\n`);
setInterval(() => {
  for (const j of held) outbox.renew(j.id, owner);
}, 2);

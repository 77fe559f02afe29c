import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Store } from '../store/index.ts';
import { SEARCH_TEXT } from '../store/search-text.ts';
import { writeNow } from '../store/write-now.ts';

type JournalText = Parameters<typeof SEARCH_TEXT.journal>[0];

/** Journal rows per block of the short-search filters (ids `block * 256` … `block * 256 + 255`). */
export const BLOCK_ROWS = 256;
/**
 * A block's filter is 16 parts of 4,096 bits (512 bytes, a row of journal_grams each): a key's
 * bits are all in one part, so a search reads 512 bytes of each block, not the whole 8 KB. A block
 * of the benchmark's rows sets the bits of ~2,100 hashes (~700 distinct characters and pairs, each
 * also for its system and its direction): 0.4 % false candidates; 5,000 would make 2 %, 10,000 7 %.
 */
const PARTS = 16;
const PART_BITS = 4096;
const PART_BYTES = PART_BITS / 8;
const ALL_PARTS = Array.from({ length: PARTS }, (_, i) => i).join(', ');
/** Backfilled rows read per query (their text is already in the index). */
const TEXTS_BATCH = 256;
/** Rows to index read per query. */
const PENDING_BATCH = 64;

/**
 * The index's own copy of each row's search text: FTS5's content table (`id` = the row's id, `c0`
 * = its `search`). Read directly: a range or a row of it through journal_fts costs 3–20× more
 * (FTS5 scans its index for a rowid range).
 */
export const INDEXED_TEXT = 'journal_fts_content';

// Statements with constant parts, built once (store.sql keeps statements by their text).
// Each row with its event's tags (written with it, never changed).
const PENDING = `SELECT j.id, j.url, j.entity, j.req_body, j.res_body, j.error, e.system, e.direction
  FROM journal j LEFT JOIN journal_events e ON e.id = j.event_id WHERE j.id > ? ORDER BY j.id LIMIT ${PENDING_BATCH}`;
const TEXTS = `SELECT f.id, f.c0 AS search, e.system, e.direction
  FROM ${INDEXED_TEXT} f LEFT JOIN journal j ON j.id = f.id LEFT JOIN journal_events e ON e.id = j.event_id WHERE f.id > ? AND f.id <= ? ORDER BY f.id LIMIT ${TEXTS_BATCH}`;
const PARTS_OF_BLOCK = `SELECT part, bits FROM journal_grams WHERE part IN (${ALL_PARTS}) AND block = ?`;
// Blocks all of whose rows are gone (all of them once the journal is empty).
const DROP_BLOCKS = `DELETE FROM journal_grams WHERE part IN (${ALL_PARTS}) AND block < COALESCE((SELECT MIN(id) FROM journal) / ${BLOCK_ROWS}, 9223372036854775807)`;

/** Searches shorter than a trigram: a row holds them only as characters or pairs of characters. */
export const isShortKey = (key: string): boolean => [...key].length < 3;

const blockOf = (id: number) => Math.floor(id / BLOCK_ROWS);

/** Stands for «no second character»: above every code point. */
const SINGLE = 0x110000;

/** murmur3's 32-bit finaliser. */
function mix(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A character (b = SINGLE) or a pair of characters hashed to 32 bits. Stored in every block's
 * filter (as is tagSalt): changing either needs a migration that empties journal_grams and its mark.
 */
function gramHash(a: number, b: number): number {
  return mix((Math.imul(a, 0x9e3779b1) + b) | 0);
}

/**
 * FNV-1a of a tag of a row's event (`system:passteam`, `direction:in`: what Journal.events filters
 * by, never changed once written): the same gram of the rows with that tag hashes apart.
 */
function tagSalt(tag: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A row's tags: its event's system and direction (none without an event: no search lists such a row). */
export const eventTags = (e: { system?: string | null; direction?: string | null }): string[] => [
  ...(e.system ? [`system:${e.system}`] : []),
  ...(e.direction ? [`direction:${e.direction}`] : []),
];

const tagged = (h: number, salt: number) => mix((h ^ salt) + 0x632be5ab);

/** Where a hash's two bits are (a blocked Bloom filter with k = 2): its part, and in that part. */
const partOf = (h: number) => h >>> 28;
const bitA = (h: number) => h & (PART_BITS - 1);
const bitB = (h: number) => (h >>> 12) & (PART_BITS - 1);

/** A block's filter while the indexing fills it: its parts side by side, and which of them changed. */
interface BlockFilter {
  bits: Buffer;
  dirty: number;
}

/**
 * The block the indexing is in: its filter holds the rows up to `upTo`, written up to `base` (the
 * grams mark). Written when the block is complete or the indexing idle, not at every step: its 16
 * parts are 16 pages of the WAL.
 */
interface Open {
  block: number;
  f: BlockFilter;
  upTo: number;
  base: number;
}

function set(f: BlockFilter, h: number): void {
  const part = partOf(h);
  const a = part * PART_BITS + bitA(h);
  const b = part * PART_BITS + bitB(h);
  const had = f.bits[a >> 3] & (1 << (a & 7)) && f.bits[b >> 3] & (1 << (b & 7));
  if (had) return;
  f.bits[a >> 3] |= 1 << (a & 7);
  f.bits[b >> 3] |= 1 << (b & 7);
  f.dirty |= 1 << part;
}

/**
 * Every character and pair of adjacent characters of a search text into a block's filter, by code
 * point, once as they are and once for each of the row's tags (`salts`). Spaces and the field
 * separator are left out: a 1–2 character search key (trimmed, see searchKey) never holds one.
 */
export function addGrams(f: BlockFilter, text: string, salts: readonly number[]): void {
  nextRow();
  let prev = -1;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c === 0x20 || c === 0x0a) {
      prev = -1;
      continue;
    }
    add(f, gramHash(c, SINGLE), salts);
    if (prev >= 0) add(f, gramHash(prev, c), salts);
    prev = c;
  }
}

/** A gram's hash and its tagged hashes, once per row (a row of 600 characters has ~200 distinct grams). */
function add(f: BlockFilter, h: number, salts: readonly number[]): void {
  if (!firstInRow(h)) return;
  set(f, h);
  for (let i = 0; i < salts.length; i++) set(f, tagged(h, salts[i]));
}

// The hashes a row has had: open addressing, a generation per row instead of clearing.
const SEEN = 4096;
const seenHash = new Int32Array(SEEN);
const seenRow = new Uint32Array(SEEN);
let row = 0;
let seenCount = 0;

function nextRow(): void {
  row = (row + 1) >>> 0;
  if (row === 0) {
    seenRow.fill(0);
    row = 1;
  }
  seenCount = 0;
}

/** False when this row had `h` already (the same hash sets the same bits). Past half full, every hash is new. */
function firstInRow(h: number): boolean {
  if (seenCount >= SEEN / 2) return true;
  const k = h | 0;
  for (let i = h & (SEEN - 1); ; i = (i + 1) & (SEEN - 1)) {
    if (seenRow[i] !== row) {
      seenRow[i] = row;
      seenHash[i] = k;
      seenCount++;
      return true;
    }
    if (seenHash[i] === k) return false;
  }
}

/** A key's code points, one per character a string iterates to (a lone surrogate stands for itself, as in addGrams). */
function codePoints(key: string): number[] {
  const out: number[] = [];
  for (const c of key) {
    const cp = c.codePointAt(0);
    if (cp === undefined) throw new Error('a string iterated to an empty character');
    out.push(cp);
  }
  return out;
}

/** How many of a longer key's pairs a search with tags looks up (each a condition the block must meet). */
const PROBES = 4;

/**
 * The hashes a block's filter must all hold for a row of it to contain `key`: the key itself for
 * 1–2 characters; for a longer one, up to PROBES of its pairs (spread over it; its characters when
 * it has no pair without a space). With tags, those hashes for each tag.
 */
function probeHashes(key: string, tags: readonly string[]): number[] {
  const cps = codePoints(key);
  let hashes: number[];
  if (cps.length <= 2) hashes = [gramHash(cps[0], cps[1] ?? SINGLE)];
  else {
    const pairs: number[] = [];
    for (let i = 1; i < cps.length; i++) if (cps[i - 1] !== 0x20 && cps[i] !== 0x20) pairs.push(gramHash(cps[i - 1], cps[i]));
    const all = pairs.length ? pairs : cps.filter((c) => c !== 0x20).map((c) => gramHash(c, SINGLE));
    const unique = [...new Set(all)];
    hashes = unique.length <= PROBES ? unique : Array.from({ length: PROBES }, (_, i) => unique[Math.round((i * (unique.length - 1)) / (PROBES - 1))]);
  }
  if (!tags.length) return hashes;
  return tags.flatMap((tag) => hashes.map((h) => tagged(h, tagSalt(tag))));
}

/**
 * The journal's search: a trigram index (journal_fts, migration 8) over each row's search text
 * (SEARCH_TEXT.journal), so a search of 100,000 rows answers in about a millisecond where a scan
 * takes ~150 ms (bench journal-search). The text and its trigrams cost 150–500 µs a row to make,
 * more than a whole card save (~250 µs), so rows are written without them and indexed here, in
 * short slices while the process is idle ('journal_indexed' in meta: every row up to that id is
 * indexed); a search matches the newer rows itself.
 *
 * Keys of 1–2 characters have no trigram. For them each block of 256 rows keeps a Bloom filter of
 * the characters and pairs of characters in its rows' text (journal_grams, migration 11: 8 KB a
 * block, ~3 MB for 100,000 rows; ~15 µs a row to fill): a short search reads only the blocks that
 * may hold the key. The filter also holds them per the row's event's system and direction, so a
 * search with those chosen reads only the blocks where such rows may hold the key, for any key
 * (the trigrams of a common word would bring up every other system's row to be passed over).
 * 'journal_grams_indexed' marks the rows in a written filter, never above 'journal_indexed': the
 * rows indexed before migration 11 get theirs here first, from the text the index keeps.
 */
export class JournalSearchIndex {
  readonly #store: Store;
  #timer: NodeJS.Timeout | undefined;
  #elu: EventLoopUtilization | undefined;
  #busy = false;
  /** Milliseconds spent indexing since the last tick. */
  #spent = 0;
  #open: Open | undefined;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Every journal row up to this id is in the index; the rest are not yet. */
  indexed(): number {
    return this.#store.sql.number(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_indexed'`);
  }

  /** Every journal row up to this id is in its block's filter (≤ indexed()). */
  gramsIndexed(): number {
    return this.#store.sql.number(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_grams_indexed'`);
  }

  /**
   * Indexes the oldest unindexed rows for about `sliceMs` (at least one row); how many it indexed.
   * Rows indexed before the short-search filters existed get into them first.
   */
  step(sliceMs: number): number {
    const deadline = performance.now() + sliceMs;
    try {
      // No fsync of its own, like the journal: a crash loses index, filters and marks together.
      return writeNow(
        this.#store,
        () => this.#step(deadline),
        () => (this.#open = undefined),
      );
    } catch (e) {
      this.#open = undefined;
      throw e;
    }
  }

  #step(deadline: number): number {
    const sql = this.#store.sql;
    const wasIndexed = this.indexed();
    const wasGrams = this.gramsIndexed();
    // The block being filled, kept from the last step if nothing changed the marks meanwhile.
    let open = this.#open?.base === wasGrams ? this.#open : undefined;
    let indexed = wasIndexed;
    let grams = wasGrams;
    const write = (o: Open) => {
      for (let part = 0; part < PARTS; part++) if (o.f.dirty & (1 << part)) sql.run(`INSERT INTO journal_grams (part, block, bits) VALUES (?, ?, ?) ON CONFLICT (part, block) DO UPDATE SET bits = excluded.bits`, part, o.block, o.f.bits.subarray(part * PART_BYTES, (part + 1) * PART_BYTES));
      o.f.dirty = 0;
      o.base = grams = o.upTo;
    };
    const filterOf = (id: number) => {
      const block = blockOf(id);
      if (open?.block !== block) {
        if (open) write(open); // a block is complete: its rows are in the filters from now on
        const f: BlockFilter = { bits: Buffer.alloc(PARTS * PART_BYTES), dirty: 0 };
        for (const p of sql.all<{ part: number; bits: Buffer }>(PARTS_OF_BLOCK, block)) f.bits.set(p.bits.subarray(0, PART_BYTES), p.part * PART_BYTES);
        open = { block, f, upTo: grams, base: grams };
      }
      open.upTo = id;
      return open.f;
    };
    const known = new Map<string, number>();
    const saltsOf = (e: { system: string | null; direction: string | null }) =>
      eventTags(e).map((tag) => {
        let salt = known.get(tag);
        if (salt === undefined) known.set(tag, (salt = tagSalt(tag)));
        return salt;
      });
    let n = 0;
    let idle = true;
    // The rows indexed before migration 11 (or before a restart lost an open block): their text is in the index already.
    for (let from = open?.upTo ?? grams; from < indexed && idle; ) {
      const rows = sql.all<{ id: number; search: string; system: string | null; direction: string | null }>(TEXTS, from, indexed);
      for (const r of rows) {
        addGrams(filterOf(r.id), r.search, saltsOf(r));
        from = r.id;
        n++;
        if (performance.now() >= deadline) {
          idle = false;
          break;
        }
      }
      if (idle && rows.length < TEXTS_BATCH) {
        // None left up to `indexed` (rows can be pruned in between).
        if (open) open.upTo = indexed;
        else grams = indexed;
        break;
      }
    }
    if (idle) {
      const rows = sql.all<JournalText & { id: number; system: string | null; direction: string | null }>(PENDING, indexed);
      for (const [i, r] of rows.entries()) {
        const text = SEARCH_TEXT.journal(r);
        sql.run(`INSERT INTO journal_fts (rowid, search) VALUES (?, ?)`, r.id, text);
        addGrams(filterOf(r.id), text, saltsOf(r));
        indexed = r.id;
        n++;
        if (performance.now() >= deadline && i < rows.length - 1) {
          idle = false;
          break;
        }
      }
      if (rows.length === PENDING_BATCH) idle = false;
    }
    // Idle: the open block is written too. Busy: it stays here until it is complete (one write per block).
    if (idle && open && open.f.dirty) write(open);
    else if (idle && open) open.base = grams = open.upTo;
    if (indexed !== wasIndexed) sql.run(`UPDATE meta SET value = ? WHERE key = 'journal_indexed'`, String(indexed));
    if (grams !== wasGrams) sql.run(`UPDATE meta SET value = ? WHERE key = 'journal_grams_indexed'`, String(grams));
    this.#open = open;
    return n;
  }

  /**
   * Id ranges (first, last), newest first, up to `last`, whose rows may contain `key` (of 1–2
   * characters; or longer, with tags) and, with tags (eventTags), may be of an event with them:
   * every block whose filter holds all of probeHashes (a false candidate now and then, never a
   * missed one). The caller matches each range's rows against the key and its filters.
   */
  *candidates(key: string, last: number, tags: readonly string[] = []): Generator<[number, number]> {
    const top = blockOf(last);
    const has = (h: number) => {
      const a = bitA(h);
      const b = bitB(h);
      // Only the two bytes a key's bits are in, newest block first.
      const rows = this.#store.sql.iterate<{ block: number; a: Buffer; b: Buffer }>(
        `SELECT block, substr(bits, @a, 1) AS a, substr(bits, @b, 1) AS b FROM journal_grams WHERE part = @part AND block <= @top ORDER BY block DESC`,
        { part: partOf(h), top, a: (a >> 3) + 1, b: (b >> 3) + 1 },
      );
      return (function* () {
        for (const r of rows) if (r.a[0] & (1 << (a & 7)) && r.b[0] & (1 << (b & 7))) yield r.block;
      })();
    };
    const [first, ...more] = probeHashes(key, tags);
    // One condition: read as taken. More: every block of each, then those all of them hold.
    let blocks: Iterable<number> = has(first);
    if (more.length) {
      let keep = new Set(blocks);
      for (const h of more) {
        const also = new Set<number>();
        for (const b of has(h)) if (keep.has(b)) also.add(b);
        keep = also;
      }
      blocks = [...keep].sort((x, y) => y - x);
    }
    for (const b of blocks) yield [b * BLOCK_ROWS, Math.min(last, b * BLOCK_ROWS + BLOCK_ROWS - 1)];
  }

  /** Inside the prune's transaction: takes the pruned rows out of the index, and blocks with no row left. */
  pruned(ids: readonly number[]): void {
    this.#open = undefined;
    const indexed = this.indexed();
    const sql = this.#store.sql;
    for (const id of ids) if (id <= indexed) sql.run(`DELETE FROM journal_fts WHERE rowid = ?`, id);
    // Ids start again at MAX(id) + 1: after the journal was pruned empty, 1 again.
    sql.run(`UPDATE meta SET value = MIN(CAST(value AS INTEGER), (SELECT COALESCE(MAX(id), 0) FROM journal)) WHERE key IN ('journal_indexed', 'journal_grams_indexed')`);
    sql.run(DROP_BLOCKS);
  }

  /**
   * Indexes in the background, in the time the event loop had to spare: each second, slices of
   * ≤ 5 ms (the longest a 1C request waits behind one) for up to half of the last second's idle
   * time, at least 10 ms (so a steady load never leaves the index behind for good), at most 300 ms.
   */
  start(): void {
    if (this.#timer) return;
    this.#elu = performance.eventLoopUtilization();
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (this.#busy) return;
    const elu = performance.eventLoopUtilization();
    const last = performance.eventLoopUtilization(elu, this.#elu);
    this.#elu = elu;
    // The loop's load without this indexing's own share of it.
    const others = Math.max(0, last.utilization - this.#spent / Math.max(1, last.idle + last.active));
    let budget = Math.min(300, Math.max(10, (1 - others) * 500));
    this.#spent = 0;
    this.#busy = true;
    const slice = () => {
      let n = 0;
      const started = performance.now();
      try {
        if (this.#timer) n = this.step(5);
      } catch {
        n = 0; // store unavailable or closed: the next tick tries again
      }
      const took = performance.now() - started;
      this.#spent += took;
      budget -= took;
      if (n > 0 && budget > 0) setImmediate(slice);
      else this.#busy = false;
    };
    slice();
  }
}

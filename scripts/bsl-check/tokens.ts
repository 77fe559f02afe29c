/**
 * A small BSL (1C:Enterprise language) tokenizer: just enough for the block and call checks.
 * Comments and whitespace are dropped; string, date and number literals become single tokens, so
 * keywords inside them are never seen. Lines are 1-based within the text given.
 */

export type TokenKind = 'word' | 'string' | 'date' | 'number' | 'punct' | 'preproc' | 'directive';

export interface Token {
  kind: TokenKind;
  /** As written; for `preproc` the whole instruction after `#`, for `directive` the name after `&`. */
  text: string;
  line: number;
}

export interface Finding {
  file: string;
  line: number;
  message: string;
}

const identStart = /[\p{L}_]/u;
const identPart = /[\p{L}\p{N}_]/u;

export function tokenize(text: string): { tokens: Token[]; problems: Omit<Finding, 'file'>[] } {
  const tokens: Token[] = [];
  const problems: Omit<Finding, 'file'>[] = [];
  const lines = text.split(/\r\n|\n|\r/);
  let row = 0;
  let col = 0;

  // A string literal from `col` on `row` (at the opening quote); a line break inside it must be
  // followed, after blank and `//` lines, by a line starting with `|` (1C's continuation).
  const readString = (): void => {
    const startLine = row + 1;
    let value = '';
    let i = col + 1;
    for (;;) {
      const s = lines[row];
      while (i < s.length) {
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          tokens.push({ kind: 'string', text: value, line: startLine });
          col = i + 1;
          return;
        }
        value += s[i++];
      }
      let next = row + 1;
      while (next < lines.length && /^\s*(\/\/.*)?$/.test(lines[next])) next++;
      const m = next < lines.length ? /^\s*\|/.exec(lines[next]) : null;
      if (!m) {
        problems.push({ line: startLine, message: 'строка не закрыта кавычкой (продолжение строки должно начинаться с «|»)' });
        tokens.push({ kind: 'string', text: value, line: startLine });
        col = s.length;
        return;
      }
      value += '\n';
      row = next;
      i = m[0].length;
    }
  };

  while (row < lines.length) {
    const s = lines[row];
    const line = row + 1;
    if (col === 0) {
      const lead = /^\s*/.exec(s)![0].length;
      if (s[lead] === '#') {
        tokens.push({ kind: 'preproc', text: s.slice(lead + 1).replace(/\/\/.*$/, '').trim(), line });
        row++;
        continue;
      }
      if (s[lead] === '&') {
        const m = /^&\s*([\p{L}\p{N}_]*)/u.exec(s.slice(lead))!;
        tokens.push({ kind: 'directive', text: m[1], line });
        col = lead + m[0].length;
      }
    }
    if (col >= s.length) {
      row++;
      col = 0;
      continue;
    }
    const c = s[col];
    if (c === ' ' || c === '\t' || c === '\u00a0' || c === '\ufeff') {
      col++;
    } else if (c === '/' && s[col + 1] === '/') {
      col = s.length;
    } else if (c === '"') {
      readString(); // may move `row` to the line where the string ends
    } else if (c === "'") {
      const end = s.indexOf("'", col + 1);
      if (end < 0) problems.push({ line, message: 'дата не закрыта апострофом' });
      tokens.push({ kind: 'date', text: s.slice(col + 1, end < 0 ? s.length : end), line });
      col = end < 0 ? s.length : end + 1;
    } else if (/\d/.test(c)) {
      const m = /^\d+(\.\d+)?/.exec(s.slice(col))!;
      tokens.push({ kind: 'number', text: m[0], line });
      col += m[0].length;
    } else if (identStart.test(c)) {
      let end = col + 1;
      while (end < s.length && identPart.test(s[end])) end++;
      tokens.push({ kind: 'word', text: s.slice(col, end), line });
      col = end;
    } else {
      const two = s.slice(col, col + 2);
      const op = two === '<>' || two === '<=' || two === '>=' ? two : c;
      tokens.push({ kind: 'punct', text: op, line });
      col += op.length;
    }
  }
  return { tokens, problems };
}

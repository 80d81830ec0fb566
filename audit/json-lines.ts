import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';

/** Writes one JSON value per line, waiting whenever the stream asks to (a slow SIEM pipe, a full disk buffer). */
export async function writeJsonLines(stream: Writable, values: AsyncIterable<unknown>): Promise<number> {
  let count = 0;
  for await (const value of values) {
    if (!stream.write(`${JSON.stringify(value)}\n`)) await once(stream, 'drain');
    count += 1;
  }
  return count;
}

/** The lines of a JSON Lines file with their 1-based numbers; `value` is undefined for a line that is not JSON. */
export async function* readJsonLines(file: string): AsyncGenerator<{ line: number; value: unknown }> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    if (text === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    yield { line, value };
  }
}

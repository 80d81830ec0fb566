import { open } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { endQuietlyWhenPipeCloses, instantOption, UsageError, parseOptions, runCommand } from '../audit/command';
import { loadAuditConfig } from '../audit/config';
import { exportRecords } from '../audit/export';
import { writeJsonLines } from '../audit/json-lines';
import { openAuditStore } from '../audit/open-store';

/**
 * `npm run --silent audit:export -- --from ISO --to ISO [--out FILE]`: the records with
 * from <= time < to as JSON Lines for a SIEM, oldest first, each with its chain, sequence
 * and hashes. To stdout and nothing else there by default; `--out` writes a new file
 * (never an existing one) and prints how many records went into it.
 */

const USAGE = 'usage: npm run --silent audit:export -- --from ISO --to ISO [--out FILE]';

endQuietlyWhenPipeCloses();

runCommand('audit-export', async () => {
  const options = parseOptions(process.argv.slice(2), ['from', 'to', 'out'], USAGE);
  const from = instantOption('--from', options.from, USAGE);
  const to = instantOption('--to', options.to, USAGE);
  if (from >= to) throw new UsageError(`--from must be before --to, got --from ${from} and --to ${to}`);
  if (options.out === '') throw new UsageError(`--out must name a file, got ""\n${USAGE}`);
  const store = await openAuditStore(loadAuditConfig(), { mustExist: true });
  try {
    if (options.out === undefined) {
      await writeJsonLines(process.stdout, exportRecords(store, { from, to }));
      return 0;
    }
    const handle = await open(options.out, 'wx', 0o600).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EEXIST' ? new UsageError(`--out ${options.out} already exists: an export never overwrites a file`) : error;
    });
    const file = handle.createWriteStream();
    const count = await writeJsonLines(file, exportRecords(store, { from, to }));
    file.end();
    await finished(file);
    console.log(`exported ${count} record${count === 1 ? '' : 's'} from ${from} to ${to} into ${options.out}`);
    return 0;
  } finally {
    await store.close();
  }
});

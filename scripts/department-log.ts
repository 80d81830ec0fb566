import { endQuietlyWhenPipeCloses, instantOption, UsageError, parseOptions, runCommand } from '../audit/command';
import { openDepartmentLog } from '../audit/department-logs';
import { OperationalSummary } from '../audit/department-summary';
import { exportRecords } from '../audit/export';
import { writeJsonLines } from '../audit/json-lines';
import { listDepartments } from '../lib/composition';

/**
 * `npm run --silent department:log -- DEPARTMENT [--from ISO] [--to ISO] [--summary]`: a
 * department's own traffic straight from its access log, no gateway involved. JSON Lines
 * of its records with from <= time < to (default: all of them), oldest first, read in
 * keyset pages; with `--summary`, one JSON line of operational figures per calling
 * application and service item (audit/department-summary.ts), with no citizen in them.
 */

const USAGE = 'usage: npm run --silent department:log -- DEPARTMENT [--from ISO] [--to ISO] [--summary]';

const EARLIEST = '0000-01-01T00:00:00.000Z';
const LATEST = '9999-12-31T23:59:59.999Z';

endQuietlyWhenPipeCloses();

runCommand('department-log', async () => {
  const [department, ...rest] = process.argv.slice(2);
  if (department === undefined || department.startsWith('--')) throw new UsageError(`the department is required\n${USAGE}`);
  const known = listDepartments().map((entry) => entry.name);
  if (!known.includes(department)) throw new UsageError(`the department must be one of ${known.join(', ')} (schema/departments.json), got "${department}"\n${USAGE}`);
  // --summary is the one switch: parseOptions takes `--name value` options only.
  const isSummary = rest.includes('--summary');
  const options = parseOptions(rest.filter((arg) => arg !== '--summary'), ['from', 'to'], USAGE);
  const from = instantOption('--from', options.from, USAGE, EARLIEST);
  const to = instantOption('--to', options.to, USAGE, LATEST);
  if (from >= to) throw new UsageError(`--from must be before --to, got --from ${from} and --to ${to}`);
  const log = await openDepartmentLog(process.env, department);
  try {
    const records = exportRecords(log.store, { from, to });
    if (!isSummary) {
      await writeJsonLines(process.stdout, records);
      return 0;
    }
    const summary = new OperationalSummary();
    for await (const record of records) summary.add(record);
    await writeJsonLines(process.stdout, (async function* figures() {
      yield* summary.figures();
    })());
    return 0;
  } finally {
    await log.store.close();
  }
});

import { instantOption, UsageError, parseOptions, runCommand } from '../audit/command';
import { loadAuditConfig } from '../audit/config';
import { closeDepartmentLogs, openDepartmentLogs, type DepartmentLog } from '../audit/department-logs';
import type { StoredRecord } from '../audit/entry';
import { exportRecords } from '../audit/export';
import { openAuditStore } from '../audit/open-store';
import { printable } from '../audit/printable';
import { reconcile } from '../audit/reconcile';
import type { AuditStore } from '../audit/store';
import { listDepartments } from '../lib/composition';

/**
 * `npm run audit:reconcile -- --from ISO --to ISO [--department NAME]...`: compares the
 * departments' access logs with the gateway's audit store for from <= time < to
 * (audit/reconcile.ts), one line per finding then a summary line. Exit 0 when both sides
 * agree (explained differences are printed, and allowed), 1 with a mismatch, 2 for a bad
 * argument or configuration. Departments: each `--department`, else every department in
 * schema/departments.json whose log exists where its settings put it.
 */

const USAGE = 'usage: npm run audit:reconcile -- --from ISO --to ISO [--department NAME]... [--slack-seconds N]';

/** Default slack at the period's edges: a call just before `to` whose other side was recorded just after it. */
const DEFAULT_SLACK_SECONDS = 300;

function slackSeconds(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_SLACK_SECONDS;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value > 86400) throw new UsageError(`--slack-seconds must be a whole number of seconds from 0 to 86400, got "${raw}"`);
  return value;
}

async function collect(store: AuditStore, from: string, to: string): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  for await (const record of exportRecords(store, { from, to })) records.push(record);
  return records;
}

/** The department records the gateway's receipts name that the period's reading did not bring: a receipt is matched wherever its record lies. */
async function addNamedRecords(gatewayRecords: readonly StoredRecord[], logs: readonly DepartmentLog[], byDepartment: Map<string, StoredRecord[]>): Promise<void> {
  for (const log of logs) {
    const records = byDepartment.get(log.department) ?? [];
    const held = new Set(records.map((record) => `${record.chainId}\n${record.sequence}`));
    for (const gateway of gatewayRecords) {
      if (gateway.exchange?.kind !== 'gateway-calls') continue;
      for (const { department, receipt } of gateway.exchange.calls) {
        if (department !== log.department || receipt === null || held.has(`${receipt.chainId}\n${receipt.sequence}`)) continue;
        const [named] = await log.store.readChain(receipt.chainId, receipt.sequence - 1, 1);
        if (named?.sequence === receipt.sequence) {
          records.push(named);
          held.add(`${named.chainId}\n${named.sequence}`);
        }
      }
    }
  }
}

runCommand('audit-reconcile', async () => {
  const options = parseOptions(process.argv.slice(2), ['from', 'to', 'slack-seconds'], USAGE, ['department']);
  const from = instantOption('--from', options.from, USAGE);
  const to = instantOption('--to', options.to, USAGE);
  if (from >= to) throw new UsageError(`--from must be before --to, got --from ${from} and --to ${to}`);
  const slackMs = slackSeconds(options['slack-seconds']) * 1000;
  const known = listDepartments().map((department) => department.name);
  const named = options.department?.flatMap((value) => value.split(',')).map((name) => name.trim());
  for (const name of named ?? []) {
    if (!known.includes(name)) throw new UsageError(`--department must be one of ${known.join(', ')} (schema/departments.json), got "${name}"`);
  }
  const wideFrom = new Date(Date.parse(from) - slackMs).toISOString();
  const wideTo = new Date(Date.parse(to) + slackMs).toISOString();
  const gatewayStore = await openAuditStore(loadAuditConfig(), { mustExist: true });
  let logs: DepartmentLog[] = [];
  try {
    logs = await openDepartmentLogs(process.env, known, named);
    if (logs.length === 0) throw new UsageError('no department access log exists where the departments\' settings put them: name one with --department, or set PROOFLESS_DATA_DIR / PROOFLESS_ACCESS_LOG_DATABASE_URL');
    const gatewayRecords = await collect(gatewayStore, wideFrom, wideTo);
    const departmentRecords = new Map<string, StoredRecord[]>();
    for (const log of logs) departmentRecords.set(log.department, await collect(log.store, wideFrom, wideTo));
    await addNamedRecords(gatewayRecords, logs, departmentRecords);
    const result = reconcile({ from, to, gatewayRecords, departmentRecords });
    for (const finding of result.findings) console.log(printable(finding.isExplained ? finding.text : `MISMATCH: ${finding.text}`));
    const mismatches = result.findings.filter((finding) => !finding.isExplained).length;
    const explained = result.findings.length - mismatches;
    console.log(
      `${mismatches === 0 ? 'agree' : 'DISAGREE'}: ${logs.map((log) => log.department).join(', ')} and the gateway from ${from} to ${to}: ` +
        `${result.matched} answer${result.matched === 1 ? '' : 's'} matched, ${explained} explained, ${mismatches} mismatch${mismatches === 1 ? '' : 'es'}; ` +
        `expected on one side only: ${result.refusedBeforeVerification} refused by a department before signature verification, ` +
        `${result.gatewayOnly} gateway record${result.gatewayOnly === 1 ? '' : 's'} calling no department, ${result.witnessRecords} witnessed checkpoint${result.witnessRecords === 1 ? '' : 's'}, ` +
        `${result.readinessProbes} readiness probe${result.readinessProbes === 1 ? '' : 's'} of the gateway`,
    );
    return mismatches === 0 ? 0 : 1;
  } finally {
    await closeDepartmentLogs(logs);
    await gatewayStore.close();
  }
});

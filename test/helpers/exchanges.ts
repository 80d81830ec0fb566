import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openAuditLog, type AuditLog } from '../../audit/log';
import { encodeAssertedCaller } from '../../lib/asserted-caller';
import type { AuditEntry, StoredRecord } from '../../audit/entry';
import type { DepartmentAnswerEvidence, DepartmentCallEvidence, DepartmentReceipt } from '../../audit/exchange';
import { sha256Hex, signReceipt } from '../../audit/receipt';
import { loadSigningKey as loadAuditSigningKey, type SigningKey } from '../../audit/signing';
import type { AuditStore } from '../../audit/store';
import { createRequestSigner, signatureBase, SIGNATURE_LABEL } from '../../lib/http-signatures';
import { ensureDevelopmentDepartmentKey, ensureDevelopmentSigningKey, loadSigningKey } from '../../lib/trust-list';
import { auditEntry } from './audit-stores';

/**
 * Both sides of exchanges, written the way the gateway and the departments write them
 * (issue 18): the department's access-log record with DepartmentAnswerEvidence, its
 * receipt signed with the department's key from the development PKI, and the gateway's
 * record with GatewayCallsEvidence holding the RFC 9421 request it signed with its
 * request-signing key. Each side's chain is its own log, checkpointed on close.
 */
export interface ExchangeWorld {
  gateway: AuditLog;
  departments: Map<string, AuditLog>;
  /** The department's key, as a receipt is signed with it. */
  departmentKey(department: string): SigningKey;
  exchange(options: ExchangeOptions): Promise<Exchange>;
  close(): Promise<void>;
}

export interface ExchangeOptions {
  requestId: string;
  department: string;
  /** When both sides recorded it; default 2024-06-01T09:30:00.000Z. */
  time?: string;
  /** The call failed with this code, the gateway holds no receipt (the department still answered and logged it). */
  failure?: string;
  /** The gateway never recorded the exchange. */
  isGatewayRecordMissing?: boolean;
  /** Members of the department's record that differ from the gateway's. */
  departmentEntry?: Partial<AuditEntry>;
  /** Members of the gateway's record. */
  gatewayEntry?: Partial<AuditEntry>;
  /** The department checkpoints its log after the answer and sends the checkpoint with it: the gateway records it. */
  isCheckpointSent?: boolean;
}

export interface Exchange {
  department: StoredRecord;
  gateway: StoredRecord | null;
  receipt: DepartmentReceipt;
  call: DepartmentCallEvidence;
}

export interface ExchangeStores {
  /** `<pki>`: gateway-keys.json, department-keys.json and the keys they list are made there. */
  pkiDir: string;
  auditKeyFile: string;
  gateway: AuditStore;
  gatewayChainId?: string;
  departments: Record<string, AuditStore>;
  /** Dates the gateway's checkpoints; default the real clock. */
  gatewayClock?: () => Date;
}

/** The development keys are valid from when they were made; the exchanges here are dated 2024: the trust lists' windows are opened to 2000. */
function validSince2000(file: string): void {
  const list = JSON.parse(readFileSync(file, 'utf8')) as { keys: { validFrom: string }[] };
  for (const key of list.keys) key.validFrom = '2000-01-01T00:00:00.000Z';
  writeFileSync(file, `${JSON.stringify(list, null, 2)}\n`);
}

export async function openExchangeWorld(stores: ExchangeStores): Promise<ExchangeWorld> {
  const gatewayKey = ensureDevelopmentSigningKey(stores.pkiDir);
  validSince2000(gatewayKey.trustListFile);
  const signRequest = createRequestSigner({ keyId: gatewayKey.keyId, privateKey: loadSigningKey(gatewayKey.keyFile), now: () => Date.parse('2024-06-01T09:30:00.000Z') });
  const gateway = await openAuditLog({ store: stores.gateway, chainId: stores.gatewayChainId ?? 'gw-1', signingKeyFile: stores.auditKeyFile, checkpointIntervalMs: 0, ...(stores.gatewayClock ? { clock: stores.gatewayClock } : {}) });
  const departments = new Map<string, AuditLog>();
  const keys = new Map<string, SigningKey>();
  for (const [department, store] of Object.entries(stores.departments)) {
    const { keyFile, trustListFile } = ensureDevelopmentDepartmentKey(stores.pkiDir, department);
    validSince2000(trustListFile);
    keys.set(department, loadAuditSigningKey(keyFile));
    departments.set(department, await openAuditLog({ store, chainId: `${department}:host-1`, signingKeyFile: keyFile, checkpointIntervalMs: 0 }));
  }
  const departmentKey = (department: string) => keys.get(department) as SigningKey;
  return {
    gateway,
    departments,
    departmentKey,
    async exchange(options) {
      const time = options.time ?? '2024-06-01T09:30:00.000Z';
      const gatewayEntry = auditEntry({ requestId: options.requestId, time, departments: [options.department], ...options.gatewayEntry });
      const body = JSON.stringify({ query: '{ citizen { household { id } } }' });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-request-id': options.requestId,
        'x-service-item': gatewayEntry.serviceItem ?? '',
        'x-case-number': gatewayEntry.caseNumber ?? '',
        'x-proofless-caller': encodeAssertedCaller({
          application: gatewayEntry.application ?? '', officer: gatewayEntry.officer ?? '', role: gatewayEntry.role ?? '', serviceItems: gatewayEntry.serviceItem ? [gatewayEntry.serviceItem] : [], scopes: [],
        }),
        'x-proofless-department': options.department,
      };
      const targetUri = `https://127.0.0.1:4001/graphql`;
      const signed = signRequest({ method: 'POST', targetUri, headers, body });
      const all = { ...headers, ...signed };
      const signatureParams = signed['signature-input'].slice(`${SIGNATURE_LABEL}=`.length);
      const covered = [...signatureParams.slice(0, signatureParams.indexOf(')')).matchAll(/"([^"]+)"/g)].map((match) => match[1]);
      const base = signatureBase({ method: 'POST', targetUri, header: (name) => all[name] }, covered, signatureParams);
      const requestDigest = sha256Hex(base);
      const answerDigest = sha256Hex(`answer to ${options.requestId}`);
      const log = departments.get(options.department) as AuditLog;
      const evidence: DepartmentAnswerEvidence = {
        kind: 'department-answer', department: options.department, gatewayKeyId: gatewayKey.keyId, requestDigest, bodyDigest: sha256Hex(body), answerDigest, status: 200,
      };
      const department = await log.record(auditEntry({
        requestId: options.requestId, time, application: gatewayEntry.application, officer: gatewayEntry.officer, serviceItem: gatewayEntry.serviceItem,
        caseNumber: gatewayEntry.caseNumber, citizens: gatewayEntry.citizens, departments: [options.department], exchange: evidence, ...options.departmentEntry,
      }));
      const receipt = signReceipt({ department: options.department, requestDigest, answerDigest, status: 200, chainId: department.chainId, sequence: department.sequence, time }, departmentKey(options.department));
      const call: DepartmentCallEvidence = {
        department: options.department, signatureBase: base, signatureInput: signed['signature-input'], signature: signed.signature,
        receipt: options.failure ? null : receipt, failure: options.failure ?? null,
      };
      const departmentCheckpoint = options.isCheckpointSent ? await log.checkpoint() : null;
      const gatewayRecord = options.isGatewayRecordMissing ? null : await gateway.record({
        ...gatewayEntry, outcome: options.failure ? 'partial' : gatewayEntry.outcome, errorCodes: options.failure ? [options.failure] : gatewayEntry.errorCodes,
        exchange: { kind: 'gateway-calls', calls: [call], departmentCheckpoints: departmentCheckpoint ? [departmentCheckpoint] : [] },
      });
      return { department, gateway: gatewayRecord, receipt, call };
    },
    async close() {
      await gateway.close();
      for (const log of departments.values()) await log.close();
    },
  };
}

/** `<dataDir>/pki`, where the commands look for the trust lists by default. */
export function pkiDirIn(dataDir: string): string {
  return path.join(dataDir, 'pki');
}

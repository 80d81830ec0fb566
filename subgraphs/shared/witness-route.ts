import type { ServerResponse } from 'node:http';
import type { AuditEntry } from '../../audit/entry';
import type { WitnessedCheckpointEvidence } from '../../audit/exchange';
import { asCheckpoint } from '../../audit/witness';
import { ErrorCode } from '../../lib/error-codes';
import { errorBody, readBody, sendError, sendJsonText, type ErrorAnswer, type RouteHandler } from '../../lib/graphql-http';
import { answerEvidence, outcomeOfStatus, requestFacts, type DepartmentAccessLog } from './access-log';
import type { DepartmentSecurity, VerifiedGatewayRequest } from './security';

/** A checkpoint's JSON is a few hundred bytes: anything much larger is not one. */
const MAX_WITNESS_BODY_BYTES = 16384;

/** What the department answers a checkpoint it recorded. */
const WITNESSED = JSON.stringify({ witnessed: true });

/**
 * WITNESS_PATH (audit/exchange.ts): the gateway sends each signed checkpoint of its own
 * chain here, signed like every call (RFC 9421; the same checks as `/graphql`,
 * security.ts verifyGatewayRequest: a client certificate naming the gateway, a signature
 * covering at least method, target URI, Content-Digest, content-type, x-request-id and
 * x-proofless-department, which must name this department), and the department records it in its access log
 * (WitnessedCheckpointEvidence), then answers 200 `{"witnessed":true}` with a receipt.
 * The department does not check the checkpoint's own signature: it has no need of the
 * gateway's audit key, it witnesses what it was told; auditors verify it later with the
 * gateway's public key. Every refusal is recorded too (DepartmentAnswerEvidence), as on
 * `/graphql`; a request whose signature did not verify is recorded without a receipt, in
 * aggregate with the refusals alike (access-log.ts).
 */
export function witnessRoute(department: string, security: Pick<DepartmentSecurity, 'verifyGatewayRequest'>, accessLog: DepartmentAccessLog): RouteHandler {
  return async (req, res) => {
    const arrivedAt = Date.now();
    const requestId = String(res.getHeader('x-request-id'));
    const read = await readBody(req, MAX_WITNESS_BODY_BYTES);
    const body = read.kind === 'ok' ? read.bytes : null;
    const refuse = async (refusal: ErrorAnswer, verified: VerifiedGatewayRequest | undefined) => {
      const answer = errorBody(refusal.code, refusal.message);
      const entry: AuditEntry = {
        ...requestFacts(req, requestId, arrivedAt, verified),
        ...NOTHING_READ,
        departments: [department],
        outcome: outcomeOfStatus(refusal.status),
        errorCodes: [refusal.code],
        latencyMs: Date.now() - arrivedAt,
        exchange: answerEvidence(department, verified, body, refusal.status, answer),
      };
      send(res, await accessLog.recordAnswer(entry, { req, verified, status: refusal.status, body: answer }), refusal.status, answer);
    };
    if (read.kind === 'unreadable') {
      // Node's parser has given up on this connection (a malformed chunk): answer, then close it, as `/graphql` does.
      res.once('finish', () => req.socket.destroySoon());
      await refuse({ status: 400, code: ErrorCode.BAD_REQUEST, message: 'request body is not well-formed HTTP (a malformed chunk)' }, undefined);
      return;
    }
    if (!body) {
      await refuse({ status: 413, code: ErrorCode.REQUEST_TOO_LARGE, message: `a checkpoint to witness must be at most ${MAX_WITNESS_BODY_BYTES} bytes` }, undefined);
      return;
    }
    const check = security.verifyGatewayRequest(req, body, requestId);
    if (check.refusal) {
      await refuse(check.refusal, check.verified);
      return;
    }
    const verified = check.verified as VerifiedGatewayRequest;
    const checkpoint = req.method === 'POST' ? checkpointIn(body) : null;
    if (!checkpoint) {
      await refuse({ status: 400, code: ErrorCode.BAD_REQUEST, message: 'the witness route takes a POST of one signed checkpoint of the gateway\'s chain as JSON: chainId, sequence, hash, time, previous, keyId, signature' }, verified);
      return;
    }
    const evidence: WitnessedCheckpointEvidence = { kind: 'witnessed-checkpoint', gatewayKeyId: verified.gatewayKeyId, checkpoint };
    const entry: AuditEntry = {
      ...requestFacts(req, requestId, arrivedAt, verified),
      ...NOTHING_READ,
      departments: [department],
      outcome: 'ok',
      errorCodes: [],
      latencyMs: Date.now() - arrivedAt,
      exchange: evidence,
    };
    send(res, await accessLog.recordAnswer(entry, { req, verified, status: 200, body: WITNESSED }), 200, WITNESSED);
  };
}

/** A witnessed checkpoint, or a refusal, reads nothing of any citizen. */
const NOTHING_READ = { operationName: null, documentHash: null, coordinates: [], citizens: [] } satisfies Partial<AuditEntry>;

function send(res: ServerResponse, decision: Awaited<ReturnType<DepartmentAccessLog['recordAnswer']>>, status: number, body: string): void {
  if ('instead' in decision) sendError(res, decision.instead.status, decision.instead.code, decision.instead.message);
  else sendJsonText(res, status, body, decision.headers);
}

function checkpointIn(body: Buffer) {
  try {
    return asCheckpoint(JSON.parse(body.toString('utf8')));
  } catch {
    return null;
  }
}


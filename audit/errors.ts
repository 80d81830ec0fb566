/**
 * The audit log could not make a record durable, so the operation it describes must not
 * be answered: the gateway maps this to HTTP 503 with code AUDIT_UNAVAILABLE. The store's
 * own error is kept as `cause` for the process log; the message names no person.
 */
export class AuditUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditUnavailableError';
  }
}

/** An auditor's review query is malformed (a bound, a cursor, an instant); maps to BAD_USER_INPUT. */
export class AuditQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditQueryError';
  }
}

/** An archive was asked to remove records the retention period says must still be kept. */
export class RetentionPeriodError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetentionPeriodError';
  }
}

/** A stored row no longer has the shape of a record (edited in the database); verification reports where. */
export class CorruptRecordError extends Error {
  constructor(readonly chainId: string, readonly sequence: number, readonly what: string) {
    super(`record ${sequence} of chain ${chainId} is unreadable: ${what}`);
    this.name = 'CorruptRecordError';
  }
}

/** `auditChains` was asked before the audit department finished its first verification of the store (background-verification.ts). */
export class VerificationPendingError extends Error {
  constructor(readonly startedAt: Date) {
    super(`the audit log has not been verified since the audit department started (a verification began at ${startedAt.toISOString()}): ask again in a moment`);
    this.name = 'VerificationPendingError';
  }
}

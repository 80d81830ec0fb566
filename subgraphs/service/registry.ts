import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type CommitmentState = 'PENDING' | 'FULFILLED' | 'BREACHED';

/** One commitment (告知承诺) as stored. */
export interface CommitmentRow {
  id: number;
  serviceItem: string;
  caseNumber: string;
  proofCode: string;
  /** The applicant's ID number. */
  applicant: string;
  statement: string;
  signedAt: string;
  followUpDeadline: string;
  state: CommitmentState;
  lastCheckedAt: string | null;
}

export type NewCommitment = Omit<CommitmentRow, 'id' | 'state' | 'lastCheckedAt'>;

/** A second commitment for the same proof of the same case. */
export class DuplicateCommitmentError extends Error {}

/**
 * The service bureau's commitments as the subgraph and the follow-up job see them: batches
 * of keys in, rows out, in no particular order. The bureau's store is its own (unlike the
 * registries, it is written while serving); a move to PostgreSQL implements this again.
 */
export interface CommitmentStore {
  readByCaseNumbers(caseNumbers: readonly string[]): Promise<CommitmentRow[]>;
  /** The BREACHED commitments of each applicant. */
  readBreachedByApplicants(applicants: readonly string[]): Promise<CommitmentRow[]>;
  /** Adds a PENDING commitment; a DuplicateCommitmentError when the case already has one for the proof. */
  insert(commitment: NewCommitment): Promise<CommitmentRow>;
  /** Every PENDING commitment, oldest first: what the follow-up job checks. */
  readPending(): Promise<CommitmentRow[]>;
  recordFollowUp(id: number, state: CommitmentState, checkedAt: string): Promise<void>;
  /** BREACHED commitments with an id above `afterId`, oldest first, at most `limit`. */
  readBreached(afterId: number, limit: number): Promise<CommitmentRow[]>;
  close(): void;
}

const COLUMNS = `id, service_item AS serviceItem, case_number AS caseNumber, proof_code AS proofCode, applicant, statement,
  signed_at AS signedAt, follow_up_deadline AS followUpDeadline, state, last_checked_at AS lastCheckedAt`;

/**
 * Opens (creating on first use) the SQLite commitments store. Unlike the read-only
 * registries it is written while serving and read by `npm run commitments:verify` at the
 * same time: WAL lets both work, a busy timeout makes one wait for the other, and every
 * commit reaches the disk (a commitment is a legal record).
 */
export function openCommitmentStore(file: string): CommitmentStore {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS commitment (
      id INTEGER PRIMARY KEY,
      service_item TEXT NOT NULL,
      case_number TEXT NOT NULL,
      proof_code TEXT NOT NULL,
      applicant TEXT NOT NULL,
      statement TEXT NOT NULL,
      signed_at TEXT NOT NULL,
      follow_up_deadline TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('PENDING', 'FULFILLED', 'BREACHED')),
      last_checked_at TEXT,
      UNIQUE (case_number, service_item, proof_code)
    );
    CREATE INDEX IF NOT EXISTS commitment_applicant_state ON commitment (applicant, state);
    CREATE INDEX IF NOT EXISTS commitment_state ON commitment (state, id);
  `);
  const byCases = db.prepare(`SELECT ${COLUMNS} FROM commitment WHERE case_number IN (SELECT value FROM json_each(?))`);
  const breachedByApplicants = db.prepare(`SELECT ${COLUMNS} FROM commitment WHERE state = 'BREACHED' AND applicant IN (SELECT value FROM json_each(?))`);
  const insert = db.prepare(`INSERT INTO commitment (service_item, case_number, proof_code, applicant, statement, signed_at, follow_up_deadline, state)
    VALUES (@serviceItem, @caseNumber, @proofCode, @applicant, @statement, @signedAt, @followUpDeadline, 'PENDING') RETURNING ${COLUMNS}`);
  const pending = db.prepare(`SELECT ${COLUMNS} FROM commitment WHERE state = 'PENDING' ORDER BY id`);
  const followUp = db.prepare('UPDATE commitment SET state = ?, last_checked_at = ? WHERE id = ?');
  const breached = db.prepare(`SELECT ${COLUMNS} FROM commitment WHERE state = 'BREACHED' AND id > ? ORDER BY id LIMIT ?`);
  return {
    readByCaseNumbers: async (caseNumbers) => byCases.all(JSON.stringify(caseNumbers)) as CommitmentRow[],
    readBreachedByApplicants: async (applicants) => breachedByApplicants.all(JSON.stringify(applicants)) as CommitmentRow[],
    insert: async (commitment) => {
      try {
        return insert.get(commitment) as CommitmentRow;
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateCommitmentError('commitment already recorded');
        throw error;
      }
    },
    readPending: async () => pending.all() as CommitmentRow[],
    recordFollowUp: async (id, state, checkedAt) => {
      followUp.run(state, checkedAt, id);
    },
    readBreached: async (afterId, limit) => breached.all(afterId, limit) as CommitmentRow[],
    close: () => db.close(),
  };
}

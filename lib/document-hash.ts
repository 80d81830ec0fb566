import { createHash } from 'node:crypto';
import { print, type DocumentNode } from 'graphql';
import { memoisedIn } from './memoised';

const hashes = new WeakMap<DocumentNode, string>();

/**
 * SHA-256 (lowercase hex) of a document as graphql-js prints it: whitespace, comments and
 * formatting do not change it. The gateway's audit record and each department's access
 * log name an operation's document by it, so both sides hash the same way. Memoised per
 * parsed document (Apollo Server keeps parsed documents, so a repeated query is hashed once).
 */
export function documentHash(document: DocumentNode): string {
  return memoisedIn(hashes, document, () => createHash('sha256').update(print(document)).digest('hex'));
}

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ApolloServerPlugin } from '@apollo/server';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { GraphQLSchema } from 'graphql';
import type { ProofCatalog } from '../../lib/catalog';
import { forbidden } from '../../lib/error-codes';
import { ConfigError } from '../../lib/env';
import { serviceBureauOperations } from '../../lib/proof-reads';
import { refuse, type GatewayContext } from '../context';
import { isIntrospectionCoordinate } from '../operation-analysis';
import { operationCheckPlugin } from '../operation-check';
import { AUDIT_CONSOLE_OPERATIONS } from '../pages/audit-console/operations';

/**
 * Trusted operations: production service systems send only operations their front-end
 * team registered, by hash. The manifest is the format Apollo's persisted-query tooling
 * writes (`{ format: "apollo-persisted-query-manifest", version: 1, operations: [{ id, name,
 * type, body }] }`, id = SHA-256 of body). A request may send the hash alone
 * (`extensions.persistedQuery.sha256Hash`) or the full document; either way a document
 * not registered is refused before it is planned, whatever its operation name: the check
 * is on the document's hash, so no other document passes under a registered name.
 *
 * The project's own operations are registered by the gateway itself, not by a credential
 * that lets any document through. Such a credential would be one more secret whose theft
 * undoes the manifest; and it could not tell the service bureau from a front end anyway,
 * since the bureau forwards the caller's own token. The project's operations are a finite
 * set known at start instead: the bureau's reads are built from the catalog alone, one
 * document per service item's checklist and per commitment proof's follow-up
 * (`serviceBureauOperations`, the function the bureau's requests are built by), and the
 * audit console's are fixed in its operations module, which the page is served from too.
 *
 * An operation that selects no data (only `__typename`, a liveness probe) is accepted
 * without registration; so is introspection, which PROOFLESS_INTROSPECTION governs on
 * its own (off, graphql-js validation refuses it before this check runs).
 */
export interface TrustedOperationsOptions {
  /** PROOFLESS_TRUSTED_OPERATIONS: the front ends' persisted-query manifest. */
  manifestFile: string;
  /** The proof catalog the service bureau builds its reads from (the gateway's own, PROOFLESS_CATALOG). */
  catalog: ProofCatalog;
  /** The supergraph's API schema, which types the reads' variables. */
  schema: GraphQLSchema;
}

export interface TrustedOperations {
  /** Hash to document, for Apollo Server's `persistedQueries.cache`; never learns new documents. */
  cache: KeyValueCache<string>;
  plugin: ApolloServerPlugin<GatewayContext>;
}

export function loadTrustedOperations(options: TrustedOperationsOptions): TrustedOperations {
  const documents = readManifest(options.manifestFile);
  for (const body of [...serviceBureauOperations(options.catalog, options.schema), ...Object.values(AUDIT_CONSOLE_OPERATIONS)]) {
    documents.set(sha256(body), body);
  }
  return {
    cache: {
      // Apollo Server prefixes keys of the persisted-query cache ("apq:<hash>").
      get: async (key) => documents.get(key.slice(key.lastIndexOf(':') + 1)),
      // Registration by clients is exactly what trusted operations forbid.
      set: async () => undefined,
      delete: async () => false,
    },
    plugin: operationCheckPlugin((requestContext, { coordinates }) => {
      if (documents.has(requestContext.queryHash)) return;
      if ([...coordinates].every(isIntrospectionCoordinate)) return;
      refuse(requestContext, forbidden(
        `operation not registered (document SHA-256 ${requestContext.queryHash}): this gateway accepts only the operations in its trusted operations manifest (PROOFLESS_TRUSTED_OPERATIONS) and the project's own (the service bureau's reads, the audit console's); add this document to your front end's persisted-query manifest and have the operator deploy it`,
      ));
    }),
  };
}

/** The manifest's documents by hash; a body whose id is not its SHA-256 stops the gateway. */
function readManifest(file: string): Map<string, string> {
  let manifest: { format?: unknown; operations?: { id?: unknown; body?: unknown }[] };
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`trusted operations manifest ${file} cannot be read: ${(error as Error).message}`);
  }
  if (manifest.format !== 'apollo-persisted-query-manifest' || !Array.isArray(manifest.operations)) {
    throw new ConfigError(`trusted operations manifest ${file} must be an apollo-persisted-query-manifest with an operations list`);
  }
  const documents = new Map<string, string>();
  for (const [index, operation] of manifest.operations.entries()) {
    if (typeof operation.body !== 'string' || sha256(operation.body) !== operation.id) {
      throw new ConfigError(`trusted operations manifest ${file}: operations[${index}].id must be the SHA-256 of its body`);
    }
    documents.set(operation.id, operation.body);
  }
  return documents;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

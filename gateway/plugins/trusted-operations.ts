import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ApolloServerPlugin } from '@apollo/server';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { forbidden } from '../../lib/error-codes';
import { ConfigError } from '../../lib/env';
import { refuse, type GatewayContext } from '../context';
import { operationCheckPlugin } from '../operation-check';

/**
 * Trusted operations: production service systems send only operations their front-end
 * team registered, by hash. The manifest is the format Apollo's persisted-query tooling
 * writes (`{ format: "apollo-persisted-query-manifest", version: 1, operations: [{ id, name,
 * type, body }] }`, id = SHA-256 of body). A request may send the hash alone
 * (`extensions.persistedQuery.sha256Hash`) or the full document; either way a document
 * not in the manifest is refused before it is planned.
 */
export interface TrustedOperations {
  /** Hash to document, for Apollo Server's `persistedQueries.cache`; never learns new documents. */
  cache: KeyValueCache<string>;
  plugin: ApolloServerPlugin<GatewayContext>;
}

export function loadTrustedOperations(file: string): TrustedOperations {
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
    if (typeof operation.body !== 'string' || createHash('sha256').update(operation.body).digest('hex') !== operation.id) {
      throw new ConfigError(`trusted operations manifest ${file}: operations[${index}].id must be the SHA-256 of its body`);
    }
    documents.set(operation.id, operation.body);
  }
  return {
    cache: {
      // Apollo Server prefixes keys of the persisted-query cache ("apq:<hash>").
      get: async (key) => documents.get(key.slice(key.lastIndexOf(':') + 1)),
      // Registration by clients is exactly what trusted operations forbid.
      set: async () => undefined,
      delete: async () => false,
    },
    plugin: operationCheckPlugin((requestContext) => {
      if (documents.has(requestContext.queryHash)) return;
      refuse(requestContext, forbidden('only registered operations are accepted here: register this operation in the trusted operations manifest'));
    }),
  };
}

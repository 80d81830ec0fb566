import type * as StructuredHeaders from 'structured-headers/dist/index';

/**
 * RFC 8941/9651 structured fields through structured-headers 2.1.0. That package publishes its
 * types only under package.json "exports", which this project's `moduleResolution: "node"` does
 * not read (TS2307), so the types are taken from the path tsc can see while `require` goes
 * through "exports" to the package's CommonJS build. When tsconfig moves to node16 or bundler
 * resolution, this file becomes a plain re-export; test/content-digest.test.ts pins the version.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const structuredHeaders: typeof StructuredHeaders = require('structured-headers');

export const { parseDictionary, serializeInnerList, serializeDictionary, isInnerList } = structuredHeaders;
export type { BareItem, Dictionary, InnerList, Item, Parameters } from 'structured-headers/dist/index';

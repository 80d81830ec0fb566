import { createHash } from 'node:crypto';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { getArgumentValues, getVariableValues, visit, type DocumentNode } from 'graphql';
import { outcomeOfAnswer, type Outcome } from '../../audit/entry';
import { ErrorCode, REFUSED_BEFORE_EXECUTION_CODES } from '../../lib/error-codes';
import { fieldsWithArguments } from '../../lib/field-arguments';
import { checkIdNumber } from '../../lib/id-number';
import { holdsIdNumbers } from '../../lib/identifier-arguments';
import { documentHash } from '../../lib/document-hash';
import { memoisedIn } from '../../lib/memoised';
import { selectedCoordinates } from './purpose-guard';

/**
 * What a department's access log notes of one request while Apollo Server runs it, for
 * the record written when its answer is sealed (access-log.ts). Kept by the request's
 * context object: the gateway sends several calls under one request ID, concurrently.
 */
export interface RequestNotes {
  operationName: string | null;
  /** SHA-256 hex of the document as graphql-js prints it (as the gateway hashes it), or of the text sent when it did not parse. */
  documentHash: string | null;
  /** The coordinates the operation selects; disclosed only when it was answered (outcome ok or partial). */
  selected: string[];
  /** ID numbers the operation's arguments name (entity representations included), asked whether answered or refused. */
  asked: string[];
  /** ID numbers the answer's data holds. */
  returned: string[];
  outcome: Outcome;
  errorCodes: string[];
}

/** The query planner's entry to a department's entities: plumbing, what it discloses is under the entity's own fields. */
const ENTITIES = 'Query._entities';

/** Codes of a request the department would not run because of what was sent, or whom for (its purpose check): refusals. */
const REFUSED_BEFORE_EXECUTION = new Set<string>([...REFUSED_BEFORE_EXECUTION_CODES, ErrorCode.FORBIDDEN, ErrorCode.UNAUTHENTICATED]);

/**
 * Where a request's notes are kept: a member of its context. Apollo Server runs each
 * operation on a shallow copy of the context it was given (`cloneObject` in
 * ApolloServer.js internalExecuteOperation, @apollo/server 4), so the context the HTTP
 * layer built and the one plugins see are different objects sharing their members: the
 * notes are one such member. test/department-access-log.test.ts finds a record without
 * its coordinates and citizens if a version stops copying it.
 */
const NOTES = Symbol('proofless access-log notes');

type Noted = { [NOTES]?: RequestNotes };

/** A fresh request's notes, before anything ran. */
function freshNotes(): RequestNotes {
  return { operationName: null, documentHash: null, selected: [], asked: [], returned: [], outcome: 'error', errorCodes: [] };
}

/**
 * The plugin that takes the notes, `withNotes` to give each request's context its own
 * (before Apollo Server sees it), and `notesOf` to read them back from that context;
 * undefined when GraphQL never ran for it. The plugin must come before any that may
 * refuse in didResolveOperation, so the citizens asked are noted first.
 */
export function accessLogNotes(): {
  plugin: ApolloServerPlugin<BaseContext>;
  withNotes<Context extends object>(context: Context): Context;
  notesOf(context: object | undefined): RequestNotes | undefined;
} {
  const started = new WeakSet<RequestNotes>();
  const plugin: ApolloServerPlugin<BaseContext> = {
    async requestDidStart({ contextValue }) {
      const noted = (contextValue as Noted)[NOTES];
      if (!noted) return {};
      started.add(noted);
      let document: DocumentNode | undefined;
      return {
        async didResolveOperation({ schema, document: resolved, operation, operationName, request }) {
          document = resolved;
          noted.operationName = operationName ?? null;
          noted.documentHash = documentHash(resolved);
          if (!operation) return;
          noted.selected = selectedCoordinates(schema, resolved, operation).filter((coordinate) => coordinate !== ENTITIES).sort();
          const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: 1 }).coerced ?? {};
          const asked = new Set<string>();
          for (const field of fieldsWithArguments(schema, resolved, operation)) {
            try {
              collectIdNumbers(getArgumentValues(field.definition, field.node, coerced), asked, holdsIdNumbers);
            } catch {
              // Arguments that do not coerce are refused by execution; they named no citizen it read.
            }
          }
          noted.asked = [...asked];
        },
        async willSendResponse({ response, source }) {
          if (!noted.documentHash && source) noted.documentHash = createHash('sha256').update(source).digest('hex');
          const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const errors = result?.errors ?? [];
          noted.errorCodes = [...new Set(errors.map((error) => String(error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR)))];
          noted.outcome = outcomeOfAnswer(result?.data, errors, REFUSED_BEFORE_EXECUTION);
          if (document && result?.data) {
            const keys = idNumberKeysOf(document);
            const returned = new Set<string>();
            collectIdNumbers(result.data, returned, (name) => keys.has(name));
            noted.returned = [...returned];
          }
        },
      };
    },
  };
  return {
    plugin,
    withNotes: (context) => Object.assign(context, { [NOTES]: freshNotes() }),
    // Only notes the plugin began: a context whose request never reached the pipeline has nothing noted.
    notesOf: (context) => {
      const noted = (context as Noted | undefined)?.[NOTES];
      return noted && started.has(noted) ? noted : undefined;
    },
  };
}

/** Every well-formed ID number under a member `isIdNumberKey` names, anywhere in `value`, normalised. */
function collectIdNumbers(value: unknown, into: Set<string>, isIdNumberKey: (name: string) => boolean): void {
  if (Array.isArray(value)) {
    for (const item of value) collectIdNumbers(item, into, isIdNumberKey);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [name, member] of Object.entries(value)) {
    if (isIdNumberKey(name)) {
      for (const candidate of Array.isArray(member) ? member : [member]) {
        const checked = checkIdNumber(candidate);
        if (checked.ok) into.add(checked.idNumber);
      }
    }
    if (typeof member === 'object' && member !== null) collectIdNumbers(member, into, isIdNumberKey);
  }
}

const idNumberKeys = new WeakMap<DocumentNode, Set<string>>();

/** The answer keys under which the document puts an `idNumber` field: its name, or its alias (`id: idNumber` still returns a citizen). */
function idNumberKeysOf(document: DocumentNode): Set<string> {
  return memoisedIn(idNumberKeys, document, () => {
    const keys = new Set<string>(['idNumber']);
    visit(document, {
      Field(node) {
        if (node.name.value === 'idNumber') keys.add(node.alias?.value ?? node.name.value);
      },
    });
    return keys;
  });
}

import { Supergraph } from '@apollo/federation-internals';
import { GraphQLError, parse, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { ErrorCode } from '../../lib/error-codes';
import type { Logger } from '../../lib/logger';
import { readOperation, selectedCoordinates, type ProofRead } from '../../lib/proof-reads';
import type { GatewayClient, GatewayResponse } from './gateway-client';

/** What came back for one proof's read. */
export type ReadOutcome =
  | { kind: 'answered'; citizen: Record<string, unknown> | null }
  /**
   * `departments` names those that failed; empty when the gateway itself could not be
   * reached. `reason` says why for operators (the gateway's codes, or why it could not be
   * reached), never for the applicant: it may name hosts and ports.
   */
  | { kind: 'unavailable'; departments: string[]; reason: string };

export interface ProofReader {
  /** The supergraph's API schema: the types check arguments are sent as. */
  schema: GraphQLSchema;
  /**
   * Reads every proof in one gateway request under `headers`; one outcome per read, by
   * alias. A department that fails costs only the reads that touch it. A refusal of the
   * whole request (no token, a purpose the caller may not serve, a rate limit) is thrown
   * with the gateway's code and message. Reads that come back unavailable are logged with
   * why, under `requestId` (the request the bureau is answering) when there is one.
   */
  read(operationName: string, reads: ProofRead[], headers: Record<string, string>, requestId?: string): Promise<Map<string, ReadOutcome>>;
  /** The departments holding what a read selects, beyond the root field it starts from: who can correct a record. */
  holdingDepartments(read: ProofRead): string[];
}

/**
 * The bureau's reads through `gateway`. `logger` hears every read answered UNAVAILABLE and
 * why: the answer only says a proof is UNAVAILABLE, and the gateway's record of the
 * bureau's own request says `ok`. Default none: the service process passes its own, as the
 * gateway's server takes its log.
 */
export function proofReader(supergraph: { gatewaySdl: string; apiSchema: GraphQLSchema }, gateway: GatewayClient, logger?: Logger): ProofReader {
  const schema = supergraph.apiSchema;
  const owners = ownerByCoordinate(supergraph.gatewaySdl);
  const coordinatesBySelection = new Map<string, string[]>();
  const departmentsOf = (read: ProofRead, withRoot: boolean) => {
    let coordinates = coordinatesBySelection.get(read.selection);
    if (!coordinates) {
      coordinates = [...selectedCoordinates(schema, parse(readOperation('Read', [read]).query))];
      coordinatesBySelection.set(read.selection, coordinates);
    }
    const departments = coordinates.filter((coordinate) => withRoot || !coordinate.startsWith('Query.')).map((coordinate) => owners.get(coordinate));
    return [...new Set(departments.filter((department): department is string => department !== undefined))].sort();
  };

  return {
    schema,
    holdingDepartments: (read) => departmentsOf(read, false),
    async read(operationName, reads, headers, requestId) {
      if (reads.length === 0) return new Map();
      let response: GatewayResponse;
      try {
        response = await gateway({ ...readOperation(operationName, reads), headers });
      } catch (error) {
        const proofs = reads.map((read) => read.alias);
        const reason = (error as Partial<Error> | undefined)?.message ?? String(error);
        logger?.error({ requestId, operationName, proofs, err: error }, `proofs ${proofs.join(', ')} are UNAVAILABLE: ${reason}`);
        return new Map(reads.map((read): [string, ReadOutcome] => [read.alias, { kind: 'unavailable', departments: [], reason }]));
      }
      const { data, errors = [] } = response.body;
      if (!data) throw gatewayRefusal(errors[0]);
      const failures = new Map<string, { departments: Set<string>; codes: Set<string> }>();
      for (const error of errors) {
        const department = typeof error.extensions?.department === 'string' ? error.extensions.department : undefined;
        for (const read of readsHitBy(error, department, reads, (candidate) => departmentsOf(candidate, true))) {
          const failure = failures.get(read.alias) ?? { departments: new Set<string>(), codes: new Set<string>() };
          if (department) failure.departments.add(department);
          failure.codes.add(String(error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR));
          failures.set(read.alias, failure);
        }
      }
      if (failures.size > 0 && logger) {
        const proofs = reads.map((read) => read.alias).filter((alias) => failures.has(alias));
        logFailures(logger, { requestId, operationName, proofs, failures: [...failures.values()] });
      }
      return new Map(
        reads.map((read): [string, ReadOutcome] => {
          const failure = failures.get(read.alias);
          if (failure) return [read.alias, { kind: 'unavailable', departments: [...failure.departments].sort(), reason: failureReason([failure]) }];
          return [read.alias, { kind: 'answered', citizen: (data[read.alias] ?? null) as Record<string, unknown> | null }];
        }),
      );
    },
  };
}

/** What the gateway answered for failed reads: its codes and the departments it named, never an error's message (a department's words) or data. */
function failureReason(failures: { departments: Set<string>; codes: Set<string> }[]): string {
  const codes = [...new Set(failures.flatMap((failure) => [...failure.codes]))];
  const departments = [...new Set(failures.flatMap((failure) => [...failure.departments]))].sort();
  return `the gateway answered ${codes.join(', ')}${departments.length > 0 ? ` for the ${departments.join(' and ')} department` : ''}`;
}

/** One warning per gateway answer that left proofs UNAVAILABLE. */
function logFailures(logger: Logger, answer: { requestId?: string; operationName: string; proofs: string[]; failures: { departments: Set<string>; codes: Set<string> }[] }): void {
  const departments = [...new Set(answer.failures.flatMap((failure) => [...failure.departments]))].sort();
  const errorCodes = [...new Set(answer.failures.flatMap((failure) => [...failure.codes]))];
  logger.warn(
    { requestId: answer.requestId, operationName: answer.operationName, proofs: answer.proofs, departments, errorCodes },
    `proofs ${answer.proofs.join(', ')} are UNAVAILABLE: ${failureReason(answer.failures)}`,
  );
}

/**
 * The reads an error costs. An error with a path belongs to the read its alias names; a
 * department that did not answer at all gives an error without a path, which costs every
 * read touching that department (Query.citizen's department for every read); an error
 * naming neither costs them all.
 */
function readsHitBy(error: GraphQLFormattedError, department: string | undefined, reads: ProofRead[], departmentsOf: (read: ProofRead) => string[]): ProofRead[] {
  const alias = error.path?.[0];
  if (typeof alias === 'string' && reads.some((read) => read.alias === alias)) return reads.filter((read) => read.alias === alias);
  if (department) return reads.filter((read) => departmentsOf(read).includes(department));
  return reads;
}

function gatewayRefusal(error: GraphQLFormattedError | undefined): GraphQLError {
  if (!error) return new GraphQLError('the gateway answered without data or errors', { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } });
  return new GraphQLError(error.message, { extensions: { ...error.extensions, code: error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR } });
}

/**
 * Which department resolves each field coordinate, where exactly one does (Citizen.residesIn:
 * residence). Keys and shared value types (Citizen.idNumber, Address.detail) belong to
 * several and are resolved with the field that leads to them, so they name none.
 */
function ownerByCoordinate(gatewaySdl: string): Map<string, string> {
  const owners = new Map<string, string | null>();
  for (const subgraph of Supergraph.build(gatewaySdl).subgraphs()) {
    for (const type of subgraph.schema.objectTypes()) {
      for (const field of type.fields()) {
        const coordinate = `${type.name}.${field.name}`;
        owners.set(coordinate, owners.has(coordinate) ? null : subgraph.name);
      }
    }
  }
  return new Map([...owners].filter((entry): entry is [string, string] => entry[1] !== null));
}

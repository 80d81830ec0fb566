import type { ApolloServerPlugin, GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import type { OperationDefinitionNode } from 'graphql';
import { badUserInput, forbidden, unauthenticated } from '../../lib/error-codes';
import type { ProofCatalog } from '../../lib/catalog';
import type { Caller } from '../auth';
import { checkArgumentsProblem } from '../../lib/check-arguments';
import { refuse, type GatewayContext } from '../context';
import { fieldsWithArguments } from '../../lib/field-arguments';
import { isIntrospectionCoordinate } from '../operation-analysis';
import { operationCheckPlugin } from '../operation-check';
import { coercedVariables } from '../variables';

export interface PurposeOptions {
  /** The proof catalog: which fields each service item's proofs need. */
  catalog: ProofCatalog;
  /** Coordinates of audit data (served by the audit department): role auditor only. */
  auditorCoordinates: Set<string>;
  /** Coordinates an auditor may read beside audit data, that service callers reach through the catalog (a commitment's fields). */
  auditorAlsoReads: Set<string>;
}

const SERVICE_ITEM = /^[0-9A-Z][0-9A-Z-]{2,39}$/;
const CASE_NUMBER = /^[0-9A-Za-z][0-9A-Za-z-]{3,63}$/;

/** The purpose headers' formats, by header name: what the purpose check accepts. */
const PURPOSE_HEADER_FORMATS: Readonly<Record<string, RegExp>> = { 'x-service-item': SERVICE_ITEM, 'x-case-number': CASE_NUMBER };

/**
 * A purpose header as an audit record keeps it. A well-formed value is kept as sent; any
 * other value as `malformed:` and its first 32 letters, digits and hyphens, so that no
 * caller, token or none, can write text of its choosing (markup, a megabyte) into every
 * record an auditor reads, while the record still shows what was claimed.
 */
export function storablePurposeHeader(name: 'x-service-item' | 'x-case-number', value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (PURPOSE_HEADER_FORMATS[name].test(value)) return value;
  return `malformed:${value.replace(/[^0-9A-Za-z-]/g, '').slice(0, 32)}`;
}

/**
 * Role and purpose. Audit data is for role auditor alone; an auditor reads nothing else.
 * Purpose binding (PIPL Art. 6, minimum necessary): an operation that reads any citizen
 * field must come from a `service` caller, name its purpose in `X-Service-Item` and
 * `X-Case-Number`, act for a service item the caller's token grants, select only
 * fields that item's proofs need, and ask the item's checks only with the catalog's
 * arguments (lib/check-arguments.ts). Everything is decided from the document and headers
 * before the query is planned, so a refused request reaches no department and reveals
 * nothing about any citizen.
 */
export function purposePlugin(options: PurposeOptions): ApolloServerPlugin<GatewayContext> {
  return operationCheckPlugin((requestContext, { coordinates }) => {
    const dataCoordinates = [...coordinates].filter((coordinate) => !isIntrospectionCoordinate(coordinate));
    if (dataCoordinates.length === 0) return;
    const citizenCoordinates = dataCoordinates.filter((coordinate) => !options.auditorCoordinates.has(coordinate));
    const { caller } = requestContext.contextValue;
    if (!caller) refuse(requestContext, unauthenticated('a bearer token is required to read citizen data'));
    if (citizenCoordinates.length < dataCoordinates.length && caller.role !== 'auditor') {
      refuse(requestContext, forbidden('only role auditor may read audit records'));
    }
    if (caller.role === 'auditor') {
      if (citizenCoordinates.some((coordinate) => !options.auditorAlsoReads.has(coordinate))) {
        refuse(requestContext, forbidden('role auditor reads audit records, never citizen data'));
      }
      return;
    }
    if (citizenCoordinates.length > 0) checkPurpose(requestContext, options.catalog, citizenCoordinates);
  });
}

function checkPurpose(requestContext: GraphQLRequestContextDidResolveOperation<GatewayContext>, catalog: ProofCatalog, coordinates: string[]): void {
  const caller = requestContext.contextValue.caller as Caller;
  if (caller.role !== 'service') refuse(requestContext, forbidden('only role service may read citizen data'));

  const headers = requestContext.request.http?.headers;
  const serviceItem = headers?.get('x-service-item');
  const caseNumber = headers?.get('x-case-number');
  if (!serviceItem) refuse(requestContext, forbidden('X-Service-Item header is required: the code of the service item (事项) this request serves'));
  if (!SERVICE_ITEM.test(serviceItem)) {
    refuse(requestContext, forbidden('X-Service-Item must be a service item code of 3-40 capital letters, digits and hyphens, like 330100-JY-0001'));
  }
  if (!caseNumber) refuse(requestContext, forbidden('X-Case-Number header is required: the case (application) number this request serves'));
  if (!CASE_NUMBER.test(caseNumber)) refuse(requestContext, forbidden('X-Case-Number must be 4-64 letters, digits and hyphens'));
  if (!catalog.items.has(serviceItem)) refuse(requestContext, forbidden(`service item ${serviceItem} is not in the proof catalog`));
  if (!caller.serviceItems.includes(serviceItem)) {
    refuse(requestContext, forbidden(`application ${caller.application} is not granted service item ${serviceItem}`));
  }
  const notAllowed = coordinates.filter((coordinate) => !catalog.allows(serviceItem, coordinate)).sort();
  if (notAllowed.length > 0) {
    refuse(requestContext, forbidden(`service item ${serviceItem} does not need ${notAllowed.join(', ')}: ask only for the fields its proofs need`, { notAllowed }));
  }
  const { schema, document } = requestContext;
  const operation = requestContext.operation as OperationDefinitionNode;
  const variables = coercedVariables(requestContext);
  if (variables.problem !== undefined) refuse(requestContext, badUserInput(variables.problem));
  const wrongChecks = checkArgumentsProblem(serviceItem, catalog.checksOf(serviceItem), fieldsWithArguments(schema, document, operation), variables.values);
  if (wrongChecks) refuse(requestContext, forbidden(wrongChecks));
  requestContext.contextValue.purpose = { serviceItem, caseNumber };
}

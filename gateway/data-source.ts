import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../lib/error-codes';
import type { GatewayContext } from './context';

/** Headers passed on to every department: who asks (the token, for departments that check it themselves) and why. */
const FORWARDED_HEADERS = ['authorization', 'x-service-item', 'x-case-number', 'x-request-id'];

/**
 * One department's subgraph as the gateway calls it. The caller's purpose headers go
 * with every call, so a department sees the same who and why the gateway checked.
 *
 * When the call itself fails (refused connection, non-2xx answer, unreadable body),
 * @apollo/gateway would surface the raw fetch error, whose message holds the subgraph's
 * URL and which names no department; callers get DEPARTMENT_UNAVAILABLE naming the
 * department instead.
 */
export class DepartmentDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(readonly department: string, url: string) {
    super({ url });
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    // Only calls made for an incoming operation have a caller to speak for (not health checks).
    if (!('incomingRequestContext' in options)) return;
    options.incomingRequestContext.context.departmentsCalled?.add(this.department);
    const incoming = options.incomingRequestContext.request.http?.headers;
    const { request } = options;
    if (!incoming || !request.http) return;
    for (const name of FORWARDED_HEADERS) {
      const value = incoming.get(name);
      if (value) request.http.headers.set(name, value);
    }
  }

  override didEncounterError(): never {
    throw new GraphQLError(`the ${this.department} department could not answer`, {
      extensions: { code: ErrorCode.DEPARTMENT_UNAVAILABLE, department: this.department },
    });
  }
}

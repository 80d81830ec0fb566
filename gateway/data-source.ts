import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../lib/error-codes';

/**
 * One department's subgraph as the gateway calls it. When the call itself fails (refused
 * connection, non-2xx answer, unreadable body), @apollo/gateway would surface the raw
 * fetch error, whose message holds the subgraph's URL and which names no department;
 * callers get DEPARTMENT_UNAVAILABLE naming the department instead.
 */
export class DepartmentDataSource extends RemoteGraphQLDataSource {
  constructor(readonly department: string, url: string) {
    super({ url });
  }

  override didEncounterError(): never {
    throw new GraphQLError(`the ${this.department} department could not answer`, {
      extensions: { code: ErrorCode.DEPARTMENT_UNAVAILABLE, department: this.department },
    });
  }
}

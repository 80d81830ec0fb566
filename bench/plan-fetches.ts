import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { parse } from 'graphql';
import { withAuditIdentifiers } from '../gateway/audit-identifiers';

/**
 * How many fetches each department gets in the query plan of `query`, planned on the
 * harness's side with the planner @apollo/gateway itself uses (@apollo/query-planner,
 * the gateway's own dependency, same version). The Proofless gateway plans the document
 * after its audit rewrite (idNumber added to every Citizen selection), so that is what is
 * planned for it; the plain gateway plans the document as sent.
 */
export function plannedFetches(gatewaySdl: string, query: string, isAuditRewritten: boolean): Record<string, number> {
  const supergraph = Supergraph.build(gatewaySdl);
  const apiSchema = supergraph.apiSchema();
  let document = parse(query);
  if (isAuditRewritten) document = withAuditIdentifiers(apiSchema.toGraphQLJSSchema(), document);
  const plan: QueryPlan = new QueryPlanner(supergraph).buildQueryPlan(operationFromDocument(apiSchema, document));
  const fetches: Record<string, number> = {};
  const visit = (node: PlanNode | undefined): void => {
    if (!node) return;
    switch (node.kind) {
      case 'Fetch':
        fetches[node.serviceName] = (fetches[node.serviceName] ?? 0) + 1;
        break;
      case 'Sequence':
      case 'Parallel':
        node.nodes.forEach(visit);
        break;
      case 'Flatten':
        visit(node.node);
        break;
      case 'Condition':
        visit(node.ifClause);
        visit(node.elseClause);
        break;
      case 'Defer':
        visit(node.primary.node);
        node.deferred.forEach((deferred) => visit(deferred.node));
        break;
    }
  };
  const root = plan.node;
  if (root?.kind === 'Subscription') throw new Error('a subscription has no fetch count to compare');
  visit(root);
  return fetches;
}

import {
  separateOperations,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { memoisedIn } from './memoised';

/** A field the operation selects with arguments: where (`Type.field`), its definition, and the node that gives its arguments. */
export interface FieldWithArguments {
  coordinate: string;
  definition: GraphQLField<unknown, unknown>;
  node: FieldNode;
}

const byOperation = new WeakMap<OperationDefinitionNode, FieldWithArguments[]>();
const separatedByDocument = new WeakMap<DocumentNode, Record<string, DocumentNode>>();

/**
 * Every field with arguments in the operation that runs, through the fragments it spreads,
 * in document order; another operation of the same document runs with other variables, or
 * not at all. A typed walk, done once per parsed operation (Apollo Server reuses one per
 * query text); the argument values depend on each request's variables
 * (`getArgumentValues(definition, node, coercedVariables)`).
 */
export function fieldsWithArguments(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): FieldWithArguments[] {
  return memoisedIn(byOperation, operation, () => {
    const separated = memoisedIn(separatedByDocument, document, () => separateOperations(document));
    const fields: FieldWithArguments[] = [];
    const typeInfo = new TypeInfo(schema);
    visit(
      separated[operation.name?.value ?? ''] ?? document,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const definition = typeInfo.getFieldDef();
          const parent = typeInfo.getParentType();
          if (definition && parent && definition.args.length > 0) {
            fields.push({ coordinate: `${parent.name}.${definition.name}`, definition, node });
          }
        },
      }),
    );
    return fields;
  });
}

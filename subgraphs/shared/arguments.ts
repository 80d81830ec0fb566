import { badUserInput } from '../../lib/error-codes';
import { checkIdentifierArgument, DEFAULT_MAX_IDENTIFIER_LIST } from '../../lib/identifier-arguments';

/** The normalised ID number or credit code of a single-valued argument; BAD_USER_INPUT when malformed. */
export function requireIdentifier(name: 'idNumber' | 'creditCode', value: unknown): string {
  const result = checkIdentifierArgument(name, value);
  if (!result.ok) throw badUserInput(result.message);
  return result.value as string;
}

/** The normalised identifiers of a list argument, at most `maxLength` of them; BAD_USER_INPUT otherwise. */
export function requireIdentifierList(name: 'idNumbers' | 'creditCodes', value: unknown, maxLength = DEFAULT_MAX_IDENTIFIER_LIST): string[] {
  const result = checkIdentifierArgument(name, value, maxLength);
  if (!result.ok) throw badUserInput(result.message);
  return result.value as string[];
}

import type { PersonRow } from './registry';

type Relation = NonNullable<PersonRow['relation']>;

/** A relation to the head of household, as the head stands to that person. */
const HEAD_AS_SEEN_BY: Partial<Record<Relation, Relation>> = { SPOUSE: 'SPOUSE', CHILD: 'PARENT', PARENT: 'CHILD', SIBLING: 'SIBLING' };

/**
 * The other person's relation to this one, from both people's relation to the head of
 * household, where the booklet establishes it; null where it does not (the head's
 * grandchild and the head's child may be parent and child, or aunt and nephew).
 * `schema/household.graphql` (Citizen.inSameHouseholdAs) lists the pairs for callers.
 */
export function relationBetween(mine: Relation, theirs: Relation): Relation | null {
  if (mine === 'HEAD') return theirs === 'HEAD' || theirs === 'OTHER' ? null : theirs;
  if (theirs === 'HEAD') return HEAD_AS_SEEN_BY[mine] ?? null;
  if (mine === 'SPOUSE' && theirs === 'CHILD') return 'CHILD';
  if (mine === 'CHILD' && theirs === 'SPOUSE') return 'PARENT';
  if (mine === 'CHILD' && theirs === 'CHILD') return 'SIBLING';
  return null;
}

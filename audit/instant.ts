const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * An instant as an auditor or operator types it, in the form records are stored in
 * (`toISOString`), or null when it is not one. A date alone means midnight UTC; a time
 * must say its offset, because a bare local time would mean different instants on
 * different machines.
 */
export function parseInstant(raw: string): string | null {
  if (!INSTANT.test(raw)) return null;
  const time = new Date(raw);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}

export const INSTANT_EXAMPLE = '2024-06-01T09:30:00Z';

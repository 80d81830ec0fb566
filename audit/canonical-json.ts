/** RFC 8785 (JSON Canonicalization Scheme) for the value types audit data uses (canonical.ts says where it is used). */
export type CanonicalValue = string | number | null | CanonicalValue[] | { [member: string]: CanonicalValue };

/** RFC 8785 for the value types audit data uses; any other number is refused rather than encoded ambiguously. */
export function canonicalJson(value: CanonicalValue): string {
  if (value === null || typeof value === 'string') return JSON.stringify(value);
  // A boolean or undefined would otherwise be written as `{}` below.
  if (typeof value !== 'number' && typeof value !== 'object') throw new TypeError(`canonical JSON holds text, whole numbers, null, lists and objects only, got a ${typeof value}`);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON holds whole numbers only, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const members = Object.keys(value).sort().map((name) => `${JSON.stringify(name)}:${canonicalJson(value[name])}`);
  return `{${members.join(',')}}`;
}

// The JWE protected header in the byte form the agent recomputes as AAD: `alg`, then `enc`,
// then every other member in sorted key order (serde_json's default BTreeMap), nested objects
// such as `epk` sorted too (crv, kty, x, y), compact. The agent ignores a sent `aad` member,
// so any other order fails every decryption (guest-components attestation-agent/kbs_protocol,
// virtee/kbs-types src/lib.rs ProtectedHeader).

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function sorted(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(sorted).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sorted(value[k] as Json)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function serialiseProtectedHeader(alg: string, enc: string, others: Record<string, Json>): string {
  const rest = Object.keys(others)
    .filter((k) => k !== 'alg' && k !== 'enc')
    .sort()
    .map((k) => `,${JSON.stringify(k)}:${sorted(others[k] as Json)}`)
    .join('');
  return `{"alg":${JSON.stringify(alg)},"enc":${JSON.stringify(enc)}${rest}}`;
}

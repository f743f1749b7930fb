// The HCL runtime data (the report's variable data): JSON written by the Azure paravisor,
// {keys: [JWK...], vm-configuration: {...}, user-data: hex}. The attestation key is the
// JWK with kid "HCLAkPub" (az-cvm-vtpm hcl/mod.rs HCL_AKPUB_KEY_ID), an RSA key whose
// private part never leaves the vTPM. Read fail-closed: anything not of that shape is a
// failed check that says which member is wrong.

import { createPublicKey, type KeyObject } from 'node:crypto';
import type { AzureVmClaims } from '../result.ts';

export const HCL_AK_KID = 'HCLAkPub';
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface RuntimeData {
  ak: KeyObject;
  /** Modulus length in bytes. */
  akModulusBytes: number;
  vm: AzureVmClaims;
  /** user-data as bytes, when present and hex. */
  userData?: Uint8Array;
}

export type RuntimeDataParse = { ok: true; data: RuntimeData } | { ok: false; id: 'azure.runtime-data.json' | 'azure.runtime-data.ak'; detail: string; expected: unknown; found: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseRuntimeData(bytes: Uint8Array): RuntimeDataParse {
  const json = (detail: string, expected: unknown, found: unknown): RuntimeDataParse => ({ ok: false, id: 'azure.runtime-data.json', detail, expected, found });
  const akFail = (detail: string, expected: unknown, found: unknown): RuntimeDataParse => ({ ok: false, id: 'azure.runtime-data.ak', detail, expected, found });
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return json(`The HCL runtime data is not UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}.`, 'a JSON object', `${bytes.length} bytes`);
  }
  if (!isObject(doc)) return json('The HCL runtime data is not a JSON object.', 'object', Array.isArray(doc) ? 'array' : typeof doc);
  if (!Array.isArray(doc.keys)) return json('The HCL runtime data has no keys array.', 'keys: [JWK...]', typeof doc.keys);
  const cfg = doc['vm-configuration'];
  if (cfg !== undefined && !isObject(cfg)) return json('The HCL runtime data vm-configuration is not an object.', 'object', typeof cfg);
  const vm: AzureVmClaims = {};
  const bool = (k: string, into: keyof AzureVmClaims): RuntimeDataParse | undefined => {
    const v = cfg?.[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return json(`vm-configuration.${k} is not a boolean.`, 'boolean', v);
    (vm as Record<string, unknown>)[into] = v;
    return undefined;
  };
  for (const [k, into] of [['secure-boot', 'secureBoot'], ['tpm-enabled', 'tpmEnabled'], ['console-enabled', 'consoleEnabled'], ['tpm-persisted', 'tpmPersisted']] as const) {
    const bad = bool(k, into);
    if (bad) return bad;
  }
  if (cfg?.vmUniqueId !== undefined) {
    if (typeof cfg.vmUniqueId !== 'string') return json('vm-configuration.vmUniqueId is not a string.', 'string', cfg.vmUniqueId);
    vm.vmId = cfg.vmUniqueId;
  }
  let userData: Uint8Array | undefined;
  const ud = doc['user-data'];
  if (ud !== undefined) {
    if (typeof ud !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(ud)) return json('user-data is not a hex string.', 'hex', typeof ud === 'string' ? ud.slice(0, 16) : typeof ud);
    userData = new Uint8Array(Buffer.from(ud, 'hex'));
    vm.userData = ud.toLowerCase();
  }

  const aks = doc.keys.filter((k) => isObject(k) && k.kid === HCL_AK_KID);
  if (aks.length !== 1) return akFail(`The runtime data holds ${aks.length} keys with kid ${HCL_AK_KID}; exactly one is needed.`, 1, aks.length);
  const jwk = aks[0] as Record<string, unknown>;
  if (jwk.kty !== 'RSA') return akFail(`The ${HCL_AK_KID} key is ${String(jwk.kty)}, not RSA.`, 'RSA', jwk.kty ?? null);
  if (typeof jwk.n !== 'string' || !B64URL.test(jwk.n) || typeof jwk.e !== 'string' || !B64URL.test(jwk.e)) {
    return akFail(`The ${HCL_AK_KID} key lacks a base64url n or e.`, 'n and e, base64url', { n: typeof jwk.n, e: typeof jwk.e });
  }
  let ak: KeyObject;
  try {
    ak = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
  } catch (err) {
    return akFail(`The ${HCL_AK_KID} key is not a usable RSA public key: ${err instanceof Error ? err.message : String(err)}.`, 'an RSA public key', null);
  }
  const bits = ak.asymmetricKeyDetails?.modulusLength ?? 0;
  // The Azure vTPM AK is RSA-2048; smaller keys are refused as too weak, larger ones accepted.
  if (bits < 2048 || bits > 8192) return akFail(`The ${HCL_AK_KID} key is RSA-${bits}.`, 'RSA-2048 to RSA-8192', bits);
  return { ok: true, data: { ak, akModulusBytes: Math.ceil(bits / 8), vm, ...(userData ? { userData } : {}) } };
}

// The appraisal policy document: its shape, as a zod schema. Strict everywhere, so a
// misspelt field is an error instead of a check that silently never runs. Hex values
// are length-checked per field (the byte sizes are those of the report fields they are
// compared with) and normalised to lower case, so comparisons are plain string equality.
//
// Defaults (allowDebug: false, acceptedTcbStatuses: [UpToDate]...) are NOT injected
// here: the stored document stays what its author wrote (normalised), and the policy
// hash covers exactly that. evaluate.ts applies the defaults, and documents them.

import { z } from 'zod';
import { INTEL_TCB_STATUSES } from '../result.ts';
import { SNP_PRODUCTS } from '../snp/product.ts';

/** A lower-case hex string of exactly `bytes` bytes. */
function hex(bytes: number) {
  const re = new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`);
  return z
    // YAML reads an unquoted value of only digits (e.g. an all-zero HOST_DATA) as a number.
    .string({ error: `expected ${bytes} bytes of hex as a string (quote hex values in YAML: unquoted digits read as a number)` })
    .refine((s) => re.test(s), { message: `expected ${bytes} bytes of hex (${bytes * 2} hex digits)` })
    .transform((s) => s.toLowerCase());
}

/** Names of reference-value sets (and of CEL rules): no spaces, no path tricks. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const refSetName = z.string().regex(NAME_RE, 'expected a reference-value set name (letters, digits, . _ -; at most 128)');

/** `{ referenceValues: "<set name>" }`: the allowed values are those of a named set, resolved at evaluation. */
export const referenceValuesSchema = z.strictObject({ referenceValues: refSetName });
export type ReferenceValuesRef = z.output<typeof referenceValuesSchema>;

/** Allowed values: an inline list of hex values of the field's size, or a reference-value set. */
function allowedHex(bytes: number) {
  return z.union([z.array(hex(bytes)).min(1, 'expected at least one value'), referenceValuesSchema], {
    error: `expected a list of ${bytes}-byte hex values or { referenceValues: "<set name>" }`,
  });
}
export type AllowedHex = string[] | ReferenceValuesRef;

const u8 = z.number().int().min(0).max(255);
const u16 = z.number().int().min(0).max(0xffff);
const u32 = z.number().int().min(0).max(0xffffffff);


const tcbStatus = z.enum(INTEL_TCB_STATUSES);
const tcbStatusList = z.array(tcbStatus).min(1, 'expected at least one TCB status');

/** Intel advisory ids as TCB Info lists them (INTEL-SA-00960, INTEL-DOC-...), normalised to upper case. */
const advisoryId = z
  .string()
  .regex(/^[A-Za-z]+-[A-Za-z]+-[0-9]+$/, 'expected an advisory id such as INTEL-SA-00960')
  .transform((s) => s.toUpperCase());

/**
 * Minimum SEV-SNP TCB, per component of TCB_VERSION (AMD SEV-SNP ABI spec, "TCB_VERSION"
 * structure; Turin adds FMC). Each SPL is one byte.
 */
const tcbComponents = {
  bootloader: u8.optional(),
  tee: u8.optional(),
  snp: u8.optional(),
  microcode: u8.optional(),
  /** Turin and later only (the FMC SPL); see evaluate for products without it. */
  fmc: u8.optional(),
};
const snpTcbSchema = z
  .strictObject(tcbComponents)
  .refine((t) => Object.keys(t).length > 0, { message: 'expected at least one TCB component minimum' });
export type SnpTcbMinimum = z.output<typeof snpTcbSchema>;

/**
 * `minTcb` is either one set of component minimums for every product, or one set per
 * product, for fleets that mix product lines: SPL numbers are per product (Milan's SNP
 * SPL 22 and Turin's SNP SPL 4 say nothing about each other), and a report of a product
 * the map does not list fails. One object schema with both kinds of keys (rather than a
 * union) keeps every error at its exact field.
 */
const snpMinTcbSchema = z
  .strictObject({ ...tcbComponents, Milan: snpTcbSchema.optional(), Genoa: snpTcbSchema.optional(), Turin: snpTcbSchema.optional() })
  .superRefine((t, ctx) => {
    const keys = Object.keys(t);
    const products = keys.filter((k) => k === 'Milan' || k === 'Genoa' || k === 'Turin');
    if (keys.length === 0) ctx.addIssue({ code: 'custom', message: 'expected at least one TCB component minimum, or one product' });
    else if (products.length > 0 && products.length < keys.length) {
      ctx.addIssue({ code: 'custom', message: 'use either component minimums for every product, or per-product minimums { Milan, Genoa, Turin }, not both' });
    }
  });
export type SnpMinTcb = z.output<typeof snpMinTcbSchema>;

/**
 * Required values of the PLATFORM_INFO bits (ATTESTATION_REPORT at 40h; AMD SEV-SNP ABI
 * 56860 rev 1.58, Table 23 "ATTESTATION_REPORT Structure" and the PLATFORM_INFO field
 * table): each key set is one rule, the bit must be what it says. go-sev-guest's
 * `PlatformInfo` maximum is the `false` case (a feature the policy does not allow must be
 * off); `true` requires a feature (ECC, the BadRAM alias check). Bits newer firmware sets
 * that the ABI revision we read does not name are not here (see platform-info.ts).
 */
const snpPlatformInfoSchema = z
  .strictObject({
    /** Bit 0 SMT_EN: SMT is enabled on the host. */
    smtEnabled: z.boolean().optional(),
    /** Bit 1 TSME_EN: transparent SME is enabled. */
    tsmeEnabled: z.boolean().optional(),
    /** Bit 2 ECC_EN: the platform uses ECC memory. */
    eccEnabled: z.boolean().optional(),
    /** Bit 3 RAPL_DIS: the RAPL power-measurement interface is disabled. */
    raplDisabled: z.boolean().optional(),
    /** Bit 4 CIPHERTEXT_HIDING_DRAM_EN: ciphertext hiding for DRAM is enabled. */
    ciphertextHidingEnabled: z.boolean().optional(),
    /** Bit 5 ALIAS_CHECK_COMPLETE: the firmware checked for memory aliasing (BadRAM, AMD-SB-3015). */
    aliasCheckComplete: z.boolean().optional(),
  })
  // Only for an otherwise valid object: a misspelt key is reported as such, not also as "no bit".
  .refine((t) => Object.keys(t).length > 0, { message: 'expected at least one PLATFORM_INFO bit', when: (p) => p.issues.length === 0 });
export type SnpPlatformInfoRequirement = z.output<typeof snpPlatformInfoSchema>;

/** An ABI version major.minor (each one byte, as in the guest policy and the report's firmware versions). */
const abiVersionSchema = z.strictObject({ major: u8, minor: u8 });
/** A firmware version major.minor.build (CURRENT_* / COMMITTED_* at 1E8h-1EEh, one byte each). */
const firmwareVersionSchema = z.strictObject({ major: u8, minor: u8, build: u8 });

const snpSchema = z.strictObject({
  /** Allowed launch MEASUREMENT values (48 bytes). */
  measurements: allowedHex(48).optional(),
  /** Guest policy DEBUG (bit 19). Default false: debug guests are denied. */
  allowDebug: z.boolean().optional(),
  /** Guest policy MIGRATE_MA (bit 18). Default false: a guest that allows a migration agent is denied. */
  allowMigrationAgent: z.boolean().optional(),
  /** Guest policy SMT (bit 16). When false, a guest whose policy allows SMT is denied. No default (SMT allowed). */
  allowSmt: z.boolean().optional(),
  /** Minimum guest policy ABI_MAJOR.ABI_MINOR (bits 15:8, 7:0): the firmware ABI the guest owner demanded at launch. */
  minPolicyAbi: abiVersionSchema.optional(),
  /** Require guest policy SINGLE_SOCKET (bit 20): the guest may run on one socket only. Only `true` is a check. */
  requireSingleSocket: z.boolean().optional(),
  /** Required PLATFORM_INFO bits. */
  platformInfo: snpPlatformInfoSchema.optional(),
  /** Minimum firmware version, held against CURRENT and COMMITTED major.minor.build (compared in that order). */
  minFirmware: firmwareVersionSchema.optional(),
  /** Require KEY_INFO AUTHOR_KEY_EN: an ID block signed by an author key; needs `authorKeyDigests`. Only `true` is a check. */
  requireAuthorKey: z.boolean().optional(),
  /** Minimum REPORTED_TCB per component: one set for every product, or one per product. */
  minTcb: snpMinTcbSchema.optional(),
  /** Allowed VMPLs: a list, or `{ max: n }`. */
  vmpl: z
    .union([z.array(z.number().int().min(0).max(3)).min(1), z.strictObject({ max: z.number().int().min(0).max(3) })], {
      error: 'expected a list of VMPLs (0..3) or { max: <0..3> }',
    })
    .optional(),
  /** Allowed HOST_DATA values (32 bytes). */
  hostData: allowedHex(32).optional(),
  /** Allowed FAMILY_ID values (16 bytes, from the ID block). */
  familyId: allowedHex(16).optional(),
  /** Allowed IMAGE_ID values (16 bytes, from the ID block). */
  imageId: allowedHex(16).optional(),
  /** Allowed ID_KEY_DIGEST values (48 bytes: SHA-384 of the ID key). */
  idKeyDigests: allowedHex(48).optional(),
  /** Allowed AUTHOR_KEY_DIGEST values (48 bytes). */
  authorKeyDigests: allowedHex(48).optional(),
  /** Minimum GUEST_SVN. */
  minGuestSvn: u32.optional(),
  /** Allowed products. */
  products: z.array(z.enum(SNP_PRODUCTS)).min(1).optional(),
  /** Allowed report signers. */
  signers: z.array(z.enum(['VCEK', 'VLEK'])).min(1).optional(),
}).superRefine((p, ctx) => {
  // As go-sev-guest RequireAuthorKey (which implies RequireIDBlock): an author key only
  // means something when it is one the policy trusts.
  if (p.requireAuthorKey === true && p.authorKeyDigests === undefined) {
    ctx.addIssue({ code: 'custom', path: ['requireAuthorKey'], message: 'requireAuthorKey needs authorKeyDigests: the author keys the policy trusts' });
  }
});

const rtmrSchema = z.strictObject({
  '0': allowedHex(48).optional(),
  '1': allowedHex(48).optional(),
  '2': allowedHex(48).optional(),
  '3': allowedHex(48).optional(),
});

/**
 * `tdx.eventLog`: rules on the TD event log's replayed events (claims.tdx.eventLog,
 * verifier/policy/validate-eventlog.ts). `kernelCmdline` is a string (exact match) or
 * `{ regex }`, a JavaScript regular expression that must match the WHOLE command line
 * (it is anchored for you: `console=hvc0` alone matches nothing longer).
 */
const kernelCmdlineSchema = z.union(
  [
    z.string().min(1).max(4096),
    z.strictObject({
      regex: z
        .string()
        .min(1)
        .max(4096)
        .refine((src) => {
          try {
            new RegExp(src, 'u');
            return true;
          } catch {
            return false;
          }
        }, { message: 'expected a valid regular expression (JavaScript syntax, u flag)' }),
    }),
  ],
  { error: 'expected the exact kernel command line, or { regex: "<expression matching the whole command line>" }' },
);
const tdxEventLogSchema = z.strictObject({
  /** Require an event log with the evidence (claims.tdx.eventLog present; a log that does not replay fails verification anyway). */
  required: z.boolean().optional(),
  /** The measured kernel command line(s) in the log: each must match. */
  kernelCmdline: kernelCmdlineSchema.optional(),
  /** Allowed EV_EFI_BOOT_SERVICES_APPLICATION digests (48 bytes: shim, GRUB, a UKI...): every boot application in the log must be one. */
  bootAppDigests: allowedHex(48).optional(),
});
export type TdxEventLogPolicy = z.output<typeof tdxEventLogSchema>;

const tdxSchema = z.strictObject({
  /** Allowed MRTD values (48 bytes). */
  mrtd: allowedHex(48).optional(),
  /** Allowed RTMR values per index 0..3 (48 bytes each). */
  rtmr: rtmrSchema.optional(),
  mrConfigId: allowedHex(48).optional(),
  mrOwner: allowedHex(48).optional(),
  mrOwnerConfig: allowedHex(48).optional(),
  /** TDATTRIBUTES.DEBUG, or any bit of its TUD group (7:0). Default false. */
  allowDebug: z.boolean().optional(),
  /** TDATTRIBUTES.MIGRATABLE (bit 29, TDX 1.5). Default false: a migratable TD is denied, as an SNP migration agent is. */
  allowMigratable: z.boolean().optional(),
  /** Require TDATTRIBUTES.SEPT_VE_DISABLE (bit 28). */
  requireSeptVeDisable: z.boolean().optional(),
  /** Default [UpToDate]. */
  acceptedTcbStatuses: tcbStatusList.optional(),
  /** Accepted, but the result is `warning`. */
  warnTcbStatuses: tcbStatusList.optional(),
  forbiddenAdvisories: z.array(advisoryId).min(1).optional(),
  /** Allowed MRSERVICETD values (TD 1.5 reports only). */
  mrServiceTd: allowedHex(48).optional(),
  minTcbEvaluationDataNumber: u32.optional(),
  /**
   * Bytes after the quote's end (unsigned; the Linux quote interfaces pad with zeros).
   * Unset: accepted, as Intel's QVL accepts them since DCAP 1.18; the verifier warns.
   * false: a quote with any is denied (rule tdx.allowTrailingBytes, found = the count).
   */
  allowTrailingBytes: z.boolean().optional(),
  /** Rules on the replayed event log (CCEL). */
  eventLog: tdxEventLogSchema.optional(),
});

const sgxSchema = z.strictObject({
  /** Allowed MRENCLAVE values (32 bytes). */
  mrenclave: allowedHex(32).optional(),
  /** Allowed MRSIGNER values (32 bytes). */
  mrsigner: allowedHex(32).optional(),
  /** Allowed ISVPRODID values. */
  isvProdId: z.array(u16).min(1).optional(),
  minIsvSvn: u16.optional(),
  /** ATTRIBUTES.DEBUG. Default false. */
  allowDebug: z.boolean().optional(),
  /** Default [UpToDate]. */
  acceptedTcbStatuses: tcbStatusList.optional(),
  /** Accepted, but the result is `warning`. */
  warnTcbStatuses: tcbStatusList.optional(),
  /** As tdx.allowTrailingBytes: SGX quotes go through the same parser. */
  allowTrailingBytes: z.boolean().optional(),
});

/** Expected sha256 PCR values by index (0..23; 32 bytes each): a list or a reference-value set. */
const pcrSchema = z.strictObject(Object.fromEntries(Array.from({ length: 24 }, (_, i) => [String(i), allowedHex(32).optional()])) as Record<string, z.ZodOptional<ReturnType<typeof allowedHex>>>);

/**
 * Azure confidential VMs (az-snp-vtpm, az-tdx-vtpm). Always applied, whatever is set:
 * `azure.tpmQuote`, the TPM quote verified (signed by the HCL attestation key, PCR digest).
 * The hardware report is appraised by the `snp` or `tdx` block as for bare evidence.
 */
const azureSchema = z.strictObject({
  /** Expected TPM PCR values (claims.tpm.pcrs), per index. */
  pcrs: pcrSchema.refine((p) => Object.keys(p).length > 0, { message: 'expected at least one PCR index (0..23)' }).optional(),
  /** Require the runtime data's vm-configuration secure-boot to be true. */
  requireSecureBoot: z.boolean().optional(),
  /** Require vm-configuration tpm-enabled to be true. */
  requireTpmEnabled: z.boolean().optional(),
});

/** AR4SI trustworthiness claims a rule may speak for (draft-ietf-rats-ar4si, section 2.3). */
export const TRUST_CLAIMS = [
  'instance-identity',
  'configuration',
  'executables',
  'file-system',
  'hardware',
  'runtime-opaque',
  'storage-opaque',
  'sourced-data',
] as const;
export type TrustClaim = (typeof TRUST_CLAIMS)[number];

const ruleSchema = z.strictObject({
  /** Unique within the policy; the rule's outcome id is `rules.<name>`. */
  name: z.string().regex(NAME_RE, 'expected a rule name (letters, digits, . _ -; at most 128)'),
  /** CEL expression that must evaluate to true. Variables: claims, tcb, refs. */
  expr: z.string().min(1, 'expected a CEL expression').max(4096, 'a CEL expression is at most 4096 characters'),
  /** Default deny. */
  effect: z.enum(['deny', 'warn']).optional(),
  /** Shown in the explanation when the rule fails. */
  message: z.string().max(1024).optional(),
  /** Which AR4SI trustworthiness claim a failure affects. Default `configuration`. */
  trustClaim: z.enum(TRUST_CLAIMS).optional(),
});
export type PolicyRule = z.output<typeof ruleSchema>;

export const appraisalPolicySchema = z
  .strictObject({
    name: z.string().min(1).max(128).optional(),
    description: z.string().max(4096).optional(),
    /** Which TEEs the policy accepts. Default: all. */
    tees: z.array(z.enum(['sev-snp', 'tdx', 'sgx', 'az-snp-vtpm', 'az-tdx-vtpm'])).min(1, 'expected at least one TEE').optional(),
    snp: snpSchema.optional(),
    tdx: tdxSchema.optional(),
    sgx: sgxSchema.optional(),
    azure: azureSchema.optional(),
    rules: z.array(ruleSchema).max(256).optional(),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.rules?.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name '${r.name}'` });
      seen.add(r.name);
    });
    if (p.tees && new Set(p.tees).size !== p.tees.length) ctx.addIssue({ code: 'custom', path: ['tees'], message: 'duplicate TEE' });
  });

/** A validated, normalised appraisal policy (plain JSON data). */
export type AppraisalPolicy = z.output<typeof appraisalPolicySchema>;
export type SnpPolicy = NonNullable<AppraisalPolicy['snp']>;
export type TdxPolicy = NonNullable<AppraisalPolicy['tdx']>;
export type SgxPolicy = NonNullable<AppraisalPolicy['sgx']>;
export type AzurePolicy = NonNullable<AppraisalPolicy['azure']>;

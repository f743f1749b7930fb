// The production trust anchors: AMD's ARKs and Intel's SGX Root CA, pinned in the code.
// Never includes a simulator or test root.

import type { TrustAnchors } from './anchors.ts';
import { AMD_ANCHORS } from './snp/amd-roots.ts';
import { INTEL_ANCHORS } from './tdx/intel-root.ts';

export const PRODUCTION_ANCHORS: TrustAnchors = Object.freeze({ amd: AMD_ANCHORS, intel: INTEL_ANCHORS });

#!/usr/bin/env bash
# An emulated Azure confidential VM host for `tessera-agent --provider azure-vtpm`: a real
# software TPM (Debian swtpm, driven with tpm2-tools) provisioned as Azure's vTPM (an RSA
# attestation key at 0x81000003, the HCL report in NV index 0x01400001), the paravisor that
# refreshes the HCL report when the guest writes report data to 0x01400002, and the
# instance metadata service (VCEK from THIM, TD quotes), signed by the simulator chain in
# $TESSERA_SIMULATOR_DIR. See README "Azure confidential VMs (vTPM)". Development only.
#   scripts/swtpm-azure-demo.sh [--tee snp|tdx] [--dir DIR] [--imds-port PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in swtpm tpm2_quote; do
  command -v "$tool" >/dev/null || { echo "swtpm-azure-demo: $tool is missing (Debian: apt install swtpm tpm2-tools)" >&2; exit 2; }
done
exec node --import tsx guest-agent/testing/swtpm-azure-demo.ts "$@"

// Where the simulator keeps its chain on disk, so that a development server and the guest
// agent on the same machine share one simulated vendor: one JSON file, private keys
// included, mode 0600, replaced atomically. This module is the only one in verifier/ that
// touches the disk, and only for the development simulator.

import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createSimulatorChain, parseSimulatorChain, refreshSimulatorCollateral, serializeSimulatorChain, type SimulatorChain } from './simulated-chain.ts';

export const SIMULATOR_CHAIN_FILE = 'simulator-chain.json';
/** Collateral is re-signed on load when it would stop being current within this margin. */
const REFRESH_MARGIN_MS = 30 * 86_400_000;

/** `$TESSERA_SIMULATOR_DIR`, else `~/.local/state/tessera/simulator`. */
export function defaultSimulatorDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['TESSERA_SIMULATOR_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return join(homedir(), '.local', 'state', 'tessera', 'simulator');
}

async function writeTemp0600(path: string, text: string): Promise<string> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600); // whatever the umask: the file holds private keys
    return tmp;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Replace `path` atomically (a reader sees the old or the new file, whole). */
async function replace0600(path: string, text: string): Promise<void> {
  const tmp = await writeTemp0600(path, text);
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Create `path` only if it does not exist (link(2) fails with EEXIST); false when another process was first. */
async function createExclusive0600(path: string, text: string): Promise<boolean> {
  const tmp = await writeTemp0600(path, text);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

export interface LoadSimulatorChainOptions {
  /** The current time: for a new chain's validity and for refreshing expiring collateral. */
  now?: Date;
  /** RSA size for a new chain's ARK/ASK. */
  rsaBits?: 2048 | 4096;
}

/**
 * Load the chain from `dir`, or create and store it there (mode 0600) when there is none.
 * Expiring collateral (CRLs, TCB Info, QE Identity) is re-signed and stored back. A file
 * that exists but cannot be parsed is an error: it is never silently replaced.
 */
export async function loadOrCreateSimulatorChain(dir: string = defaultSimulatorDir(), options: LoadSimulatorChainOptions = {}): Promise<SimulatorChain> {
  const now = options.now ?? new Date();
  const path = join(dir, SIMULATOR_CHAIN_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    const chain = parseSimulatorChain(text);
    if (chain.collateralNextUpdate.getTime() - now.getTime() > REFRESH_MARGIN_MS) return chain;
    const refreshed = await refreshSimulatorCollateral(chain, now);
    await replace0600(path, serializeSimulatorChain(refreshed));
    return refreshed;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const chain = await createSimulatorChain({ now, ...(options.rsaBits ? { rsaBits: options.rsaBits } : {}) });
  // A server and an agent started together may both get here: the first to link its file
  // wins, and the other uses the stored chain, so that both trust and sign with one chain.
  if (await createExclusive0600(path, serializeSimulatorChain(chain))) return chain;
  return parseSimulatorChain(await readFile(path, 'utf8'));
}

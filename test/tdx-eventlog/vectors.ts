// The CCEL vectors (test/fixtures/tdx-ccel/): each log with the RTMRs trustee asserts for
// it and the events trustee's parser decodes from it.
import { readFileSync } from 'node:fs';

export const CCEL_DIR = new URL('../fixtures/tdx-ccel/', import.meta.url);

export interface CcelCase {
  name: string;
  log: Uint8Array;
  rtmr?: string[];
  parsed?: string;
}

function casesOf(file: string): CcelCase[] {
  const doc = JSON.parse(readFileSync(new URL(file, CCEL_DIR), 'utf8')) as { cases: Record<string, { rtmr?: string[]; parsed?: string }> };
  return Object.entries(doc.cases).map(([name, c]) => ({ name, log: new Uint8Array(readFileSync(new URL(name, CCEL_DIR))), ...c }));
}

export const CCEL_CASES: CcelCase[] = [...casesOf('case.json'), ...casesOf('case-more.json')];

export const hexBytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

// The verification worker's entry file. A worker thread does not inherit the TypeScript
// loader of the main thread (registered by bin/tessera.js, or by `node --import tsx`), so it
// registers tsx itself before loading task.ts.
import { register } from 'tsx/esm/api';

register();
const { default: verifyInWorker } = await import('./task.ts');
export default verifyInWorker;

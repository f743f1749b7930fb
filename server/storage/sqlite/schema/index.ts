// All tables of the server, for drizzle's typed queries (drizzle-kit reads the files directly).
export * from './challenges.ts';
export * from './attestations.ts';
export * from './policies.ts';
export * from './reference-values.ts';
export * from './audit.ts';
export * from './api-tokens.ts';
export * from './signing-keys.ts';
export * from './collateral.ts';
export * from './config-epoch.ts';
export * from './kbs-sessions.ts';

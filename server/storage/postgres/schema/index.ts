// All tables of the PostgreSQL engine, for drizzle's typed queries (drizzle-kit reads the files directly).
export * from './api-tokens.ts';
export * from './attestations.ts';
export * from './audit.ts';
export * from './challenges.ts';
export * from './collateral.ts';
export * from './config-epoch.ts';
export * from './policies.ts';
export * from './rate-limits.ts';
export * from './reference-values.ts';
export * from './secrets.ts';
export * from './signing-keys.ts';
export * from './kbs-sessions.ts';

// The advisory-lock keys of the engine (two-int form: a class for tessera, an object per use),
// so they cannot collide with another application's keys on a shared server.

/** 'tess' in ASCII: the class of every lock below. */
export const LOCK_CLASS = 0x74657373;
/** Held (session level) while migrations are applied: N replicas starting at once migrate once. */
export const MIGRATION_LOCK = 1;
/** Held (transaction level) by every audit append: one writer at the chain's head, deployment-wide. */
export const AUDIT_LOCK = 2;
/** The class of the per-document locks of cold collateral fetches (object: hashtext(document key)). */
export const COLLATERAL_LOCK_CLASS = 0x74657374;

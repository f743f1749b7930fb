// CEL (https://cel.dev) for policy rules, on @bufbuild/cel: one environment per kind of
// policy, compilation once (parse + plan), and evaluation that never throws.
//
// @bufbuild/cel does not export its type checker, and its planner resolves identifiers
// and functions only when an expression runs. A typo (`claim.tee`, `sise(x)`) would then
// make a rule fail on every attestation instead of failing at upload. So compile()
// walks the parsed expression and rejects identifiers that are not declared variables
// (or comprehension variables in scope) and functions the environment does not have.

import { celEnv, isCelError, parse, plan, CelScalar } from '@bufbuild/cel';
import type { CelEnv, CelInput } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

type Expr = ReturnType<typeof parse>['expr'];

/** A compiled expression: call with the variables, get true / false / an error message. */
export type CelProgram = (vars: Record<string, unknown>) => CelOutcome;
export type CelOutcome = { ok: true; value: boolean } | { ok: false; error: string };

// CEL type names are identifiers too (`type(x) == int`).
const TYPE_IDENTS = new Set(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn']);
// Operators the planner implements itself (short-circuit logic, indexing, and the helper
// the all() macro expands to), so they are not in the function resolver.
/** How deep comprehensions (the bodies of all/exists/map/filter) may nest. */
export const MAX_COMPREHENSION_NESTING = 2;

const BUILTIN_OPERATORS = new Set(['_&&_', '_||_', '_?_:_', '_[_]', '@not_strictly_false']);

export function makeEnv(variables: readonly string[]): { env: CelEnv; variables: ReadonlySet<string> } {
  const decls: Record<string, typeof CelScalar.DYN> = {};
  for (const v of variables) decls[v] = CelScalar.DYN;
  return { env: celEnv({ variables: decls, funcs: strings }), variables: new Set(variables) };
}

/** Compile `source`, or throw an Error whose message says what is wrong and where. */
export function compile(ctx: { env: CelEnv; variables: ReadonlySet<string> }, source: string): CelProgram {
  const parsed = parse(source); // throws with `<input>:line:col: ...`
  const problem = staticCheck(ctx, parsed.expr, new Set(), 0);
  if (problem) throw new Error(problem);
  const run = plan(ctx.env, parsed);
  return (vars) => {
    let value: unknown;
    try {
      value = run(vars as Record<string, CelInput>);
    } catch (e) {
      // The planner returns CelErrors; anything thrown is a bug in a function. Fail closed.
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    if (isCelError(value)) return { ok: false, error: value.message };
    if (typeof value !== 'boolean') return { ok: false, error: `the expression returned ${describe(value)}, not a boolean` };
    return { ok: true, value };
  };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `int ${v}`;
  if (typeof v === 'number') return `double ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v === 'object' ? 'a list or map' : typeof v;
}

/** The first undeclared identifier or unknown function in `e`, as a message; undefined when clean. */
function staticCheck(ctx: { env: CelEnv; variables: ReadonlySet<string> }, e: Expr | undefined, scope: ReadonlySet<string>, depth: number): string | undefined {
  if (!e) return undefined;
  const check = (x: Expr | undefined, s: ReadonlySet<string> = scope, d: number = depth) => staticCheck(ctx, x, s, d);
  const k = e.exprKind;
  switch (k.case) {
    case 'constExpr':
      return undefined;
    case 'identExpr': {
      const name = k.value.name;
      if (scope.has(name) || ctx.variables.has(name) || TYPE_IDENTS.has(name)) return undefined;
      return `unknown variable '${name}' (declared: ${[...ctx.variables].join(', ')})`;
    }
    case 'selectExpr':
      return check(k.value.operand);
    case 'callExpr': {
      if (!BUILTIN_OPERATORS.has(k.value.function) && !ctx.env.funcs.find(k.value.function)) return `unknown function '${k.value.function}'`;
      const t = check(k.value.target);
      if (t) return t;
      for (const a of k.value.args) {
        const p = check(a);
        if (p) return p;
      }
      return undefined;
    }
    case 'listExpr':
      for (const el of k.value.elements) {
        const p = check(el);
        if (p) return p;
      }
      return undefined;
    case 'structExpr':
      if (k.value.messageName) return `message construction (${k.value.messageName}) is not supported`;
      for (const en of k.value.entries) {
        const p = (en.keyKind.case === 'mapKey' ? check(en.keyKind.value) : undefined) ?? check(en.value);
        if (p) return p;
      }
      return undefined;
    case 'comprehensionExpr': {
      const c = k.value;
      // Loops inside loops multiply: bound the nesting so one rule stays cheap.
      if (depth >= MAX_COMPREHENSION_NESTING) return `macros (all, exists, map, filter...) nest at most ${MAX_COMPREHENSION_NESTING} deep`;
      const r = check(c.iterRange) ?? check(c.accuInit);
      if (r) return r;
      const inner = new Set(scope);
      inner.add(c.accuVar);
      if (c.iterVar) inner.add(c.iterVar);
      if (c.iterVar2) inner.add(c.iterVar2);
      return check(c.loopCondition, inner, depth + 1) ?? check(c.loopStep, inner, depth + 1) ?? check(c.result, inner);
    }
    default:
      return undefined;
  }
}

/** Compile errors from @bufbuild/cel carry the `<input>:` prefix; say `line:col` instead. */
export function compileErrorMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/^<input>:/, 'at ');
}

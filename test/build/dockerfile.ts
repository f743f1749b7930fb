// The repository's Dockerfile as its parsed stages (dockerfile-ast, the parser of the VS Code
// Docker language service), for the tests that check it without a container engine.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { ROOT } from '../e2e/processes.ts';

export const DOCKERFILE = join(ROOT, 'Dockerfile');

export interface Stage {
  /** The FROM line's `AS name`. */
  name: string | null;
  /** The base image as written (an ARG reference included). */
  from: string;
  instructions: Instruction[];
}

export function dockerfileText(): string {
  return readFileSync(DOCKERFILE, 'utf8');
}

/** The build stages in order, each with the instructions after its FROM. */
export function stages(text = dockerfileText()): Stage[] {
  const out: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      const as = args.findIndex((a) => a.toUpperCase() === 'AS');
      out.push({ name: as >= 0 ? args[as + 1]! : null, from: args[0]!, instructions: [] });
    } else if (out.length > 0) {
      out[out.length - 1]!.instructions.push(instruction);
    }
  }
  return out;
}

/** The words of an exec-form (JSON array) instruction such as ENTRYPOINT or HEALTHCHECK CMD. */
export function execForm(instruction: Instruction): string[] {
  return (instruction as JSONInstruction).getJSONStrings().map((s) => JSON.parse(s.getValue()) as string);
}

/** The runtime stage's HEALTHCHECK command (exec form), as the engine runs it. */
export function healthcheckCommand(text = dockerfileText()): string[] {
  const runtime = stages(text).at(-1)!;
  const healthchecks = runtime.instructions.filter((i) => i.getKeyword() === 'HEALTHCHECK');
  if (healthchecks.length !== 1) throw new Error(`expected one HEALTHCHECK in the last stage, found ${healthchecks.length}`);
  // HEALTHCHECK [flags] CMD ["..."]: the words after CMD are a JSON array (exec form).
  const m = /^CMD\s+(\[[\s\S]*\])\s*$/.exec(healthchecks[0]!.getArgumentsContent() ?? '');
  if (!m) throw new Error('the HEALTHCHECK is not in exec form (CMD ["..."])');
  return JSON.parse(m[1]!) as string[];
}

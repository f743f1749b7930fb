// The Kubernetes manifests of deploy/kubernetes (issue 15), checked without a cluster: each
// object against the Kubernetes OpenAPI schema (kubernetes-models' validate(), plus a probe
// for fields the schema does not know, which `kubectl apply` refuses under strict field
// validation but validate() lets through), the Pod Security Standards' restricted profile the
// namespace enforces, and the environment against the service's own configuration names, so
// that a renamed variable or a typo fails here rather than in a rollout.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import type { IContainer, IEnvVar, IPodSpec } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ENV, ENV_SECRETS, loadConfig } from '../../server/config.ts';
import { ROOT } from '../e2e/processes.ts';

const DIR = join(ROOT, 'deploy', 'kubernetes');

interface Manifest {
  file: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- YAML documents, checked by the schema below
  object: any;
}

function manifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      expect(doc.errors, file).toEqual([]);
      out.push({ file, object: doc.toJS() });
    }
  }
  return out;
}

type Model = new (data: never) => { validate(): void };
const MODELS: Record<string, Model> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/Namespace': Namespace,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function modelOf(object: { apiVersion: string; kind: string }): Model {
  const model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!model) throw new Error(`no schema model for ${object.apiVersion} ${object.kind}`);
  return model;
}

function schemaErrors(model: Model, object: unknown): string | undefined {
  try {
    new model(object as never).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Paths in `object` that the schema has no field for. validate() ignores unknown keys (the
 * OpenAPI definitions do not close their objects), so each key is probed: its value replaced
 * by `[[]]`, which no typed field of the Kubernetes API accepts (not a string, number, boolean,
 * object, quantity or list of any of those). A key whose probe still validates is unknown.
 */
function unknownFields(model: Model, object: unknown): string[] {
  const unknown: string[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => visit(item, [...path, i]));
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const probe = structuredClone(object) as Record<string, unknown>;
      let target: Record<string | number, unknown> = probe;
      for (const p of path) target = target[p] as Record<string | number, unknown>;
      target[key] = [[]];
      if (schemaErrors(model, probe) === undefined) unknown.push([...path, key].join('.'));
      else visit(value, [...path, key]);
    }
  };
  visit(object, []);
  return unknown;
}

const all = manifests();
const deployment = all.find((m) => m.object.kind === 'Deployment')!.object as { metadata: { namespace: string }; spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: IPodSpec } } };
const pod = deployment.spec.template.spec;
const container = pod.containers.find((c) => c.name === 'tessera') as IContainer;

describe('deploy/kubernetes', () => {
  it('holds a Namespace, a Deployment, a Service and a PodDisruptionBudget, each valid against the Kubernetes schema with no unknown field', () => {
    expect(all.map((m) => m.object.kind).sort()).toEqual(['Deployment', 'Namespace', 'PodDisruptionBudget', 'Service']);
    for (const m of all) {
      const model = modelOf(m.object);
      expect(schemaErrors(model, m.object), m.file).toBeUndefined();
      expect(unknownFields(model, m.object), m.file).toEqual([]);
      if (m.object.kind !== 'Namespace') expect(m.object.metadata.namespace, m.file).toBe('tessera');
    }
  });

  it('finds a misspelt field and a wrongly typed value (the checks above can fail)', () => {
    const typo = structuredClone(deployment) as typeof deployment;
    (typo.spec.template.spec.containers[0]!.securityContext as Record<string, unknown>).readOnlyRootFileSystem = true;
    expect(unknownFields(Deployment as Model, typo)).toEqual(['spec.template.spec.containers.0.securityContext.readOnlyRootFileSystem']);
    const wrong = structuredClone(deployment) as { spec: { replicas: unknown } };
    wrong.spec.replicas = 'three';
    expect(schemaErrors(Deployment as Model, wrong)).toMatch(/replicas must be integer/);
  });

  it('lists every manifest in kustomization.yaml, the namespace first', () => {
    const kustomization = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual([...new Set(all.map((m) => m.file))].sort());
    expect(kustomization.resources[0]).toBe('namespace.yaml');
  });

  it('runs 3 replicas with readiness on /readyz, liveness on /healthz, requests and limits', () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    const port = container.ports!.find((p) => p.name === 'http')!;
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.startupProbe?.httpGet?.path).toBe('/healthz');
    for (const kind of ['requests', 'limits'] as const) {
      expect(container.resources?.[kind]?.cpu, kind).toBeDefined();
      expect(container.resources?.[kind]?.memory, kind).toBeDefined();
    }
    // The Service and the PodDisruptionBudget select these pods, and the Service reaches the named port.
    const service = all.find((m) => m.object.kind === 'Service')!.object as { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } };
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(['http']);
    const pdb = all.find((m) => m.object.kind === 'PodDisruptionBudget')!.object as { spec: { selector: { matchLabels: Record<string, string> } } };
    expect(deployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(port.containerPort).toBe(8080);
  });

  it('meets the restricted Pod Security Standard the namespace enforces', () => {
    // https://kubernetes.io/docs/concepts/security/pod-security-standards/ (restricted profile).
    const ns = all.find((m) => m.object.kind === 'Namespace')!.object as { metadata: { name: string; labels: Record<string, string> } };
    expect(ns.metadata.name).toBe(deployment.metadata.namespace);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
    expect(pod.hostIPC ?? false).toBe(false);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(pod.securityContext?.sysctls ?? []).toEqual([]);
    expect(pod.automountServiceAccountToken).toBe(false);
    const allowedVolumes = new Set(['name', 'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
    for (const v of pod.volumes ?? []) expect(Object.keys(v).filter((k) => !allowedVolumes.has(k)), v.name).toEqual([]);
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
      const sc = c.securityContext!;
      expect(sc.allowPrivilegeEscalation, c.name).toBe(false);
      expect(sc.readOnlyRootFilesystem, c.name).toBe(true);
      expect(sc.runAsNonRoot, c.name).toBe(true);
      expect(sc.privileged ?? false, c.name).toBe(false);
      expect(sc.capabilities?.drop, c.name).toEqual(['ALL']);
      expect(sc.capabilities?.add ?? [], c.name).toEqual([]);
      expect(sc.seccompProfile?.type, c.name).toBe('RuntimeDefault');
      for (const p of c.ports ?? []) expect(p.hostPort, c.name).toBeUndefined();
    }
    // The user the image runs as (Dockerfile USER), so that runAsNonRoot is checked on the same ids.
    const dockerUser = /^USER\s+(\d+):(\d+)\s*$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(dockerUser?.slice(1).map(Number)).toEqual([pod.securityContext?.runAsUser, pod.securityContext?.runAsGroup]);
  });

  it('reads the KEK and the database URL from a Secret, and names only variables the service reads', () => {
    const env = container.env as IEnvVar[];
    const byName = new Map(env.map((e) => [e.name, e]));
    expect(byName.get('TESSERA_KEK')?.valueFrom?.secretKeyRef).toMatchObject({ name: 'tessera', key: 'kek' });
    expect(byName.get('TESSERA_DATABASE_URL')?.valueFrom?.secretKeyRef).toMatchObject({ name: 'tessera', key: 'database-url' });
    // No secret value is written in the manifest itself.
    for (const name of [...ENV_SECRETS, 'TESSERA_DATABASE_URL']) expect(byName.get(name)?.value, name).toBeUndefined();
    const known = new Set([...Object.keys(ENV), ...ENV_SECRETS]);
    expect(env.map((e) => e.name).filter((n) => !known.has(n))).toEqual([]);
    // Service links would add TESSERA_PORT=tcp://... for the Service named tessera.
    expect(pod.enableServiceLinks).toBe(false);

    // The literal values, with sample secrets, are a configuration the service accepts.
    const sample: Record<string, string> = { kek: Buffer.alloc(32, 1).toString('base64'), 'database-url': 'postgres://tessera@db.internal:5432/tessera', 'admin-token': 'x'.repeat(32) };
    const values = Object.fromEntries(env.map((e) => [e.name, e.value ?? sample[e.valueFrom!.secretKeyRef!.key]!]));
    const config = loadConfig({ env: values });
    expect(config).toMatchObject({ host: '0.0.0.0', port: container.ports!.find((p) => p.name === 'http')!.containerPort, database: sample['database-url'], dev: false, verifyThreads: 1 });
  });
});

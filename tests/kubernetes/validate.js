#!/usr/bin/env node
// Offline validation of the Kubernetes deployment (deploy/kubernetes), issue 17:
//  1. renders the kustomize base from kustomization.yaml (namespace, resources, images — any other
//     key is an error) and, when `kubectl` is installed, checks `kubectl kustomize` renders the same;
//  2. validates every object against the Kubernetes API schema (kubernetes-models 4.5.1, the
//     OpenAPI definitions compiled to ajv validators) and rejects fields the schema does not know
//     (the validators accept them: every property the validator never reads is reported);
//  3. checks the security properties the issue asks for (hostPID/hostNetwork sampler with exactly
//     the systemd unit's capabilities, RuntimeDefault seccomp, read-only roots, non-root exporter
//     without capabilities, the in-memory segment volume read-only in the exporter, probes);
//  4. checks prometheus-scrape.yml: kubernetes_sd_configs keys, that it selects these pods and
//     their port, and `promtool check config` on the rest (Debian's Prometheus is built without
//     Kubernetes SD, so that block is swapped for a static target first).
// Before all that it mutates copies of the DaemonSet (an unknown field at several depths, a
// missing required field) and requires each to be caught: the checks can fail.
// Exit 0 all good, 1 a problem (each printed), 77 a prerequisite missing (ctest: skipped).
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const { execFileSync, spawnSync } = require('child_process');

const here = __dirname;
const root = path.resolve(here, '../..');
const base = path.join(root, 'deploy/kubernetes');
let YAML, models;
try {
  YAML = require('yaml');
  models = {
    'v1/Namespace': [require('kubernetes-models/v1/Namespace').Namespace, 'IoK8sApiCoreV1Namespace'],
    'v1/ServiceAccount': [require('kubernetes-models/v1/ServiceAccount').ServiceAccount,
      'IoK8sApiCoreV1ServiceAccount'],
    'apps/v1/DaemonSet': [require('kubernetes-models/apps/v1/DaemonSet').DaemonSet,
      'IoK8sApiAppsV1DaemonSet'],
  };
} catch (e) {
  console.log(`prerequisite missing: npm modules (cd tests/kubernetes && npm ci): ${e.message}`);
  process.exit(process.env.HOSTFLOW_TEST_STRICT === '1' ? 1 : 77);
}

const problems = [];
const problem = (where, what) => problems.push(`${where}: ${what}`);

function loadAll(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) problem(file, d.errors.map(String).join('; '));
    return d.toJS();
  }).filter((d) => d !== null);
}

// --- 1. Rendering -------------------------------------------------------------------------------
const kustomization = loadAll(path.join(base, 'kustomization.yaml'))[0];
const known = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images']);
for (const k of Object.keys(kustomization))
  if (!known.has(k)) problem('kustomization.yaml', `key "${k}" is not rendered by this test: extend validate.js`);

function containersOf(o) {
  const spec = o.spec && o.spec.template && o.spec.template.spec;
  return spec ? [...(spec.initContainers || []), ...(spec.containers || [])] : [];
}
function render(k) {
  const out = [];
  for (const r of k.resources || []) {
    for (const o of loadAll(path.join(base, r))) {
      if (k.namespace && o.kind !== 'Namespace') o.metadata.namespace = k.namespace;
      for (const c of containersOf(o)) {
        const name = c.image.split('@')[0].replace(/:[^/:]*$/, '');
        const img = (k.images || []).find((i) => i.name === name);
        if (!img) continue;
        c.image = (img.newName || name) + (img.digest ? `@${img.digest}` : `:${img.newTag || 'latest'}`);
      }
      out.push(o);
    }
  }
  return out;
}
const rendered = render(kustomization);
const keyOf = (o) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace || ''}/${o.metadata.name}`;
const canonical = (v) => JSON.stringify(v, (_, x) =>
  x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x);
if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0) {
  const theirs = YAML.parseAllDocuments(execFileSync('kubectl', ['kustomize', base]).toString())
    .map((d) => d.toJS());
  const mine = new Map(rendered.map((o) => [keyOf(o), canonical(o)]));
  const them = new Map(theirs.map((o) => [keyOf(o), canonical(o)]));
  if ([...mine.keys()].sort().join() !== [...them.keys()].sort().join())
    problem('kustomize', `objects differ: ours ${[...mine.keys()]}, kubectl's ${[...them.keys()]}`);
  for (const [k, v] of mine)
    if (them.has(k) && them.get(k) !== v) problem('kustomize', `${k} renders differently:\n ours    ${v}\n kubectl ${them.get(k)}`);
  console.log(`kubectl kustomize renders the same ${theirs.length} objects`);
} else {
  console.log('kubectl not installed: the base is rendered by this script only');
}

// --- 2. Schema ----------------------------------------------------------------------------------
// Wraps `doc` so every property read is recorded; returns the wrapper and a function listing the
// properties of `doc` that were never read (paths).
function tracked(doc) {
  const read = new Map();  // object -> Set of keys read
  const wrap = (o) => {
    if (!o || typeof o !== 'object') return o;
    read.set(o, read.get(o) || new Set());
    return new Proxy(o, {
      get(t, k, r) {
        if (typeof k === 'string' && Object.prototype.hasOwnProperty.call(t, k)) read.get(t).add(k);
        return wrap(Reflect.get(t, k, r));
      },
    });
  };
  const unread = () => {
    const out = [];
    const walk = (o, p) => {
      if (!o || typeof o !== 'object') return;
      for (const k of Object.keys(o)) {
        const sub = Array.isArray(o) ? `${p}[${k}]` : `${p}.${k}`;
        if (!Array.isArray(o) && !(read.get(o) || new Set()).has(k)) out.push(sub);
        else walk(o[k], sub);
      }
    };
    walk(doc, '');
    return out;
  };
  return [wrap(doc), unread];
}
// The schema's errors and unknown fields of one object ([] when valid).
function schemaProblems(o) {
  const entry = models[`${o.apiVersion}/${o.kind}`];
  if (!entry) return [`no schema for ${o.apiVersion} ${o.kind} in this test`];
  const [Model, schemaId] = entry;
  const out = [];
  try {
    new Model(JSON.parse(JSON.stringify(o))).validate();
  } catch (e) {
    out.push(`schema: ${e.message}`);
  }
  // The compiled validator itself (not an exported path of the package; the version is pinned).
  const { validate } = require(path.join(path.dirname(require.resolve('kubernetes-models/package.json')),
    '_schemas', `${schemaId}.js`));
  const [proxy, unread] = tracked(JSON.parse(JSON.stringify(o)));
  validate(proxy);
  for (const p of unread()) out.push(`unknown field ${p}`);
  return out;
}

// The checks must catch these mutations of the DaemonSet before they are trusted.
const ds = rendered.find((o) => o.kind === 'DaemonSet');
if (!ds) problem('render', 'no DaemonSet');
const mutations = [
  ['a typo in the pod spec', (d) => { d.spec.template.spec.hostPid = true; }],
  ['a typo in a container security context',
    (d) => { d.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true; }],
  ['an unknown key in a volume', (d) => { d.spec.template.spec.volumes[0].emptyDir.medum = 'Memory'; }],
  ['an unknown top-level key', (d) => { d.extra = 1; }],
  ['a missing selector', (d) => { delete d.spec.selector; }],
  ['a wrong type', (d) => { d.spec.template.spec.hostNetwork = 'yes'; }],
];
for (const [what, mutate] of ds ? mutations : []) {
  const copy = JSON.parse(JSON.stringify(ds));
  mutate(copy);
  if (schemaProblems(copy).length === 0) problem('self-test', `${what} was not caught`);
}
for (const o of rendered)
  for (const p of schemaProblems(o)) problem(keyOf(o), p);

// --- 3. Security properties ---------------------------------------------------------------------
function expect(cond, where, what) { if (!cond) problem(where, what); }
const argValue = (c, flag) => {
  const a = [...(c.command || []), ...(c.args || [])].find((x) => x.startsWith(`${flag}=`));
  return a === undefined ? undefined : a.slice(flag.length + 1);
};
if (ds) {
  const spec = ds.spec.template.spec;
  const w = 'DaemonSet';
  expect(spec.hostPID === true && spec.hostNetwork === true, w, 'hostPID and hostNetwork must be true (the sampler reads the host)');
  expect(spec.securityContext && spec.securityContext.seccompProfile &&
    spec.securityContext.seccompProfile.type === 'RuntimeDefault', w, 'pod seccompProfile must be RuntimeDefault');
  expect(spec.automountServiceAccountToken === false, w, 'no service account token');
  const byName = Object.fromEntries(spec.containers.map((c) => [c.name, c]));
  expect(Object.keys(byName).sort().join() === 'exporter,sampler', w, 'containers must be exactly sampler and exporter');
  const s = byName.sampler || {}, e = byName.exporter || {};
  expect(s.image && s.image === e.image, w, 'both containers run the same image');
  for (const c of [s, e]) {
    const sc = c.securityContext || {};
    const cw = `container ${c.name}`;
    expect(sc.readOnlyRootFilesystem === true, cw, 'readOnlyRootFilesystem must be true');
    expect(sc.allowPrivilegeEscalation === false, cw, 'allowPrivilegeEscalation must be false');
    expect(sc.privileged !== true, cw, 'must not be privileged');
    expect(!sc.seccompProfile || sc.seccompProfile.type === 'RuntimeDefault', cw, 'must not override the pod seccomp profile');
    expect(sc.capabilities && JSON.stringify(sc.capabilities.drop) === '["ALL"]', cw, 'capabilities.drop must be [ALL]');
    expect(!argValue(c, '--seccomp') || argValue(c, '--seccomp') === 'kill', cw, 'its own seccomp filter in kill mode');
    expect(!(c.args || []).includes('--no-seccomp'), cw, 'its own seccomp filter must stay on');
  }
  // The sampler's set is the systemd unit's (the audited one) plus CAP_SETPCAP for the drop.
  const unit = fs.readFileSync(path.join(root, 'systemd/hostflow-sampler.service'), 'utf8');
  const unitCaps = (unit.match(/^CapabilityBoundingSet=(.*)$/m) || ['', ''])[1].trim().split(/\s+/)
    .map((x) => x.replace(/^CAP_/, ''));
  const added = ((s.securityContext || {}).capabilities || {}).add || [];
  expect([...added].sort().join() === [...unitCaps, 'SETPCAP'].sort().join(), 'container sampler',
    `capabilities.add ${added} must be the unit's CapabilityBoundingSet (${unitCaps}) + SETPCAP`);
  const unitBpf = /--source\.bpf\b/.test((unit.match(/^ExecStart=(.*)$/m) || ['', ''])[1]);
  expect(unitBpf === (s.args || []).includes('--source.bpf'), 'container sampler', 'enables --source.bpf as the unit does (its capabilities are in the set)');
  const esc = e.securityContext || {};
  expect(esc.runAsNonRoot === true && esc.runAsUser > 0, 'container exporter', 'runs as non-root (runAsNonRoot, runAsUser > 0)');
  expect(!(esc.capabilities || {}).add || esc.capabilities.add.length === 0, 'container exporter', 'adds no capability');
  const imageUid = (fs.readFileSync(path.join(root, 'deploy/image/build.sh'), 'utf8').match(/^HF = (\d+)/m) || [])[1];
  expect(String(esc.runAsUser) === imageUid, 'container exporter', `runAsUser ${esc.runAsUser} must be the image's hostflow uid ${imageUid}`);
  expect(String((s.securityContext || {}).runAsGroup) === imageUid, 'container sampler', 'runAsGroup must be the image\'s hostflow group (the segment group)');
  // The segment: an in-memory emptyDir, written by the sampler, read-only in the exporter, at the
  // path both --segment flags name.
  const vol = (spec.volumes || []).find((v) => v.emptyDir && v.emptyDir.medium === 'Memory');
  expect(vol, w, 'an emptyDir volume with medium: Memory for the segment');
  const mountOf = (c) => (c.volumeMounts || []).find((m) => vol && m.name === vol.name);
  const sm = mountOf(s), em = mountOf(e);
  expect(sm && sm.readOnly !== true, 'container sampler', 'mounts the segment volume writable');
  expect(em && em.readOnly === true, 'container exporter', 'mounts the segment volume read-only');
  for (const m of e.volumeMounts || []) expect(m.readOnly === true, 'container exporter', `mount ${m.name} must be read-only`);
  expect(sm && argValue(s, '--segment') === `${sm.mountPath}/segment`, 'container sampler', '--segment must be in the segment volume');
  expect(argValue(e, '--segment') === argValue(s, '--segment'), 'container exporter', '--segment must be the sampler\'s');
  // Probes on the exporter's port.
  const port = (e.ports || []).find((p) => p.name === 'metrics');
  expect(port, 'container exporter', 'a port named metrics');
  const listen = argValue(e, '--web.listen-address') || ':9471';
  expect(port && listen.endsWith(`:${port.containerPort}`), 'container exporter', `--web.listen-address ${listen} must be the metrics port`);
  for (const [probe, p] of [['livenessProbe', '/-/healthy'], ['readinessProbe', '/-/ready']]) {
    const h = (e[probe] || {}).httpGet || {};
    expect(h.path === p && (h.port === 'metrics' || (port && h.port === port.containerPort)),
      'container exporter', `${probe} must GET ${p} on the metrics port`);
  }
}

// --- 4. The scrape config -----------------------------------------------------------------------
const scrapeFile = path.join(base, 'prometheus-scrape.yml');
const scrape = loadAll(scrapeFile)[0] || {};
const sdKeys = new Set(['role', 'namespaces', 'selectors', 'api_server', 'kubeconfig_file',
  'attach_metadata', 'basic_auth', 'authorization', 'oauth2', 'tls_config', 'proxy_url',
  'follow_redirects', 'enable_http2']);  // Prometheus 2.42's kubernetes_sd_config
const roles = new Set(['node', 'service', 'pod', 'endpoints', 'endpointslice', 'ingress']);
const podLabels = ds ? ds.spec.template.metadata.labels : {};
for (const job of scrape.scrape_configs || []) {
  const jw = `prometheus-scrape.yml job ${job.job_name}`;
  const sds = job.kubernetes_sd_configs || [];
  expect(sds.length > 0, jw, 'uses kubernetes_sd_configs');
  for (const sd of sds) {
    for (const k of Object.keys(sd)) expect(sdKeys.has(k), jw, `unknown kubernetes_sd_config key ${k}`);
    expect(roles.has(sd.role), jw, `role ${sd.role}`);
    expect(((sd.namespaces || {}).names || []).includes(kustomization.namespace), jw, `watches namespace ${kustomization.namespace}`);
    for (const sel of sd.selectors || []) {
      for (const k of Object.keys(sel)) expect(['role', 'label', 'field'].includes(k), jw, `unknown selector key ${k}`);
      expect(sel.role === sd.role, jw, 'selector role must be the SD role');
      for (const term of (sel.label || '').split(',').filter(Boolean)) {
        const [k, v] = term.split('=');
        expect(podLabels[k] === v, jw, `label selector ${term} must match the DaemonSet's pods`);
      }
    }
  }
  const keep = (job.relabel_configs || []).find((r) => r.action === 'keep' &&
    (r.source_labels || []).includes('__meta_kubernetes_pod_container_port_name'));
  expect(keep && keep.regex === 'metrics', jw, 'keeps only the exporter\'s port named metrics');
}
if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0) {
  const copy = JSON.parse(JSON.stringify(scrape));
  for (const job of copy.scrape_configs || []) {
    delete job.kubernetes_sd_configs;
    job.static_configs = [{ targets: ['127.0.0.1:9471'] }];
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hfk8s-'));
  const f = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(f, YAML.stringify(copy));
  const r = spawnSync('promtool', ['check', 'config', f], { encoding: 'utf8' });
  if (r.status !== 0) problem('prometheus-scrape.yml', `promtool check config: ${r.stdout}${r.stderr}`);
  fs.rmSync(dir, { recursive: true });
} else if (process.env.HOSTFLOW_TEST_STRICT === '1') {
  problem('promtool', 'not installed');
}

if (problems.length) {
  for (const p of problems) console.log(`FAIL ${p}`);
  process.exit(1);
}
console.log(`ok: ${rendered.length} objects (${rendered.map(keyOf).join(', ')}), ${mutations.length} mutations caught, scrape config checked`);

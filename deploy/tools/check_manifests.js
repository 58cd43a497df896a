// Checks rendered Kubernetes manifests offline (run by deploy/check):
//   node check_manifests.js --health-h server/health.h --health-cc server/health.cc \
//        OVERLAY=rendered.yaml...
// 1. every object validates against the Kubernetes schemas (kubernetes-models;
//    types, required fields and enums; unknown fields are not reported);
// 2. every pod template meets the Pod Security "restricted" profile, plus this
//    project's rules: read-only root, resources, no service account token;
// 3. every selector includes the name and instance labels, and captures the
//    pods it is meant for;
// 4. gRPC probe service names are health service names the server registers
//    (liveness on the name that ignores the database, readiness on one that
//    follows it);
// 5. release rules: namespace, hashed ConfigMap, no replicas under an HPA,
//    HPA behavior, PDB eviction policy, topology spread, Job name per
//    release, images from a registry (and by digest in prod).
// Prints one line per problem and exits 1 if there is any.
'use strict';
const fs = require('fs');
const YAML = require('yaml');

const NAME = 'app.kubernetes.io/name';
const INSTANCE = 'app.kubernetes.io/instance';
const COMPONENT = 'app.kubernetes.io/component';
const VERSION = 'app.kubernetes.io/version';
const REQUIRED_LABELS = [NAME, INSTANCE, COMPONENT, VERSION,
  'app.kubernetes.io/part-of', 'app.kubernetes.io/managed-by'];
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir',
  'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);

let problems = [];
function problem(where, text) { problems.push(`${where}: ${text}`); }

function parseArgs(argv) {
  const args = {overlays: []};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--health-h') args.healthH = argv[++i];
    else if (argv[i] === '--health-cc') args.healthCc = argv[++i];
    else {
      const eq = argv[i].indexOf('=');
      if (eq < 0) throw new Error(`expected OVERLAY=FILE, got ${argv[i]}`);
      args.overlays.push({name: argv[i].slice(0, eq), file: argv[i].slice(eq + 1)});
    }
  }
  if (!args.healthH || !args.healthCc) throw new Error('--health-h and --health-cc are required');
  return args;
}

// The server's health service names: {dependsOnDatabase: Set, alwaysServing: Set}.
function healthNames(headerFile, sourceFile) {
  const constants = {};
  for (const m of fs.readFileSync(headerFile, 'utf8').matchAll(
      /constexpr\s+char\s+(k\w+)\[\]\s*=\s*"([^"]*)"/g)) {
    constants[m[1]] = m[2];
  }
  const names = {dependsOnDatabase: new Set(), alwaysServing: new Set()};
  for (const m of fs.readFileSync(sourceFile, 'utf8').matchAll(
      /SetServingStatus\(\s*("([^"]*)"|k\w+)\s*,\s*(\w+)\s*\)/g)) {
    const name = m[2] !== undefined ? m[2] : constants[m[1]];
    if (name === undefined) throw new Error(`unknown constant ${m[1]} in ${sourceFile}`);
    (m[3] === 'true' ? names.alwaysServing : names.dependsOnDatabase).add(name);
  }
  if (names.alwaysServing.size === 0 || names.dependsOnDatabase.size === 0) {
    throw new Error(`found no health service names in ${sourceFile}`);
  }
  return names;
}

function modelFor(apiVersion, kind) {
  const path = apiVersion.includes('/') ? `kubernetes-models/${apiVersion}/${kind}`
                                        : `kubernetes-models/${apiVersion}/${kind}`;
  try {
    return require(path)[kind];
  } catch (e) {
    return null;
  }
}

function label(obj, key) { return ((obj.metadata || {}).labels || {})[key]; }
function id(overlay, obj) { return `${overlay} ${obj.kind}/${(obj.metadata || {}).name}`; }

function podTemplate(obj) {
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(obj.kind)) {
    return obj.spec && obj.spec.template;
  }
  if (obj.kind === 'CronJob') return obj.spec.jobTemplate.spec.template;
  if (obj.kind === 'Pod') return obj;
  return null;
}

// Pod Security Standards "restricted" (v1.30 rules) plus the project's own.
function checkPod(where, template) {
  const spec = template.spec || {};
  const podSc = spec.securityContext || {};
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC']) {
    if (spec[host]) problem(where, `${host} is not allowed`);
  }
  for (const volume of spec.volumes || []) {
    const type = Object.keys(volume).find((k) => k !== 'name');
    if (!RESTRICTED_VOLUME_TYPES.has(type)) problem(where, `volume ${volume.name} of type ${type}`);
  }
  for (const sysctl of podSc.sysctls || []) {
    if (!SAFE_SYSCTLS.has(sysctl.name)) problem(where, `sysctl ${sysctl.name} is not allowed`);
  }
  if (spec.automountServiceAccountToken !== false) {
    problem(where, 'automountServiceAccountToken must be false (no container uses the API)');
  }
  const containers = [...(spec.initContainers || []), ...(spec.containers || []),
    ...(spec.ephemeralContainers || [])];
  if (containers.length === 0) problem(where, 'no containers');
  for (const c of containers) {
    const at = `${where} container ${c.name}`;
    const sc = c.securityContext || {};
    if (sc.privileged) problem(at, 'privileged');
    if (sc.allowPrivilegeEscalation !== false) problem(at, 'allowPrivilegeEscalation must be false');
    const caps = sc.capabilities || {};
    if (!(caps.drop || []).includes('ALL')) problem(at, 'capabilities.drop must include ALL');
    for (const cap of caps.add || []) {
      if (cap !== 'NET_BIND_SERVICE') problem(at, `capability ${cap} may not be added`);
    }
    const runAsNonRoot = sc.runAsNonRoot !== undefined ? sc.runAsNonRoot : podSc.runAsNonRoot;
    if (runAsNonRoot !== true) problem(at, 'runAsNonRoot must be true');
    const runAsUser = sc.runAsUser !== undefined ? sc.runAsUser : podSc.runAsUser;
    if (runAsUser === 0) problem(at, 'runAsUser 0');
    const seccomp = (sc.seccompProfile || podSc.seccompProfile || {}).type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
      problem(at, `seccompProfile.type must be RuntimeDefault or Localhost, is ${seccomp}`);
    }
    if (sc.procMount && sc.procMount !== 'Default') problem(at, 'procMount must be Default');
    for (const p of c.ports || []) {
      if (p.hostPort) problem(at, `hostPort ${p.hostPort}`);
    }
    if (sc.readOnlyRootFilesystem !== true) problem(at, 'readOnlyRootFilesystem must be true');
    const res = c.resources || {};
    if (!res.requests || !res.requests.cpu || !res.requests.memory) {
      problem(at, 'resources.requests needs cpu and memory');
    }
    if (!res.limits || !res.limits.memory) problem(at, 'resources.limits needs memory');
  }
}

function selectorMatches(selector, labels) {
  return Object.entries(selector || {}).every(([k, v]) => (labels || {})[k] === v);
}

function checkSelector(where, selector, owner) {
  if (!selector || Object.keys(selector).length === 0) {
    problem(where, 'empty selector');
    return;
  }
  for (const key of [NAME, INSTANCE, COMPONENT]) {
    if (!selector[key]) problem(where, `selector lacks ${key}`);
    else if (selector[key] !== label(owner, key)) {
      problem(where, `selector ${key}=${selector[key]} differs from the object's label ${label(owner, key)}`);
    }
  }
}

function checkOverlay(overlay, objects, health) {
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const namespaces = byKind('Namespace');
  if (namespaces.length !== 1) problem(overlay, `expected one Namespace, found ${namespaces.length}`);
  const ns = namespaces[0];
  if (ns && label(ns, 'pod-security.kubernetes.io/enforce') !== 'restricted') {
    problem(id(overlay, ns), 'must enforce pod-security restricted');
  }

  for (const obj of objects) {
    const where = id(overlay, obj);
    // 1. Schema.
    const Model = modelFor(obj.apiVersion, obj.kind);
    if (!Model) problem(where, `no schema for ${obj.apiVersion} ${obj.kind}`);
    else {
      try {
        new Model(obj).validate();
      } catch (e) {
        problem(where, `schema: ${e.message}`);
      }
    }
    // Labels and namespace.
    for (const key of REQUIRED_LABELS) {
      if (obj.kind !== 'Namespace' && !label(obj, key)) problem(where, `label ${key} missing`);
    }
    if (!CLUSTER_SCOPED.has(obj.kind)) {
      if (!ns || obj.metadata.namespace !== ns.metadata.name) {
        problem(where, `namespace ${obj.metadata.namespace} is not the overlay's Namespace`);
      }
    }
    // 2. Pods.
    const template = podTemplate(obj);
    if (template) {
      checkPod(where, template);
      for (const key of REQUIRED_LABELS.filter((k) => k !== 'app.kubernetes.io/managed-by')) {
        if (!label(template, key)) problem(where, `pod template label ${key} missing`);
      }
      for (const c of [...(template.spec.initContainers || []), ...template.spec.containers]) {
        const image = c.image || '';
        if (!/^[a-z0-9.-]+(:[0-9]+)?\//.test(image) || !/[.:]|localhost/.test(image.split('/')[0])) {
          problem(`${where} container ${c.name}`, `image ${image} has no registry`);
        }
        if (!/@sha256:[0-9a-f]{64}$/.test(image) && !/:[\w.-]+$/.test(image.split('/').pop())) {
          problem(`${where} container ${c.name}`, `image ${image} has neither tag nor digest`);
        }
        if (overlay === 'prod' && !/@sha256:[0-9a-f]{64}$/.test(image)) {
          problem(`${where} container ${c.name}`, `prod image ${image} is not pinned by digest`);
        }
      }
    }
  }

  // 3. Selectors, and what they select.
  const deployments = byKind('Deployment');
  const serverTemplates = deployments.map((d) => d.spec.template);
  for (const d of deployments) {
    const where = id(overlay, d);
    checkSelector(`${where} spec.selector`, d.spec.selector.matchLabels, d.spec.template);
    if (d.spec.selector.matchExpressions) problem(where, 'selector uses matchExpressions');
    if (!selectorMatches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)) {
      problem(where, 'selector does not match its own pod template');
    }
    const spread = d.spec.template.spec.topologySpreadConstraints || [];
    for (const key of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
      if (!spread.some((t) => t.topologyKey === key)) problem(where, `no topology spread over ${key}`);
    }
    spread.forEach((t, i) => checkSelector(`${where} topologySpreadConstraints[${i}]`,
      (t.labelSelector || {}).matchLabels, d.spec.template));
    if (byKind('HorizontalPodAutoscaler').some((h) => h.spec.scaleTargetRef.name === d.metadata.name)
        && d.spec.replicas !== undefined) {
      problem(where, 'sets replicas although an HPA scales it');
    }
    // ConfigMaps must be generated (hashed names), so a change rolls the pods.
    const configMaps = new Map(byKind('ConfigMap').map((c) => [c.metadata.name, c]));
    for (const c of d.spec.template.spec.containers) {
      for (const from of c.envFrom || []) {
        if (from.configMapRef) {
          if (!configMaps.has(from.configMapRef.name)) {
            problem(where, `envFrom ConfigMap ${from.configMapRef.name} is not in the overlay`);
          } else if (!/-[a-z0-9]{10}$/.test(from.configMapRef.name)) {
            problem(where, `ConfigMap ${from.configMapRef.name} is not generated (no content hash)`);
          }
        }
      }
      // 4. Probes.
      for (const [probe, allowed, what] of [
        ['livenessProbe', health.alwaysServing, 'a name that ignores the database'],
        ['startupProbe', health.alwaysServing, 'a name that ignores the database'],
        ['readinessProbe', health.dependsOnDatabase, 'a name that follows the database']]) {
        const p = c[probe];
        if (!p) { problem(`${where} container ${c.name}`, `no ${probe}`); continue; }
        if (!p.grpc) { problem(`${where} container ${c.name}`, `${probe} is not a gRPC probe`); continue; }
        const service = p.grpc.service === undefined ? '' : p.grpc.service;
        if (!allowed.has(service)) {
          problem(`${where} container ${c.name}`, `${probe} service "${service}" is not ${what} ` +
            `(server registers ${JSON.stringify([...allowed])})`);
        }
        const port = (c.ports || []).find((x) => x.containerPort === p.grpc.port);
        if (!port || port.name !== 'grpc') problem(`${where} container ${c.name}`, `${probe} port is not the grpc port`);
      }
    }
  }
  const captures = (selector) => serverTemplates.some((t) => selectorMatches(selector, t.metadata.labels));
  for (const s of byKind('Service')) {
    checkSelector(`${id(overlay, s)} spec.selector`, s.spec.selector, s);
    if (!captures(s.spec.selector)) problem(id(overlay, s), 'selects no server pods');
  }
  for (const p of byKind('PodDisruptionBudget')) {
    checkSelector(`${id(overlay, p)} spec.selector`, p.spec.selector.matchLabels, p);
    if (!captures(p.spec.selector.matchLabels)) problem(id(overlay, p), 'selects no server pods');
    if (p.spec.unhealthyPodEvictionPolicy !== 'AlwaysAllow') {
      problem(id(overlay, p), 'unhealthyPodEvictionPolicy must be AlwaysAllow');
    }
  }
  for (const h of byKind('HorizontalPodAutoscaler')) {
    if (!deployments.some((d) => d.metadata.name === h.spec.scaleTargetRef.name)) {
      problem(id(overlay, h), `scales ${h.spec.scaleTargetRef.name}, which is not in the overlay`);
    }
    if (!h.spec.behavior || !h.spec.behavior.scaleUp || !h.spec.behavior.scaleDown) {
      problem(id(overlay, h), 'needs behavior.scaleUp and scaleDown');
    }
  }
  const policies = byKind('NetworkPolicy');
  for (const np of policies) {
    checkSelector(`${id(overlay, np)} spec.podSelector`, np.spec.podSelector.matchLabels, np);
    const types = np.spec.policyTypes || [];
    if (!types.includes('Ingress') || !types.includes('Egress')) {
      problem(id(overlay, np), 'policyTypes must be Ingress and Egress');
    }
    for (const rule of [...(np.spec.ingress || []), ...(np.spec.egress || [])]) {
      for (const peer of [...(rule.from || []), ...(rule.to || [])]) {
        if (peer.podSelector && (peer.podSelector.matchLabels || {})[INSTANCE]) {
          problem(id(overlay, np), 'a peer podSelector requires this app\'s instance label');
        }
      }
    }
  }
  for (const d of deployments) {
    if (!policies.some((np) => selectorMatches(np.spec.podSelector.matchLabels, d.spec.template.metadata.labels))) {
      problem(id(overlay, d), 'no NetworkPolicy selects its pods');
    }
  }
  for (const j of byKind('Job')) {
    const version = label(j, VERSION);
    if (!version || !j.metadata.name.endsWith(`-${version}`)) {
      problem(id(overlay, j), `name does not end in the release version ${version}`);
    }
    if (!policies.some((np) => selectorMatches(np.spec.podSelector.matchLabels, j.spec.template.metadata.labels))) {
      problem(id(overlay, j), 'no NetworkPolicy selects its pods');
    }
    if (j.spec.ttlSecondsAfterFinished === undefined) problem(id(overlay, j), 'no ttlSecondsAfterFinished');
  }
}

// The problems of one rendered overlay (a list of objects), for tests.
function check(overlay, objects, health) {
  problems = [];
  checkOverlay(overlay, objects, health);
  const found = problems;
  problems = [];
  return found;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const health = healthNames(args.healthH, args.healthCc);
  for (const {name, file} of args.overlays) {
    const objects = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
      .map((doc) => doc.toJS()).filter((o) => o);
    if (objects.length === 0) problem(name, 'renders no objects');
    checkOverlay(name, objects, health);
    console.log(`check: ${name}: ${objects.length} objects checked`);
  }
  for (const p of problems) console.log(`check: ${p}`);
  if (problems.length) {
    console.log(`check: ${problems.length} problems`);
    process.exit(1);
  }
}

if (require.main === module) main();
module.exports = {check, healthNames};

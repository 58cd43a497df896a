// deploy/check's own tests: each rule must catch a manifest that breaks it.
// Run by deploy/check with CHECK_RENDERED_PROD (the rendered prod overlay)
// and CHECK_SERVER_DIR (server/, for the health service names).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');
const {check, healthNames} = require('./check_manifests.js');

const rendered = fs.readFileSync(process.env.CHECK_RENDERED_PROD, 'utf8');
const server = process.env.CHECK_SERVER_DIR;
const health = healthNames(path.join(server, 'health.h'), path.join(server, 'health.cc'));

function objects() {
  return YAML.parseAllDocuments(rendered).map((d) => d.toJS()).filter((o) => o);
}
function find(objs, kind, nameStart = '') {
  return objs.find((o) => o.kind === kind && o.metadata.name.startsWith(nameStart));
}
// Applies `mutate` to a fresh copy and returns the problems found.
function problemsAfter(mutate) {
  const objs = objects();
  mutate(objs);
  return check('prod', objs, health);
}
function expectProblem(mutate, pattern) {
  const found = problemsAfter(mutate);
  assert.ok(found.some((p) => pattern.test(p)), `expected ${pattern}, got ${JSON.stringify(found)}`);
}

test('the committed prod overlay passes', () => {
  assert.deepStrictEqual(check('prod', objects(), health), []);
});

test('health names come from the server sources', () => {
  assert.ok(health.alwaysServing.has('liveness'));
  assert.ok(health.dependsOnDatabase.has('tutoring.v1.TutoringService'));
  assert.ok(health.dependsOnDatabase.has(''));
});

test('schema errors are reported', () => {
  expectProblem((o) => { find(o, 'Deployment').spec.template.spec.containers[0].ports[0].containerPort = 'x'; },
    /schema: .*containerPort must be integer/);
});

test('restricted: seccomp, privilege escalation, capabilities, root, read-only root', () => {
  expectProblem((o) => {
    const t = find(o, 'Deployment').spec.template.spec;
    delete t.securityContext.seccompProfile;
    delete t.initContainers[0].securityContext.seccompProfile;
  }, /wait-for-schema: seccompProfile/);
  expectProblem((o) => { delete find(o, 'Job').spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation; },
    /allowPrivilegeEscalation/);
  expectProblem((o) => { find(o, 'Deployment').spec.template.spec.containers[0].securityContext.capabilities = {add: ['NET_ADMIN']}; },
    /drop must include ALL/);
  expectProblem((o) => {
    const t = find(o, 'Job').spec.template.spec;
    t.securityContext.runAsNonRoot = false;
    delete t.containers[0].securityContext.runAsNonRoot;
  }, /runAsNonRoot/);
  expectProblem((o) => { find(o, 'Deployment').spec.template.spec.hostNetwork = true; }, /hostNetwork/);
  expectProblem((o) => { find(o, 'Deployment').spec.template.spec.volumes.push({name: 'h', hostPath: {path: '/'}}); },
    /type hostPath/);
  expectProblem((o) => { delete find(o, 'Deployment').spec.template.spec.automountServiceAccountToken; },
    /automountServiceAccountToken/);
  expectProblem((o) => { find(o, 'Deployment').spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesystem = false; },
    /readOnlyRootFilesystem/);
  expectProblem((o) => { delete find(o, 'Job').spec.template.spec.containers[0].resources; }, /resources/);
});

test('selectors must carry name and instance and capture the server pods', () => {
  expectProblem((o) => { delete find(o, 'Service').spec.selector['app.kubernetes.io/instance']; },
    /Service.*selector lacks app.kubernetes.io\/instance/);
  expectProblem((o) => { delete find(o, 'PodDisruptionBudget').spec.selector.matchLabels['app.kubernetes.io/name']; },
    /PodDisruptionBudget.*selector lacks app.kubernetes.io\/name/);
  expectProblem((o) => {
    delete find(o, 'Deployment').spec.template.spec.topologySpreadConstraints[0].labelSelector.matchLabels['app.kubernetes.io/instance'];
  }, /topologySpreadConstraints\[0\].*instance/);
  expectProblem((o) => { find(o, 'Service').spec.selector['app.kubernetes.io/component'] = 'other'; },
    /selects no server pods|differs/);
  expectProblem((o) => {
    find(o, 'NetworkPolicy').spec.ingress[0].from[0].podSelector = {matchLabels: {'app.kubernetes.io/instance': 'x'}};
  }, /peer podSelector/);
});

test('probes must use the server health names', () => {
  expectProblem((o) => { find(o, 'Deployment').spec.template.spec.containers[0].readinessProbe.grpc.service = 'tutoring.v1.Tutoring'; },
    /readinessProbe service "tutoring.v1.Tutoring"/);
  expectProblem((o) => { find(o, 'Deployment').spec.template.spec.containers[0].livenessProbe.grpc.service = 'tutoring.v1.TutoringService'; },
    /livenessProbe .*ignores the database/);
});

test('release rules', () => {
  expectProblem((o) => { find(o, 'Deployment').spec.replicas = 3; }, /replicas although an HPA/);
  expectProblem((o) => { find(o, 'Deployment').spec.template.spec.containers[0].image = 'registry.invalid/tutoring-data-service:1.0'; },
    /not pinned by digest/);
  expectProblem((o) => { delete find(o, 'PodDisruptionBudget').spec.unhealthyPodEvictionPolicy; }, /AlwaysAllow/);
  expectProblem((o) => { delete find(o, 'HorizontalPodAutoscaler').spec.behavior; }, /behavior/);
  expectProblem((o) => { find(o, 'Job').metadata.name = 'tutoring-data-service-migrate'; }, /release version/);
  expectProblem((o) => {
    const cm = find(o, 'ConfigMap');
    cm.metadata.name = 'tutoring-data-service';
    find(o, 'Deployment').spec.template.spec.containers[0].envFrom[0].configMapRef.name = 'tutoring-data-service';
  }, /not generated/);
  expectProblem((o) => { o.splice(o.indexOf(find(o, 'NetworkPolicy', 'tutoring-data-service-migrate')), 1); },
    /Job.*no NetworkPolicy/);
  expectProblem((o) => { find(o, 'Service').metadata.namespace = 'default'; }, /namespace default/);
});

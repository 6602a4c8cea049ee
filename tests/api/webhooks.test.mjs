// webhooks.test.mjs — GitHub and GitLab webhook receivers against a real
// `conway serve`: every example of @octokit/webhooks-examples of the types
// conway translates (payloads nobody here wrote), signed with the receiver's
// secret, is translated or answered with the reason docs/webhooks.md gives;
// signatures and tokens are checked (401, counted); redeliveries store
// nothing twice; a GitHub flow (pull request opened, merged, deployed) and a
// GitLab flow give the right lead time in DORA; the admin API and the CLI
// create, list and revoke receivers.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { conway, startServer, testData } from './helpers.mjs';

const require = createRequire(import.meta.url);
const octokit = require('@octokit/webhooks-examples/api.github.com/index.json');
const examplesOf = (name) => octokit.find((e) => e.name === name).examples;
const gitlab = (name) => JSON.parse(readFileSync(join(testData, 'gitlab', `${name}.constructed.json`), 'utf8'));

const sign = (secret, body) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

// What docs/webhooks.md says each example becomes: the CDEvent types made,
// or a phrase of the documented reason it makes none. `label` is the
// receiver's incident label.
function expected(name, p, label) {
  const a = p.action;
  const ignore = (why) => ({ ignored: why });
  switch (name) {
    case 'pull_request':
      if (a === 'opened') return { types: ['change.created'] };
      if (a === 'closed') return { types: [p.pull_request.merged ? 'change.merged' : 'change.abandoned'] };
      return ignore('only the actions opened and closed');
    case 'push': {
      if (!p.ref.startsWith('refs/heads/')) return ignore('not a branch');
      if (p.ref !== `refs/heads/${p.repository.default_branch}`) return ignore('default branch');
      const commits = p.commits.filter((c) => c.distinct !== false);
      return { types: commits.flatMap(() => ['change.created', 'change.merged']) };
    }
    case 'deployment_status': {
      const s = p.deployment_status.state;
      if (s === 'success') return { types: ['service.deployed'] };
      if (s === 'failure' || s === 'error') return ignore('nothing was deployed');
      return ignore('not finished');
    }
    case 'workflow_run':
      return a === 'completed' ? { types: ['pipelinerun.finished'] } : ignore('only the action completed');
    case 'release':
      return a === 'published' ? { types: ['artifact.published'] } : ignore('only the action published');
    case 'issues': {
      if (!['opened', 'closed', 'labeled'].includes(a)) return ignore('only the actions opened, labeled and closed');
      const has = (p.issue.labels || []).some((l) => l.name.toLowerCase() === label);
      if (!has) return ignore('incident label');
      if (a === 'labeled' && (p.label.name.toLowerCase() !== label || p.issue.state !== 'open')) return ignore('labeled with another label');
      return { types: [a === 'closed' ? 'incident.resolved' : 'incident.detected'] };
    }
    default:
      throw new Error(name);
  }
}

describe('GitHub and GitLab webhooks', () => {
  let srv, admin, gh, ghBug, gl;
  const deliverGitHub = (hook, event, payload, { secret = hook.secret, delivery = randomUUID(), headers = {} } = {}) => {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return srv.json(hook.path, {
      method: 'POST', body,
      headers: {
        'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': delivery,
        'x-hub-signature-256': sign(secret, body), 'user-agent': 'GitHub-Hookshot/test', ...headers,
      },
    });
  };
  const deliverGitLab = (hook, payload, { token = hook.secret, uuid = randomUUID(), event = 'Merge Request Hook' } = {}) =>
    srv.json(hook.path, {
      method: 'POST', body: JSON.stringify(payload),
      headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-event-uuid': uuid, 'x-gitlab-token': token },
    });
  const metric = async (provider, outcome) => {
    const text = await (await srv.fetch('/metrics')).text();
    const m = text.match(new RegExp(`conway_webhook_deliveries_total\\{provider="${provider}",outcome="${outcome}"\\} (\\d+)`));
    return m ? Number(m[1]) : NaN;
  };

  before(async () => {
    srv = await startServer();
    admin = srv.token('admin');
    // one receiver from the CLI, as the walk-through does
    const r = conway(['hook', 'create', '--db', srv.db, '--provider', 'github', '--name', 'acme org']);
    assert.equal(r.status, 0, r.stderr);
    const kv = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(': ')));
    gh = { id: kv.id, path: kv.path, secret: kv.secret };
    assert.match(gh.path, /^\/api\/v1\/hooks\/github\/[A-Za-z0-9_-]+$/);
    // and two through the admin API
    const mk = async (body) => {
      const res = await srv.json('/api/v1/hooks', { method: 'POST', token: admin, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body;
    };
    ghBug = await mk({ provider: 'github', name: 'bugs are incidents', incidentLabel: 'bug' });
    gl = await mk({ provider: 'gitlab', name: 'gitlab group', team: 'platform' });
    assert.equal(gl.team, 'group:default/platform');
    assert.equal(gl.path, `/api/v1/hooks/gitlab/${gl.id}`);
  });
  after(async () => { await srv?.stop(); });

  for (const name of ['pull_request', 'push', 'deployment_status', 'workflow_run', 'release', 'issues']) {
    test(`every @octokit/webhooks-examples ${name} example is translated or ignored as documented`, async () => {
      const examples = examplesOf(name);
      assert.ok(examples.length > 0);
      const hooks = name === 'issues' ? [[gh, 'incident'], [ghBug, 'bug']] : [[gh, 'incident']];
      let made = 0;
      for (const [hook, label] of hooks) {
        for (const [i, p] of examples.entries()) {
          const want = expected(name, p, label);
          const delivery = randomUUID();
          const res = await deliverGitHub(hook, name, p, { delivery });
          const where = `${name}[${i}] (${p.action || '-'}, label ${label})`;
          assert.equal(res.status, 200, `${where}: ${JSON.stringify(res.body)}`);
          if (want.ignored) {
            assert.equal(res.body.status, 'ignored', `${where}: ${JSON.stringify(res.body)}`);
            assert.ok(res.body.reason.includes(want.ignored), `${where}: '${res.body.reason}' should say '${want.ignored}'`);
            continue;
          }
          assert.equal(res.body.status, 'stored', `${where}: ${JSON.stringify(res.body)}`);
          assert.equal(res.body.events, want.types.length, where);
          // the stored events, as the events API lists them
          const source = p.repository.html_url;
          for (const [n, type] of want.types.entries()) {
            const got = await srv.json(`/api/v1/events?type=${encodeURIComponent(`dev.cdevents.${type}`)}&limit=1000`);
            const ev = got.body.items.find((e) => e.id === `${delivery}.${n}` && e.source === source);
            assert.ok(ev, `${where}: event ${delivery}.${n} (${type}) not listed`);
            assert.equal(ev.cdevent.customData['conway.dev/webhook'].event, name);
            made++;
          }
        }
      }
      if (!['workflow_run'].includes(name)) assert.ok(made > 0, `no ${name} example made an event`);
    });
  }

  test('the GitLab fixtures built from GitLab\'s documented payloads are translated', async () => {
    const cases = [
      ['merge_request.open', 'stored'], ['merge_request.merge', 'stored'], ['merge_request.close', 'stored'],
      ['merge_request.update', 'ignored'], ['push', 'stored'], ['tag_push', 'ignored'],
      ['deployment.success', 'stored'], ['deployment.running', 'ignored'], ['pipeline.success', 'stored'],
      ['pipeline.failed', 'stored'], ['pipeline.running', 'ignored'], ['issue.open', 'ignored'],
      ['incident.open', 'stored'], ['incident.close', 'stored'],
    ];
    for (const [name, status] of cases) {
      const res = await deliverGitLab(gl, gitlab(name));
      assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.status, status, `${name}: ${JSON.stringify(res.body)}`);
    }
  });

  test('a delivery without the receiver\'s secret is refused with 401 and counted', async () => {
    const p = examplesOf('pull_request')[0];
    const before401 = await metric('github', 'unauthorized');
    const glBefore = await metric('gitlab', 'unauthorized');
    let res = await deliverGitHub(gh, 'pull_request', p, { secret: 'not the secret' });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type'), /problem\+json/);
    const body = JSON.stringify(p);
    res = await srv.json(gh.path, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': randomUUID() } });
    assert.equal(res.status, 401, 'no signature');
    // a valid signature for another receiver, a receiver that does not exist, the wrong provider
    res = await deliverGitHub({ ...gh, path: ghBug.path }, 'pull_request', p);
    assert.equal(res.status, 401);
    res = await deliverGitHub({ ...gh, path: '/api/v1/hooks/github/nope' }, 'pull_request', p);
    assert.equal(res.status, 401);
    res = await deliverGitHub({ ...gh, path: `/api/v1/hooks/gitlab/${gh.id}` }, 'pull_request', p);
    assert.equal(res.status, 401);
    // a bearer token is no credential here
    res = await srv.json(gh.path, { method: 'POST', body, token: admin, headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request' } });
    assert.equal(res.status, 401);
    // counted under the provider of the path (the wrong-provider one is gitlab's)
    assert.equal(await metric('github', 'unauthorized'), before401 + 5);
    res = await deliverGitLab(gl, gitlab('merge_request.open'), { token: 'guess' });
    assert.equal(res.status, 401);
    res = await deliverGitLab(gl, gitlab('merge_request.open'), { token: '' });
    assert.equal(res.status, 401);
    assert.equal(await metric('gitlab', 'unauthorized'), glBefore + 3);
  });

  test('a delivery sent again stores nothing twice; unknown events are acknowledged and counted', async () => {
    const p = examplesOf('pull_request').find((e) => e.action === 'opened');
    const delivery = randomUUID();
    const dupBefore = await metric('github', 'duplicate');
    let res = await deliverGitHub(gh, 'pull_request', p, { delivery });
    assert.equal(res.body.status, 'stored');
    const count = async () => (await srv.json('/api/v1/events?limit=1000')).body.items.filter((e) => e.id.startsWith(delivery)).length;
    assert.equal(await count(), 1);
    res = await deliverGitHub(gh, 'pull_request', p, { delivery });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'duplicate');
    assert.equal(await count(), 1);
    assert.equal(await metric('github', 'duplicate'), dupBefore + 1);
    // GitLab: Idempotency-Key wins over the event UUID
    const mr = gitlab('merge_request.open');
    const uuid = randomUUID();
    res = await deliverGitLab(gl, mr, { uuid });
    assert.equal(res.body.status, 'stored');
    res = await deliverGitLab(gl, mr, { uuid });
    assert.equal(res.body.status, 'duplicate');
    // a GitLab body is JSON whatever its Content-Type says (form decoding is GitHub's)
    res = await srv.json(gl.path, { method: 'POST', body: JSON.stringify(gitlab('pipeline.success')), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-gitlab-token': gl.secret, 'idempotency-key': randomUUID() } });
    assert.equal(res.body.status, 'stored', JSON.stringify(res.body));

    const unknownBefore = await metric('github', 'unknown');
    res = await deliverGitHub(gh, 'ping', { zen: 'Keep it logically awesome.', hook_id: 1 });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ignored');
    assert.match(res.body.reason, /ping/);
    res = await deliverGitHub(gh, 'star', examplesOf('star')[0]);
    assert.equal(res.status, 200);
    assert.equal(await metric('github', 'unknown'), unknownBefore + 2);
    // GitHub's form encoding of the same payload works too
    const form = `payload=${encodeURIComponent(JSON.stringify(p))}`;
    res = await deliverGitHub(gh, 'pull_request', form, { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.body.status, 'stored', JSON.stringify(res.body));
    // a translated kind without a field it needs: 400 naming it
    res = await deliverGitHub(gh, 'pull_request', { action: 'opened', repository: p.repository });
    assert.equal(res.status, 400);
    assert.match(res.body.detail, /pull_request: required/);
    res = await deliverGitHub(gh, 'pull_request', '{not json');
    assert.equal(res.status, 400);
  });

  test('a GitHub flow — pull request opened, merged, deployed — gives its lead time in DORA', async () => {
    const put = await srv.json('/api/v1/entities/component/default/hello-world', {
      method: 'PUT', token: admin, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
        metadata: { name: 'hello-world', annotations: { 'github.com/project-slug': 'Flow/Hello-World' } },
        spec: { type: 'service', lifecycle: 'production', owner: 'team-flow' },
      }),
    });
    assert.ok(put.status === 201 || put.status === 200, JSON.stringify(put.body));
    const repo = { ...examplesOf('pull_request')[0].repository, full_name: 'Flow/Hello-World', html_url: 'https://github.com/Flow/Hello-World', default_branch: 'main' };
    const opened = structuredClone(examplesOf('pull_request').find((e) => e.action === 'opened'));
    Object.assign(opened, { repository: repo });
    Object.assign(opened.pull_request, {
      html_url: 'https://github.com/Flow/Hello-World/pull/42', number: 42,
      created_at: '2024-03-04T09:00:00Z', base: { ...opened.pull_request.base, ref: 'main' },
    });
    const merged = structuredClone(opened);
    merged.action = 'closed';
    Object.assign(merged.pull_request, { state: 'closed', merged: true, merged_at: '2024-03-04T15:00:00Z', closed_at: '2024-03-04T15:00:00Z' });
    const deployed = structuredClone(examplesOf('deployment_status').find((e) => e.deployment_status.state === 'success'));
    deployed.repository = repo;
    Object.assign(deployed.deployment, { sha: 'a'.repeat(40), environment: 'production' });
    Object.assign(deployed.deployment_status, { environment: 'production', created_at: '2024-03-05T09:00:00Z' });
    for (const [event, p] of [['pull_request', opened], ['pull_request', merged], ['deployment_status', deployed]]) {
      const res = await deliverGitHub(gh, event, p);
      assert.equal(res.body.status, 'stored', JSON.stringify(res.body));
    }
    const dora = await srv.json('/api/v1/insights/dora?scope=component:default/hello-world&from=2024-03-01T00:00:00Z&to=2024-03-10T00:00:00Z');
    assert.equal(dora.status, 200, JSON.stringify(dora.body));
    assert.equal(dora.body.deployments, 1);
    assert.equal(dora.body.leadTimeSeconds.count, 1);
    assert.equal(dora.body.leadTimeSeconds.p50, 24 * 3600); // opened 09:00, deployed the next day 09:00
    // nothing of the repository is left unmatched
    const unmatched = await srv.json('/api/v1/events/unmatched');
    assert.ok(!unmatched.body.keys.some((k) => k.value.toLowerCase() === 'flow/hello-world'));
  });

  test('a GitLab flow — merge request opened, merged, deployed — gives its lead time in DORA', async () => {
    const put = await srv.json('/api/v1/entities/component/default/gitlab-test', {
      method: 'PUT', token: admin, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
        metadata: { name: 'gitlab-test', annotations: { 'gitlab.com/project-slug': 'flow/gitlab-test' } },
        spec: { type: 'service', lifecycle: 'production', owner: 'team-flow' },
      }),
    });
    assert.ok(put.status === 201 || put.status === 200, JSON.stringify(put.body));
    const retarget = (p) => { p.project.path_with_namespace = 'flow/gitlab-test'; p.project.web_url = 'http://example.com/flow/gitlab-test'; return p; };
    const open = retarget(gitlab('merge_request.open'));
    open.object_attributes.url = 'http://example.com/flow/gitlab-test/-/merge_requests/7';
    open.object_attributes.created_at = '2024-04-01T10:00:00Z';
    const merge = retarget(gitlab('merge_request.merge'));
    merge.object_attributes.url = open.object_attributes.url;
    merge.object_attributes.updated_at = '2024-04-01T12:00:00Z';
    const deploy = retarget(gitlab('deployment.success'));
    Object.assign(deploy, { environment: 'production', status_changed_at: '2024-04-01 16:00:00 +0200' });
    for (const p of [open, merge, deploy]) {
      const res = await deliverGitLab(gl, p);
      assert.equal(res.body.status, 'stored', JSON.stringify(res.body));
    }
    const dora = await srv.json('/api/v1/insights/dora?scope=component:default/gitlab-test&from=2024-03-25T00:00:00Z&to=2024-04-05T00:00:00Z');
    assert.equal(dora.body.deployments, 1);
    assert.equal(dora.body.leadTimeSeconds.p50, 4 * 3600); // 10:00Z to 14:00Z
  });

  test('receivers are administered by admins only; a revoked one refuses deliveries; deliveries are listed', async () => {
    const editor = srv.token('editor');
    let res = await srv.json('/api/v1/hooks', { token: editor });
    assert.equal(res.status, 403);
    res = await srv.json('/api/v1/hooks', { token: admin });
    assert.equal(res.status, 200);
    assert.ok(res.body.items.length >= 3);
    assert.ok(res.body.items.every((h) => !('secret' in h)));
    res = await srv.json('/api/v1/hooks', { method: 'POST', token: admin, body: JSON.stringify({ provider: 'bitbucket', name: 'x' }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.match(res.body.detail, /^provider:/);
    res = await srv.json('/api/v1/hooks', { method: 'POST', token: admin, body: JSON.stringify({ provider: 'github' }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.match(res.body.detail, /^name: required/);

    res = await srv.json(`/api/v1/hooks/${gl.id}/deliveries?limit=5`, { token: admin });
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 5);
    assert.ok(res.body.items[0].receivedAt);
    assert.ok(res.body.items.some((d) => d.payload && d.payload.object_kind));

    const temp = await srv.json('/api/v1/hooks', { method: 'POST', token: admin, body: JSON.stringify({ provider: 'github', name: 'short-lived' }), headers: { 'content-type': 'application/json' } });
    const p = examplesOf('pull_request')[0];
    assert.equal((await deliverGitHub(temp.body, 'pull_request', p)).status, 200);
    res = await srv.fetch(`/api/v1/hooks/${temp.body.id}`, { method: 'DELETE', token: admin });
    assert.equal(res.status, 204);
    assert.equal((await deliverGitHub(temp.body, 'pull_request', p)).status, 401);
    const list = conway(['hook', 'list', '--db', srv.db]);
    assert.equal(list.status, 0);
    assert.match(list.stdout, new RegExp(`${temp.body.id}\\tgithub\\tshort-lived\\t-\\t/api/v1/hooks/github/${temp.body.id}\\t\\S+\\trevoked`));
    const audit = await srv.json('/api/v1/audit?action=webhook.create', { token: admin });
    if (audit.status === 200) assert.ok(audit.body.items.length >= 3);
  });
});

// responsibilities.test.mjs — teams, effective RACI, ownership findings,
// CODEOWNERS and the audit log against a real `conway serve` loaded with
// the demo organisation (demo/org, whose deliberate smells demo/README.md
// lists by name), plus `conway check ownership` and `conway codeowners
// import` exit codes.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, conway, tempDir, repoRoot } from './helpers.mjs';

const orgDir = join(repoRoot, 'demo', 'org');
const orgFiles = ['groups', 'users', 'domains-systems', 'components', 'apis', 'resources', 'responsibilities']
  .map((f) => join(orgDir, `${f}.yaml`));
const JSON_CT = { 'content-type': 'application/json' };
const STANDARD = ['ci-cd', 'mechanical-sympathy', 'logging', 'monitoring', 'nfrs', 'change-management', 'incident-resolution', 'data-durability', 'security'];

function assertProblem(res, status, detailRe) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  if (detailRe) assert.match(res.body.detail, detailRe);
}

// demo/org has no heartbeats (scripts/demo.sh adds demo/heartbeats.yaml and
// pings them; demo/demo.test.mjs checks that), so each production database is an
// untested-backup warning (docs/heartbeats.md): checked on its own, and left
// out of the comparisons with the deliberate ownership smells below.
const HB_RULES = /^(heartbeat-down|heartbeat-without-target|untested-backup) /;
const smells = (lines) => lines.filter((l) => !HB_RULES.test(l));

// The findings demo/README.md promises, exactly, as "rule entityRef" lines
// in the order the API sorts them (rule, then entity).
const ROYALTIES = ['artist-promo-service', 'payout-exporter', 'royalty-calculator', 'royalty-statement-service', 'usage-reporter'];
const PAYMENTS = ['billing-service', 'invoice-service', 'payment-gateway-adapter'];
const EXPECTED = [
  ...[...ROYALTIES, ...PAYMENTS].sort().map((c) => `no-accountable component:default/${c}`),
  'orphan-user user:default/alex.morgan',
  'orphan-user user:default/kim.larsen',
  'owner-is-user component:default/lyrics-service',
  'owner-missing component:default/podcast-feed-service',
  'shared-resource-owner resource:default/legacy-users-db',
  'team-overload group:default/team-content',
  'team-without-members group:default/team-data-governance',
];

describe('the demo organisation', () => {
  let srv, admin, editor, dir;
  before(async () => {
    dir = tempDir();
    srv = await startServer({ imports: orgFiles });
    admin = srv.token('admin', { name: 'admin' });
    editor = srv.token('editor', { name: 'editor' });
  });
  after(async () => { await srv.stop(); });

  test('ownership findings are exactly the deliberate smells', async () => {
    const r = await srv.json('/api/v1/insights/ownership');
    assert.equal(r.status, 200);
    assert.deepEqual(smells(r.body.findings.map((f) => `${f.rule} ${f.entityRef}`)), EXPECTED);
    const untested = r.body.findings.filter((f) => f.rule === 'untested-backup');
    assert.ok(untested.length > 0);
    for (const f of untested) {
      assert.match(f.entityRef, /^resource:default\//);
      assert.match(f.detail, /no backup heartbeat/);
    }
    for (const f of r.body.findings.filter((x) => !HB_RULES.test(`${x.rule} `))) {
      assert.deepEqual(Object.keys(f).slice(0, 4), ['rule', 'severity', 'entityRef', 'detail']);
      assert.equal(f.severity, ['no-accountable', 'owner-missing'].includes(f.rule) ? 'error' : 'warning');
      assert.equal(typeof f.detail, 'string');
    }
    const u = untested.length;
    assert.deepEqual(r.body.summary, {
      error: 9, warning: 6 + u, total: 15 + u,
      byRule: { 'no-accountable': 8, 'orphan-user': 2, 'owner-is-user': 1, 'owner-missing': 1, 'shared-resource-owner': 1, 'team-overload': 1, 'team-without-members': 1, 'untested-backup': u },
    });
    assert.equal(r.body.maxComponentsPerTeam, 8);
    assert.equal(r.body.entities, 150);
    const byRef = Object.fromEntries(r.body.findings.filter((f) => !HB_RULES.test(`${f.rule} `)).map((f) => [f.entityRef, f]));
    for (const c of ROYALTIES) assert.deepEqual(byRef[`component:default/${c}`].activities, STANDARD, c);
    for (const c of PAYMENTS) assert.deepEqual(byRef[`component:default/${c}`].activities, ['data-durability'], c);
    assert.equal(byRef['component:default/podcast-feed-service'].owner, 'group:default/team-podcasts');
    assert.equal(byRef['component:default/lyrics-service'].owner, 'user:default/mira.kovac');
    assert.deepEqual(byRef['resource:default/legacy-users-db'].teams, ['group:default/team-commerce', 'group:default/team-growth', 'group:default/team-playback']);
    assert.match(byRef['group:default/team-content'].detail, /13 production components/);
  });

  test('ownership filters by rule, severity and team; bad filters are 400', async () => {
    const refs = async (q) => {
      const r = await srv.json(`/api/v1/insights/ownership?${q}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return smells(r.body.findings.map((f) => `${f.rule} ${f.entityRef}`));
    };
    assert.deepEqual(await refs('rule=owner-missing'), ['owner-missing component:default/podcast-feed-service']);
    assert.deepEqual(await refs('severity=error'), EXPECTED.filter((l) => /^(no-accountable|owner-missing) /.test(l)));
    assert.deepEqual(await refs('severity=warning&rule=orphan-user'), ['orphan-user user:default/alex.morgan', 'orphan-user user:default/kim.larsen']);
    assert.deepEqual(await refs('team=team-content'), [
      'no-accountable component:default/payout-exporter', 'no-accountable component:default/royalty-calculator',
      'no-accountable component:default/royalty-statement-service', 'no-accountable component:default/usage-reporter',
      'team-overload group:default/team-content']);
    assert.deepEqual(await refs('team=group:default/team-commerce'), [
      ...PAYMENTS.map((c) => `no-accountable component:default/${c}`), 'shared-resource-owner resource:default/legacy-users-db']);
    const s = (await srv.json('/api/v1/insights/ownership?team=team-content')).body.summary;
    const ut = s.byRule['untested-backup'] || 0;
    assert.deepEqual([s.error, s.warning, s.total], [4, 1 + ut, 5 + ut]);
    assertProblem(await srv.json('/api/v1/insights/ownership?rule=nope'), 400, /rule: unknown rule "nope"; known rules: action-overdue, .*heartbeat-down, heartbeat-without-target, .*link-key-conflict, location-unreachable, no-accountable, orphan-entity, orphan-user/);
    assertProblem(await srv.json('/api/v1/insights/ownership?severity=fatal'), 400, /severity/);
    assertProblem(await srv.json('/api/v1/insights/ownership?team=a:b:c'), 400, /team: .*not a Group/);
    assertProblem(await srv.json('/api/v1/insights/ownership?team=user:default/kim.larsen'), 400, /team: .*not a Group/);
    assertProblem(await srv.json('/api/v1/insights/ownership?owner=x'), 400, /unknown query parameter 'owner'/);
  });

  test('a write changes the findings at once', async () => {
    const put = (body) => srv.json(`/api/v1/entities/${body.kind.toLowerCase()}/default/${body.metadata.name}`, { method: 'PUT', token: editor, body: JSON.stringify(body), headers: JSON_CT });
    const podcasts = { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'team-podcasts' }, spec: { type: 'team', children: [], members: ['kim.larsen'] } };
    assert.equal((await put(podcasts)).status, 201);
    const r = await srv.json('/api/v1/insights/ownership');
    const lines = r.body.findings.map((f) => `${f.rule} ${f.entityRef}`);
    assert.ok(!lines.includes('owner-missing component:default/podcast-feed-service'), lines.join('\n'));
    assert.ok(!lines.includes('orphan-user user:default/kim.larsen'));
    assert.equal(r.body.entities, 151);
    const del = await srv.fetch('/api/v1/entities/group/default/team-podcasts', { method: 'DELETE', token: editor });
    assert.equal(del.status, 204);
    await del.arrayBuffer();
    const again = await srv.json('/api/v1/insights/ownership');
    assert.deepEqual(smells(again.body.findings.map((f) => `${f.rule} ${f.entityRef}`)), EXPECTED);
  });

  test('teams: members, leads, ownership, RACI roles and load', async () => {
    const r = await srv.json('/api/v1/teams/default/team-playback');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const t = r.body;
    assert.equal(t.entityRef, 'group:default/team-playback');
    assert.equal(t.teamType, 'stream-aligned');
    assert.equal(t.parent, 'group:default/listening-tribe');
    assert.deepEqual(t.productManager, { ref: 'user:default/raj.patel', exists: true, member: true, displayName: 'Raj Patel' });
    assert.equal(t.techLead.ref, 'user:default/lena.hoffmann');
    assert.equal(t.techLead.member, true);
    const members = t.members.map((m) => m.ref);
    assert.deepEqual(members, [...members].sort());
    for (const u of ['raj.patel', 'lena.hoffmann', 'mira.kovac']) assert.ok(members.includes(`user:default/${u}`), u);
    assert.deepEqual(t.owns.Component, ['entitlement-service', 'playback-service', 'player-sdk', 'stream-delivery-service', 'web-player'].map((c) => `component:default/${c}`));
    assert.deepEqual(t.owns.System, ['system:default/playback']);
    assert.equal(t.load.components, 5);
    assert.equal(t.load.productionComponents, 5);
    assert.equal(t.load.systems, 1);
    assert.equal(t.load.overloaded, false);
    assert.equal(t.load.onCall.activity, 'incident-resolution');
    assert.equal(t.load.onCall.count, 6);
    assert.ok(t.load.onCall.components.includes('component:default/lyrics-service'));
    assert.equal(t.load.accountableActivities, 30);
    const ir = t.raci.find((x) => x.target === 'system:default/playback' && x.activity === 'incident-resolution');
    assert.deepEqual(ir, { target: 'system:default/playback', activity: 'incident-resolution', roles: ['responsible', 'accountable'], responsibilities: 'responsibilities:default/playback' });
    assert.deepEqual(smells(t.findings.map((f) => `${f.rule} ${f.entityRef}`)), ['shared-resource-owner resource:default/legacy-users-db']);
    assert.deepEqual(t.notes, []);

    const content = (await srv.json('/api/v1/teams/default/team-content')).body;
    assert.equal(content.load.productionComponents, 13);
    assert.equal(content.load.overloaded, true);
    const gov = (await srv.json('/api/v1/teams/default/team-data-governance')).body;
    assert.deepEqual(gov.members, []);
    assert.equal(gov.productManager, null);
    assert.equal(gov.techLead, null);
    assert.ok(gov.notes.some((n) => /no members/.test(n)));
    assert.deepEqual(gov.findings.map((f) => f.rule), ['team-without-members']);
    const sre = (await srv.json('/api/v1/teams/default/team-sre')).body;
    assert.ok(sre.load.onCall.count > 20);
    assert.ok(!sre.load.onCall.components.includes('component:default/royalty-calculator'));
    assert.equal(sre.load.accountableActivities, 0);
    assert.equal((await srv.json('/api/v1/teams/default/leadership')).body.teamType, null);

    assertProblem(await srv.json('/api/v1/teams/default/engineering'), 404, /group:default\/engineering is not a team: its spec.type is "department"/);
    assertProblem(await srv.json('/api/v1/teams/default/no-such-team'), 404, /does not exist/);
  });

  test('RACI: effective matrix with inheritance and sources', async () => {
    const r = await srv.json('/api/v1/raci/component/default/playback-service');
    assert.equal(r.status, 200);
    assert.equal(r.body.entityRef, 'component:default/playback-service');
    assert.deepEqual(r.body.activities.map((a) => a.activity), STANDARD);
    assert.deepEqual(r.body.missing, []);
    const src = Object.fromEntries(r.body.activities.map((a) => [a.activity, a.source]));
    for (const a of ['nfrs', 'security']) {
      assert.deepEqual(src[a], { responsibilities: 'responsibilities:default/listening', target: 'domain:default/listening', inherited: true }, a);
    }
    assert.deepEqual(src['incident-resolution'], { responsibilities: 'responsibilities:default/playback', target: 'system:default/playback', inherited: true });
    const ir = r.body.activities.find((a) => a.activity === 'incident-resolution');
    assert.equal(ir.accountable, 'group:default/team-playback');
    assert.deepEqual(ir.responsible, ['group:default/team-playback', 'group:default/team-sre']);

    const recs = (await srv.json('/api/v1/raci/Component/default/recommendation-service')).body;
    assert.ok(recs.activities.every((a) => a.source.inherited === false && a.source.target === 'component:default/recommendation-service'));
    assert.deepEqual((await srv.json('/api/v1/raci/component/default/billing-service')).body.missing, ['data-durability']);
    const roy = (await srv.json('/api/v1/raci/component/default/royalty-calculator')).body;
    assert.deepEqual(roy.activities, []);
    assert.deepEqual(roy.missing, STANDARD);
    assert.deepEqual((await srv.json('/api/v1/raci/system/default/payments')).body.missing, ['data-durability']);
    const dom = (await srv.json('/api/v1/raci/domain/default/listening')).body;
    assert.equal(dom.activities.length, 9);

    assertProblem(await srv.json('/api/v1/raci/group/default/team-sre'), 400, /kind: RACI applies to a Component, System or Domain/);
    assertProblem(await srv.json('/api/v1/raci/component/default/nope'), 404, /does not exist/);
  });

  test('unknown activities are rejected with the known list', async () => {
    const body = { apiVersion: 'conway.dev/v1', kind: 'Responsibilities', metadata: { name: 'royalties' },
      spec: { target: 'system:default/royalties', activities: { 'on-call': { responsible: ['team-content'], accountable: 'team-content' } } } };
    const r = await srv.json('/api/v1/entities/responsibilities/default/royalties', { method: 'PUT', token: editor, body: JSON.stringify(body), headers: JSON_CT });
    assertProblem(r, 422, /spec\.activities\.on-call: unknown activity "on-call"; known activities: ci-cd, mechanical-sympathy, logging, monitoring, nfrs, change-management, incident-resolution, data-durability, security/);
    const two = { ...body, spec: { ...body.spec, activities: { logging: { responsible: ['team-content'], accountable: ['team-content', 'team-sre'] } } } };
    assertProblem(await srv.json('/api/v1/entities/responsibilities/default/royalties', { method: 'PUT', token: editor, body: JSON.stringify(two), headers: JSON_CT }), 422, /spec\.activities\.logging\.accountable/);
  });

  test('CODEOWNERS: mismatch, agreement, invalid lines, errors', async () => {
    const post = (component, text, token = editor) => srv.json(`/api/v1/codeowners${component === null ? '' : `?component=${encodeURIComponent(component)}`}`, { method: 'POST', token, body: text, headers: { 'content-type': 'text/plain' } });
    const mismatch = await post('playback-service', '# owners\n* @tunewave/team-platform ops@example.com\n/docs/ @tunewave/docs\n!vendor/ @x\n');
    assert.equal(mismatch.status, 200, JSON.stringify(mismatch.body));
    assert.equal(mismatch.body.entityRef, 'component:default/playback-service');
    assert.equal(mismatch.body.rules, 2);
    assert.deepEqual(mismatch.body.rootOwners, ['@tunewave/team-platform', 'ops@example.com']);
    assert.equal(mismatch.body.rootLine, 2);
    assert.equal(mismatch.body.errors.length, 1);
    assert.equal(mismatch.body.errors[0].line, 4);
    assert.equal(mismatch.body.findings.length, 1);
    const f = mismatch.body.findings[0];
    assert.equal(f.rule, 'codeowners-mismatch');
    assert.equal(f.severity, 'warning');
    assert.equal(f.entityRef, 'component:default/playback-service');
    assert.equal(f.owner, 'group:default/team-playback');
    assert.match(f.detail, /group:default\/team-playback .*group:default\/team-platform/);
    // last matching root rule wins
    const agree = await post('component:default/playback-service', '* @tunewave/team-platform\n* @tunewave/Team-Playback\n*.md @tunewave/docs\n');
    assert.deepEqual(agree.body.findings, []);
    assert.equal(agree.body.rootLine, 2);
    assertProblem(await post(null, '* @a/b\n'), 400, /component/);
    assertProblem(await post('nope', '* @a/b\n'), 404, /component:default\/nope does not exist/);
    assertProblem(await post('a:b:c', '* @a/b\n'), 400, /'component': "a:b:c" is not a Component/);
    assertProblem(await post('group:default/team-sre', '* @a/b\n'), 400, /is not a Component/);
    const big = await post('playback-service', '# x\n'.repeat(800 * 1024));
    assert.equal(big.status, 413);
  });

  test('the CLI: conway check ownership and conway codeowners import exit codes', async () => {
    const all = conway(['check', 'ownership', '--db', srv.db]);
    assert.equal(all.status, 1, all.stderr);
    const lines = all.stdout.trim().split('\n');
    assert.deepEqual(smells(lines.map((l) => l.split(' ').slice(1, 3).join(' ').replace(/:$/, ''))), EXPECTED);
    assert.match(lines[0], /^error no-accountable component:default\/artist-promo-service: /);
    const untested = lines.filter((l) => / untested-backup /.test(l)).length;
    assert.ok(untested > 0);
    assert.match(all.stderr, new RegExp(`9 errors, ${6 + untested} warnings in 150 entities`));
    assert.equal(conway(['check', 'ownership', '--db', srv.db, '--severity', 'warning']).status, 0);
    assert.equal(conway(['check', 'ownership', '--db', srv.db, '--team', 'team-playback']).status, 0);
    const content = conway(['check', 'ownership', '--db', srv.db, '--team', 'team-content', '--json']);
    assert.equal(content.status, 1);
    const api = (await srv.json('/api/v1/insights/ownership?team=team-content')).body;
    assert.deepEqual(JSON.parse(content.stdout), api);
    const relaxed = conway(['check', 'ownership', '--db', srv.db, '--rule', 'team-overload', '--max-components-per-team', '13']);
    assert.equal(relaxed.status, 0);
    assert.equal(relaxed.stdout, '');
    const bad = conway(['check', 'ownership', '--db', srv.db, '--rule', 'nope']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--rule: unknown rule "nope"/);
    assert.equal(conway(['check', 'nothing']).status, 2);
    assert.equal(conway(['check', 'ownership', '--db', join(dir, 'missing', 'x.db')]).status, 2);

    const co = join(dir, 'CODEOWNERS');
    writeFileSync(co, '* @tunewave/team-commerce\n');
    const ok = conway(['codeowners', 'import', co, '--component', 'billing-service', '--db', srv.db]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, '');
    const mis = conway(['codeowners', 'import', co, '--component', 'component:default/playback-service', '--db', srv.db]);
    assert.equal(mis.status, 1);
    assert.match(mis.stdout, /^warning codeowners-mismatch component:default\/playback-service: /);
    const js = conway(['codeowners', 'import', co, '--component', 'playback-service', '--db', srv.db, '--json']);
    assert.equal(js.status, 1);
    const viaApi = await srv.json('/api/v1/codeowners?component=playback-service', { method: 'POST', token: editor, body: readFileSync(co), headers: { 'content-type': 'text/plain' } });
    assert.deepEqual(JSON.parse(js.stdout), viaApi.body);
    assert.equal(conway(['codeowners', 'import', co, '--component', 'ghost', '--db', srv.db]).status, 2);
    assert.equal(conway(['codeowners', 'import', co, '--db', srv.db]).status, 2);
    assert.equal(conway(['codeowners', 'import', co, '--component', 'group:team-sre', '--db', srv.db]).status, 2);
  });

  test('the audit log: filters, paging, request ids', async () => {
    const rid = `audit-${Date.now()}`;
    const body = { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'audited' }, spec: { type: 'service', lifecycle: 'experimental', owner: 'team-sre' } };
    const t0 = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 3; i++) {
      body.metadata.description = `v${i}`;
      const r = await srv.json('/api/v1/entities/component/default/audited', { method: 'PUT', token: editor, body: JSON.stringify(body), headers: { ...JSON_CT, 'x-request-id': `${rid}-${i}` } });
      assert.equal(r.status, i ? 200 : 201);
    }
    const q = (s) => srv.json(`/api/v1/audit?${s}`, { token: admin });
    const mine = (await q('entityRef=Component:Default/Audited')).body.items;
    assert.deepEqual(mine.map((x) => x.action), ['entity.update', 'entity.update', 'entity.create']);
    assert.deepEqual(mine.map((x) => x.requestId), [`${rid}-2`, `${rid}-1`, `${rid}-0`]);
    assert.ok(mine.every((x) => x.tokenName === 'editor' && x.actor === 'token'));
    const tokenId = mine[0].tokenId;
    assert.ok((await q(`tokenId=${tokenId}`)).body.items.every((x) => x.tokenId === tokenId));
    assert.equal((await q(`action=entity.create&entityRef=component:default/audited`)).body.items.length, 1);
    assert.equal((await q(`from=${encodeURIComponent(t0)}&entityRef=component:default/audited`)).body.items.length, 3);
    assert.equal((await q(`to=${encodeURIComponent(t0)}&entityRef=component:default/audited`)).body.items.length, 0);
    // newest first, paged with cursors, nothing twice, nothing missed
    const every = (await q('limit=1000')).body.items;
    const seen = [];
    let cursor = null;
    do {
      const page = (await q(`limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).body;
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(seen.map((x) => x.id), every.map((x) => x.id));
    for (let i = 1; i < every.length; i++) assert.ok(every[i - 1].id > every[i].id);
    assertProblem(await q('limit=0'), 400, /limit/);
    assertProblem(await q('cursor=zzz'), 400, /cursor/);
    assertProblem(await q('from=yesterday'), 400, /'from'/);
    assertProblem(await q('entityRef=audited'), 400, /entityRef/);
    assertProblem(await q('tokenId=-1'), 400, /tokenId/);
  });
});

describe('settings', () => {
  test('--max-components-per-team and --activities', async () => {
    const dir = tempDir();
    const acts = join(dir, 'activities.txt');
    writeFileSync(acts, '# our own\n- on-call\ncost-control  # money\n\n');
    const srv = await startServer({ imports: orgFiles.slice(0, 6), args: ['--max-components-per-team', '13', '--activities', acts] });
    try {
      const r = await srv.json('/api/v1/insights/ownership?rule=team-overload');
      assert.deepEqual(r.body.findings, []);
      assert.equal(r.body.maxComponentsPerTeam, 13);
      assert.equal((await srv.json('/api/v1/teams/default/team-content')).body.load.overloaded, false);
      const editor = srv.token('editor');
      const body = { apiVersion: 'conway.dev/v1', kind: 'Responsibilities', metadata: { name: 'royalties' },
        spec: { target: 'system:default/royalties', activities: { 'on-call': { responsible: ['team-content'], accountable: 'team-content' } } } };
      const put = await srv.json('/api/v1/entities/responsibilities/default/royalties', { method: 'PUT', token: editor, body: JSON.stringify(body), headers: JSON_CT });
      assert.equal(put.status, 201, JSON.stringify(put.body));
      body.spec.activities = { 'on-cal': body.spec.activities['on-call'] };
      const bad = await srv.json('/api/v1/entities/responsibilities/default/royalties', { method: 'PUT', token: editor, body: JSON.stringify(body), headers: JSON_CT });
      assertProblem(bad, 422, /known activities: .*security, cost-control, on-call/);
      const raci = (await srv.json('/api/v1/raci/system/default/royalties')).body;
      assert.deepEqual(raci.activities.map((a) => a.activity), ['on-call']);
      assert.deepEqual(raci.missing, STANDARD);
    } finally { await srv.stop(); }
    writeFileSync(acts, 'Bad_Name\n');
    const r = conway(['serve', '--db', join(dir, 'x.db'), '--activities', acts]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--activities: .*:1: /);
  });

});

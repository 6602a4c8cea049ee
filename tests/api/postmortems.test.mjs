// postmortems.test.mjs — the incident and postmortem findings of issue #13
// against a real `conway serve` and the real CLI, on the fixture of
// GitLab.com's database outage of 31 January 2017 (demo/gitlab-2017:
// its organisation, the incident as CDEvents, the postmortem with its five
// whys and action items): the postmortem imports, names the incident,
// and yields exactly the expected findings in GET /api/v1/insights/ownership
// and `conway check postmortems`; the team page lists what a team owes,
// overdue first; an incident without postmortem is reported after the
// configured days at or above the configured severity.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, conway, repoRoot } from './helpers.mjs';

const fixture = join(repoRoot, 'demo', 'gitlab-2017');
const PM = 'postmortem:default/gitlab-com-database-outage-2017-01-31';

const key = (f) => `${f.rule} ${f.entityRef} ${f.owner ?? '-'} ${f.actionItem?.id ?? f.incident?.ref ?? '-'}`;
const POSTMORTEM_RULES = ['action-overdue', 'action-owner-not-accountable', 'action-owner-unknown', 'incident-without-postmortem', 'postmortem-without-actions'];
const onlyPostmortem = (findings) => findings.filter((f) => POSTMORTEM_RULES.includes(f.rule)).map(key);

// What the fixture must yield today (every due date is in 2017).
const EXPECTED = [
  `action-overdue ${PM} group:default/abuse AI-7`,
  `action-overdue ${PM} group:default/database AI-3`,
  `action-overdue ${PM} group:default/database AI-9`,
  `action-overdue ${PM} group:default/infrastructure AI-2`,
  `action-overdue ${PM} user:default/db-specialist AI-4`,
  `action-owner-not-accountable ${PM} group:default/database AI-3`,
  `action-owner-not-accountable ${PM} user:default/db-specialist AI-4`,
  `action-owner-unknown ${PM} group:default/abuse AI-7`,
];

describe('postmortems: GitLab.com, 31 January 2017', () => {
  let srv, viewer, admin;
  before(async () => {
    srv = await startServer({ publicRead: false, imports: [join(fixture, 'catalog.yaml'), join(fixture, 'postmortem.yaml')] });
    viewer = srv.token('viewer');
    admin = srv.token('admin');
    const r = conway(['events', 'import', '--db', srv.db, join(fixture, 'incident.ndjson')]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => { await srv?.stop(); });

  test('the postmortem imports with its timeline, five whys and action items', async () => {
    const r = await srv.json('/api/v1/entities/postmortem/default/gitlab-com-database-outage-2017-01-31', { token: viewer });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const spec = r.body.spec;
    assert.deepEqual(spec.incidents, ['gitlab-2017-01-31-db']);
    assert.equal(spec.whys.length, 5);
    assert.equal(spec.timeline.length, 8);
    assert.equal(spec.actionItems.length, 9);
    assert.ok(r.body.relations.some((x) => x.type === 'ownedBy' && x.targetRef === 'group:default/infrastructure'));
  });

  test('the incident links to its component and names its postmortem', async () => {
    const l = await srv.json('/api/v1/incidents?scope=component:gitlab-com-db', { token: viewer });
    assert.equal(l.body.items.length, 1);
    const inc = l.body.items[0];
    assert.equal(inc.ref, 'gitlab-2017-01-31-db');
    assert.equal(inc.severity, 'critical');
    assert.equal(inc.owner, 'group:default/database');
    assert.equal(inc.timeToRestoreSeconds, 19 * 3600 + 14 * 60);
    const page = await srv.json(`/api/v1/incidents/${inc.id}`, { token: viewer });
    assert.deepEqual(page.body.postmortems, [{ entityRef: PM, title: 'GitLab.com database outage of 31 January 2017', summary: page.body.postmortems[0].summary, actionItems: 9, openActionItems: 5 }]);
    assert.match(page.body.postmortems[0].summary, /removed the PostgreSQL data directory of the primary/);
  });

  test('GET /api/v1/insights/ownership yields exactly the expected findings', async () => {
    const r = await srv.json('/api/v1/insights/ownership', { token: viewer });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(onlyPostmortem(r.body.findings).sort(), [...EXPECTED].sort());
    assert.equal(r.body.postmortemSeverity, 'critical');
    assert.equal(r.body.postmortemDays, 5);
    const overdue = r.body.findings.find((f) => f.rule === 'action-overdue' && f.actionItem.id === 'AI-2');
    assert.equal(overdue.severity, 'error');
    assert.equal(overdue.actionItem.status, 'in-progress');
    assert.ok(overdue.actionItem.daysOverdue > 3000);
    assert.match(overdue.detail, /AI-2 .* was due 2017-02-28 and is still in-progress/);
    const na = r.body.findings.find((f) => f.rule === 'action-owner-not-accountable' && f.actionItem.id === 'AI-3');
    assert.equal(na.severity, 'warning');
    assert.equal(na.component, 'component:default/gitlab-com-db');
    assert.match(na.detail, /data-durability on component:default\/gitlab-com-db.*accountable: infrastructure/);
    // filters
    const byRule = await srv.json('/api/v1/insights/ownership?rule=action-owner-unknown', { token: viewer });
    assert.deepEqual(byRule.body.findings.map(key), [`action-owner-unknown ${PM} group:default/abuse AI-7`]);
    const byTeam = await srv.json('/api/v1/insights/ownership?team=database', { token: viewer });
    assert.deepEqual(onlyPostmortem(byTeam.body.findings).sort(), [
      `action-overdue ${PM} group:default/database AI-3`, `action-overdue ${PM} group:default/database AI-9`,
      `action-owner-not-accountable ${PM} group:default/database AI-3`].sort());
    const warn = await srv.json('/api/v1/insights/ownership?severity=warning&rule=action-owner-not-accountable', { token: viewer });
    assert.equal(warn.body.findings.length, 2);
  });

  test('conway check postmortems says the same, and fails the pipeline', async () => {
    const r = conway(['check', 'postmortems', '--db', srv.db, '--json']);
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.findings.map(key).sort(), [...EXPECTED].sort());
    assert.deepEqual(report.summary.byRule, { 'action-overdue': 5, 'action-owner-not-accountable': 2, 'action-owner-unknown': 1 });
    assert.equal(report.incidents, 1);
    const lines = conway(['check', 'postmortems', '--db', srv.db, '--rule', 'action-owner-unknown']);
    assert.equal(lines.status, 1);
    assert.equal(lines.stdout, `error action-owner-unknown ${PM}: action item AI-7 (Limit PostgreSQL max_connections and rate-limit abusive traffic) is owned by group:default/abuse, which is no Group of the catalog: nobody will be reminded of it\n`);
    assert.match(lines.stderr, /1 error, 0 warnings in \d+ entities and 1 incidents/);
    // on 20 February 2017 nothing was overdue yet; warnings never fail
    const early = conway(['check', 'postmortems', '--db', srv.db, '--now', '2017-02-20T00:00:00Z', '--severity', 'warning']);
    assert.equal(early.status, 0, early.stderr);
    assert.equal(early.stdout.trim().split('\n').length, 2);
    const onFeb20 = JSON.parse(conway(['check', 'postmortems', '--db', srv.db, '--now', '2017-02-20T00:00:00Z', '--json']).stdout);
    assert.equal(onFeb20.summary.byRule['action-overdue'], undefined);
    for (const bad of [['--postmortem-severity', 'urgent'], ['--postmortem-days', '-1'], ['--now', 'soon'], ['--rule', 'nope']]) {
      const u = conway(['check', 'postmortems', '--db', srv.db, ...bad]);
      assert.equal(u.status, 2, bad.join(' '));
      assert.match(u.stderr, new RegExp(`--${bad[0].slice(2).split('-')[0]}`));
    }
  });

  test('the team page lists the action items a team owes, overdue first', async () => {
    const t = await srv.json('/api/v1/teams/default/database', { token: viewer });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.deepEqual(t.body.actionItems.map((a) => [a.id, a.owner, a.overdue]), [
      ['AI-3', 'group:default/database', true], ['AI-4', 'user:default/db-specialist', true], ['AI-9', 'group:default/database', true]]);
    assert.equal(t.body.actionItems[0].postmortem, PM);
    // its findings include the postmortem ones about it
    assert.ok(t.body.findings.some((f) => f.rule === 'action-overdue'));
    const infra = await srv.json('/api/v1/teams/default/infrastructure', { token: viewer });
    assert.deepEqual(infra.body.actionItems.map((a) => a.id), ['AI-2']);
  });

  test('an incident without postmortem: reported after the days, at or above the severity', async () => {
    const day = 86400000;
    const now = Date.now();
    const ev = (id, pred, t, severity) => ({ context: { specversion: '0.5.1', id, source: '/gitlab/infrastructure', type: `dev.cdevents.incident.${pred}.0.3.0`, timestamp: new Date(t).toISOString() }, subject: { id: 'gitlab-replication-lag', content: { environment: { id: 'production' }, service: { id: 'gitlab-com-db' } } }, ...(severity ? { customData: { severity } } : {}) });
    const r = await srv.json('/api/v1/events', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify([ev('lag-1', 'detected', now - 3 * day, 'major'), ev('lag-2', 'resolved', now - 3 * day + 3600000)]) });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const find = async (q = '') => (await srv.json(`/api/v1/insights/ownership?rule=incident-without-postmortem${q}`, { token: viewer })).body.findings;
    assert.deepEqual(await find(), []); // major = high: below the default threshold
    const cli = (...a) => JSON.parse(conway(['check', 'postmortems', '--db', srv.db, '--json', '--rule', 'incident-without-postmortem', ...a]).stdout).findings;
    assert.deepEqual(cli('--postmortem-severity', 'high'), []); // only 3 days ago
    const found = cli('--postmortem-severity', 'high', '--postmortem-days', '2');
    assert.deepEqual(found.map(key), ['incident-without-postmortem component:default/gitlab-com-db group:default/database gitlab-replication-lag']);
    assert.match(found[0].detail, /^high incident gitlab-replication-lag, resolved .* \(2 days ago\), has no postmortem/);
    // the server's own settings
    await srv.stop({ keep: true });
    const again = await startServer({ db: srv.db, publicRead: true, args: ['--postmortem-severity', 'high', '--postmortem-days', '2'] });
    try {
      const f = (await again.json('/api/v1/insights/ownership?rule=incident-without-postmortem')).body;
      assert.equal(f.findings.length, 1);
      assert.equal(f.postmortemSeverity, 'high');
      assert.equal(f.postmortemDays, 2);
    } finally {
      await again.stop();
    }
  });
});

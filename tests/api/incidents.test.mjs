// incidents.test.mjs — black-box tests of incidents (issue #13) against a
// real `conway serve`: Alertmanager notifications (the example payloads of
// tests/data/alertmanager and hand-made ones) opening, joining and
// resolving incidents at the payload's times and counting in DORA as
// incident CDEvents do; incidents from CDEvents linked to the catalog; the
// list's filters and paging; the incident page with its likely causing
// deployment, timeline, alerts and postmortems; transitions and notes with
// team-scoped tokens; and every bad input answered with a problem naming it.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, repoRoot, conway } from './helpers.mjs';

const H = 3600 * 1000;
const iso = (ms) => new Date(ms).toISOString();
const amExample = JSON.parse(readFileSync(join(repoRoot, 'tests', 'data', 'alertmanager', 'webhook_v4_v0.34.constructed.json'), 'utf8'));
let seq = 0;

function assertProblem(res, status, detailRe) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  if (detailRe) assert.match(res.body.detail, detailRe);
}

const entity = (kind, name, spec = {}, extra = {}) => ({ apiVersion: 'backstage.io/v1alpha1', kind, metadata: { name, ...extra }, spec });
const team = (name) => entity('Group', name, { type: 'team', children: [] });
const service = (name, owner, annotations) => entity('Component', name, { type: 'service', lifecycle: 'production', owner }, annotations ? { annotations } : {});

function cdevent(kind, { t, subject, content = {}, custom, source = '/pager', subjectSource }) {
  const e = { context: { specversion: '0.5.1', id: `ev-${++seq}`, source, type: `dev.cdevents.${kind}.0.3.0`, timestamp: iso(t) }, subject: { id: subject, content } };
  if (subjectSource) e.subject.source = subjectSource;
  if (custom) e.customData = custom;
  return e;
}
const incidentEvent = (pred, subject, t, { service: svc, artifact, severity, description } = {}) => {
  const content = { environment: { id: 'production' } };
  if (svc) content.service = { id: svc };
  if (artifact) content.artifactId = artifact;
  if (description) content.description = description;
  return cdevent(`incident.${pred}`, { t, subject, content, custom: severity ? { severity } : undefined });
};
const deployEvent = (svc, t, artifact) => cdevent('service.deployed', { t, subject: svc, source: '/ci', content: { environment: { id: 'production' }, artifactId: artifact } });

// A notification for group `group`: alerts as [status, startsAt, endsAt?, labels].
function notification(group, status, alerts, { common = {}, annotations = {} } = {}) {
  return {
    receiver: 'conway', status, version: '4', groupKey: `{}:{alertname="${group}"}`, truncatedAlerts: 0,
    groupLabels: { alertname: group }, commonLabels: { alertname: group, ...common }, commonAnnotations: annotations,
    externalURL: 'http://alertmanager.example:9093',
    alerts: alerts.map(([st, startsAt, endsAt, labels = {}], i) => ({
      status: st, labels: { alertname: group, instance: `i${i}`, ...labels }, annotations: { summary: `${group} on i${i}` },
      startsAt: iso(startsAt), endsAt: endsAt ? iso(endsAt) : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example/graph', fingerprint: `${group}-fp-${i}`,
    })),
  };
}

describe('incidents', () => {
  let srv, admin, ingest, viewer, payEditor, shopEditor;
  const post = (path, body, token, type = 'application/json') => srv.json(path, {
    method: 'POST', token, headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const hook = (body, token = ingest) => post('/api/v1/hooks/alertmanager', body, token);
  const events = (list) => post('/api/v1/events', list, admin);
  const transition = (id, body, token) => post(`/api/v1/incidents/${id}/transitions`, body, token);

  before(async () => {
    srv = await startServer({ publicRead: false });
    admin = srv.token('admin');
    ingest = srv.token('ingest', { name: 'alertmanager' });
    viewer = srv.token('viewer');
    payEditor = srv.token('editor', { team: 'group:default/team-pay', name: 'pay-oncall' });
    shopEditor = srv.token('editor', { team: 'group:default/team-shop', name: 'shop-oncall' });
    const imp = await post('/api/v1/import', [team('team-pay'), team('team-shop'),
      service('checkout', 'team-shop'), service('payments', 'team-pay', { 'conway.dev/service-id': 'pay-svc' })], admin);
    assert.equal(imp.status, 200, JSON.stringify(imp.body));
  });
  after(async () => { await srv?.stop(); });

  test('the Alertmanager example payload opens an incident at its startsAt, linked to its component', async () => {
    const r = await hook(amExample);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.accepted, 1);
    const inc = r.body.incident;
    assert.match(inc.ref, /^am-[0-9a-f]{16}-1$/);
    assert.equal(inc.state, 'triggered');
    assert.equal(inc.startedAt, '2026-08-20T10:00:00.123Z'); // the payload's time, not arrival
    assert.equal(inc.severity, 'critical');
    assert.equal(inc.component, 'component:default/checkout'); // label service=checkout
    assert.equal(inc.owner, 'group:default/team-shop');
    assert.equal(inc.alertGroup, amExample.groupKey);
    assert.equal(inc.title, 'checkout 5xx ratio above 5%');
    // sent again (Alertmanager's repeat_interval): same incident, nothing new
    const again = await hook(amExample);
    assert.equal(again.body.incident.id, inc.id);
    assert.equal(again.body.accepted, 0);
    const page = await srv.json(`/api/v1/incidents/${inc.id}`, { token: viewer });
    assert.equal(page.status, 200);
    assert.equal(page.body.alerts.length, 2);
    assert.deepEqual(page.body.alerts.map((a) => a.status), ['firing', 'resolved']);
    assert.equal(page.body.timeline.filter((e) => e.kind === 'alert').length, 2);
    assert.equal(page.body.timeline.filter((e) => e.kind === 'event').length, 1);
    // the event is an ordinary incident CDEvent in the events list
    const ev = await srv.json('/api/v1/events?type=dev.cdevents.incident', { token: viewer });
    assert.ok(ev.body.items.some((e) => e.source === '/conway/alertmanager' && e.subjectId === inc.ref));
  });

  test('firing, resolved, firing again: two incidents, resolved at endsAt, and DORA counts them', async () => {
    const t0 = Date.parse('2026-09-01T10:00:00Z');
    const labels = { service: 'pay-svc', severity: 'page' };
    let r = await hook(notification('PayDown', 'firing', [['firing', t0, null, labels]]));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const first = r.body.incident;
    assert.equal(first.component, 'component:default/payments');
    assert.equal(first.severity, 'critical'); // "page" on conway's scale
    assert.equal(first.severityLabel, 'page');
    r = await hook(notification('PayDown', 'resolved', [['resolved', t0, t0 + 45 * 60000, labels]]));
    assert.equal(r.body.incident.id, first.id);
    assert.equal(r.body.incident.state, 'resolved');
    assert.equal(Date.parse(r.body.incident.resolvedAt), t0 + 45 * 60000);
    assert.equal(r.body.incident.timeToRestoreSeconds, 2700);
    r = await hook(notification('PayDown', 'firing', [['firing', t0 + 5 * H, null, labels]]));
    const second = r.body.incident;
    assert.notEqual(second.id, first.id);
    assert.match(second.ref, /-2$/);
    assert.equal(second.state, 'triggered');
    // DORA: one restored incident (45 min) and one open, in the payments scope
    const dora = await srv.json('/api/v1/insights/dora?scope=payments&from=2026-09-01T00:00:00Z&to=2026-09-02T00:00:00Z', { token: viewer });
    assert.equal(dora.status, 200, JSON.stringify(dora.body));
    assert.equal(dora.body.timeToRestoreSeconds.count, 1);
    assert.equal(dora.body.timeToRestoreSeconds.p50, 2700);
    assert.equal(dora.body.openIncidents, 1);
  });

  test('the webhook refuses what is not an ingest token or not a valid payload, naming the field', async () => {
    assertProblem(await hook(amExample, null), 401);
    assertProblem(await hook(amExample, viewer), 403);
    assertProblem(await post('/api/v1/hooks/alertmanager', 'x=1', ingest, 'application/x-www-form-urlencoded'), 415);
    assertProblem(await hook('{', ingest), 400, /^body: line 1/);
    assertProblem(await hook({ ...amExample, version: '3' }), 400, /^version: must be "4"/);
    assertProblem(await hook({ ...amExample, groupKey: undefined }), 400, /^groupKey: required/);
    const bad = structuredClone(amExample);
    bad.alerts[1].startsAt = 'yesterday';
    assertProblem(await hook(bad), 400, /^alerts\[1\]\.startsAt: not an RFC 3339 date-time/);
    bad.alerts[1].startsAt = amExample.alerts[1].startsAt;
    bad.alerts[0].labels.service = 7;
    assertProblem(await hook(bad), 400, /^alerts\[0\]\.labels\.service: must be a string/);
  });

  test('a team-scoped or source-bound ingest token records what it may send as events', async () => {
    const t0 = Date.parse('2026-10-01T10:00:00Z');
    const tok = (...args) => {
      const r = conway(['token', 'create', '--db', srv.db, '--role', 'ingest', ...args]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    const payTeam = tok('--team', 'group:default/team-pay', '--name', 'pay-am');
    // another team's component: refused, nothing recorded
    const shop = notification('ShopSlow', 'firing', [['firing', t0, null, { service: 'checkout' }]]);
    assertProblem(await hook(shop, payTeam), 403, /scoped to group:default\/team-pay.*checkout/);
    assert.equal((await srv.json(`/api/v1/incidents?ref=${encodeURIComponent('x')}`, { token: viewer })).status, 200);
    // its own: recorded
    const pay = notification('PaySlow', 'firing', [['firing', t0, null, { service: 'pay-svc' }]]);
    const ok = await hook(pay, payTeam);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.incident.owner, 'group:default/team-pay');
    // the shop group, opened by an unscoped token, cannot be fed alerts by the pay team
    assert.equal((await hook(shop)).status, 200);
    assertProblem(await hook(shop, payTeam), 403, /scoped to group:default\/team-pay/);
    // sources: Alertmanager's events come from /conway/alertmanager
    const pager = tok('--source', '/pager');
    assertProblem(await hook(pay, pager), 403, /context\.source: '\/conway\/alertmanager' is not one this token may send/);
    const amOnly = tok('--source', '/conway/alertmanager');
    assert.equal((await hook(pay, amOnly)).status, 200);
  });

  test('incident CDEvents make incidents; the list filters and pages them', async () => {
    const t0 = Date.parse('2025-03-01T08:00:00Z');
    const r = await events([
      incidentEvent('detected', 'INC-100', t0, { service: 'checkout', severity: 'SEV-1', description: 'Checkout down' }),
      incidentEvent('resolved', 'INC-100', t0 + 2 * H),
      incidentEvent('detected', 'INC-101', t0 + H, { service: 'pay-svc', severity: 'warning' }),
      incidentEvent('detected', 'INC-102', t0 + 3 * H),
    ]);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    let l = await srv.json('/api/v1/incidents?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z', { token: viewer });
    assert.deepEqual(l.body.items.map((i) => i.ref), ['INC-102', 'INC-101', 'INC-100']);
    const inc100 = l.body.items[2];
    assert.equal(inc100.state, 'resolved');
    assert.equal(inc100.severity, 'critical');
    assert.equal(inc100.severityLabel, 'SEV-1');
    assert.equal(inc100.title, 'Checkout down');
    assert.equal(inc100.timeToRestoreSeconds, 7200);
    l = await srv.json('/api/v1/incidents?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z&state=open', { token: viewer });
    assert.deepEqual(l.body.items.map((i) => i.ref), ['INC-102', 'INC-101']);
    l = await srv.json('/api/v1/incidents?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z&severity=warning,none', { token: viewer });
    assert.deepEqual(l.body.items.map((i) => i.ref), ['INC-102', 'INC-101']);
    l = await srv.json('/api/v1/incidents?ref=INC-101', { token: viewer });
    assert.deepEqual(l.body.items.map((i) => i.ref), ['INC-101']);
    l = await srv.json('/api/v1/incidents?scope=group:team-pay', { token: viewer });
    assert.ok(l.body.items.every((i) => i.owner === 'group:default/team-pay'));
    assert.ok(l.body.items.some((i) => i.ref === 'INC-101'));
    // pages of one
    const seen = [];
    let cursor = null;
    do {
      const q = `/api/v1/incidents?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z&limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      const p = await srv.json(q, { token: viewer });
      seen.push(...p.body.items.map((i) => i.ref));
      cursor = p.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, ['INC-102', 'INC-101', 'INC-100']);
    assertProblem(await srv.json('/api/v1/incidents?state=done', { token: viewer }), 400, /^query parameter 'state'/);
    assertProblem(await srv.json('/api/v1/incidents?severity=urgent', { token: viewer }), 400, /^query parameter 'severity'/);
    assertProblem(await srv.json('/api/v1/incidents?cursor=abc', { token: viewer }), 400, /^query parameter 'cursor'/);
    assertProblem(await srv.json('/api/v1/incidents?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z', { token: viewer }), 400, /'to'/);
    assertProblem(await srv.json('/api/v1/incidents?scope=component:nope', { token: viewer }), 404, /'scope'/);
    assertProblem(await srv.json('/api/v1/incidents?limit=0', { token: viewer }), 400, /'limit'/);
    assertProblem(await srv.json('/api/v1/incidents?sort=x', { token: viewer }), 400);
    assertProblem(await srv.json('/api/v1/incidents', {}), 401);
  });

  test('the incident page names the deployment it most likely failed, by the DORA rule', async () => {
    const t0 = Date.parse('2025-04-01T08:00:00Z');
    await events([
      deployEvent('checkout', t0, 'pkg:oci/checkout@1'),
      deployEvent('checkout', t0 + 2 * H, 'pkg:oci/checkout@2'),
      incidentEvent('detected', 'INC-200', t0 + 3 * H, { service: 'checkout' }), // window: @2
      incidentEvent('detected', 'INC-201', t0 + 4 * H, { service: 'checkout', artifact: 'pkg:oci/checkout@1' }), // named: @1
      incidentEvent('detected', 'INC-202', t0 + 40 * H, { service: 'checkout' }), // 38 h later: none
    ]);
    const l = await srv.json('/api/v1/incidents?from=2025-04-01T00:00:00Z&to=2025-04-05T00:00:00Z', { token: viewer });
    const byRef = Object.fromEntries(l.body.items.map((i) => [i.ref, i.id]));
    let p = await srv.json(`/api/v1/incidents/${byRef['INC-200']}`, { token: viewer });
    assert.deepEqual(p.body.likelyCause, { component: 'component:default/checkout', deployedAt: '2025-04-01T10:00:00Z', artifactId: 'pkg:oci/checkout@2', rule: 'failure-window', failureWindowHours: 24 });
    p = await srv.json(`/api/v1/incidents/${byRef['INC-201']}`, { token: viewer });
    assert.equal(p.body.likelyCause.artifactId, 'pkg:oci/checkout@1');
    assert.equal(p.body.likelyCause.rule, 'artifact');
    p = await srv.json(`/api/v1/incidents/${byRef['INC-202']}`, { token: viewer });
    assert.equal(p.body.likelyCause, null);
    p = await srv.json(`/api/v1/incidents/${byRef['INC-202']}?failureWindowHours=48`, { token: viewer });
    assert.equal(p.body.likelyCause.artifactId, 'pkg:oci/checkout@2');
    assertProblem(await srv.json('/api/v1/incidents/0', { token: viewer }), 400, /^path: incident id/);
    assertProblem(await srv.json('/api/v1/incidents/abc', { token: viewer }), 400);
    assertProblem(await srv.json('/api/v1/incidents/99999', { token: viewer }), 404, /99999/);
  });

  test('transitions and notes: the owning team moves it, each step on the timeline with who', async () => {
    const t0 = Date.parse('2025-05-01T08:00:00Z');
    await events([incidentEvent('detected', 'INC-300', t0, { service: 'pay-svc', severity: 'critical' })]);
    const l = await srv.json('/api/v1/incidents?from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z', { token: viewer });
    const id = l.body.items[0].id;
    // another team's token, a viewer, no token
    assertProblem(await transition(id, { to: 'acknowledged' }, shopEditor), 403, /team-shop.*team-pay/);
    assertProblem(await transition(id, { to: 'acknowledged' }, viewer), 403);
    assertProblem(await transition(id, { to: 'acknowledged' }, null), 401);
    let r = await transition(id, { to: 'acknowledged', note: 'looking' }, payEditor);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.state, 'acknowledged');
    assertProblem(await transition(id, { to: 'triggered' }, payEditor), 409, /^to: an incident cannot go from acknowledged to triggered/);
    assertProblem(await transition(id, { to: 'closed' }, payEditor), 409, /allowed: mitigated, resolved/);
    assertProblem(await transition(id, { to: 'done' }, payEditor), 400, /^to: must be one of/);
    assertProblem(await transition(id, {}, payEditor), 400, /give "to"/);
    assertProblem(await transition(id, { note: '' }, payEditor), 400, /^note:/);
    assertProblem(await transition(id, { to: 'mitigated', who: 'me' }, payEditor), 400, /unknown field "who"/);
    assertProblem(await transition(id, '[1]', payEditor), 400);
    assertProblem(await transition(99999, { note: 'x' }, admin), 404);
    r = await transition(id, { note: 'failover done' }, payEditor);
    assert.equal(r.body.state, 'acknowledged');
    r = await transition(id, { to: 'resolved' }, payEditor);
    assert.equal(r.body.state, 'resolved');
    assert.ok(r.body.resolvedAt);
    // closing needs a postmortem, or saying it is not required, and why
    assertProblem(await transition(id, { to: 'closed' }, payEditor), 409, /no Postmortem lists "INC-300"/);
    assertProblem(await transition(id, { to: 'closed', postmortemNotRequired: true }, payEditor), 400, /^note: required/);
    const pm = { apiVersion: 'conway.dev/v1', kind: 'Postmortem', metadata: { name: 'inc-300' }, spec: { owner: 'team-pay', incidents: ['INC-300'], summary: 'Payments were down.', actionItems: [{ id: 'AI-1', title: 'Add a canary', owner: 'team-pay', due: '2025-06-01' }] } };
    const put = await srv.json('/api/v1/entities/postmortem/default/inc-300', { method: 'PUT', token: payEditor, headers: { 'content-type': 'application/json' }, body: JSON.stringify(pm) });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    r = await transition(id, { to: 'closed', note: 'postmortem written' }, payEditor);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.state, 'closed');
    const page = await srv.json(`/api/v1/incidents/${id}`, { token: viewer });
    const steps = page.body.timeline.filter((e) => e.kind === 'transition' || e.kind === 'note');
    assert.deepEqual(steps.map((e) => [e.kind, e.from ?? null, e.to ?? null, e.actor, e.text]), [
      ['transition', 'triggered', 'acknowledged', 'pay-oncall', 'looking'],
      ['note', null, null, 'pay-oncall', 'failover done'],
      ['transition', 'acknowledged', 'resolved', 'pay-oncall', null],
      ['transition', 'resolved', 'closed', 'pay-oncall', 'postmortem written'],
    ]);
    assert.deepEqual(page.body.postmortems.map((p) => [p.entityRef, p.actionItems, p.openActionItems]), [['postmortem:default/inc-300', 1, 1]]);
    // resolving by hand recorded an incident.resolved event: DORA restores it
    const dora = await srv.json('/api/v1/insights/dora?scope=payments&from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z', { token: viewer });
    assert.equal(dora.body.openIncidents, 0);
    assert.equal(dora.body.timeToRestoreSeconds.count, 1);
    // the audit log has each change
    const audit = await srv.json('/api/v1/audit?action=incident.transition', { token: admin });
    assert.equal(audit.body.items.length, 3);
    assert.deepEqual(audit.body.items[0].entityRefs, ['component:default/payments']);
  });

  test('an incident no component owns is changed only by unscoped editors', async () => {
    await events([incidentEvent('detected', 'INC-400', Date.parse('2025-06-01T00:00:00Z'))]);
    const l = await srv.json('/api/v1/incidents?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z', { token: viewer });
    const id = l.body.items[0].id;
    assertProblem(await transition(id, { to: 'acknowledged' }, payEditor), 403, /no team/);
    const editor = srv.token('editor');
    const r = await transition(id, { to: 'mitigated' }, editor);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // closing with the reason a postmortem is not required
    await transition(id, { to: 'resolved' }, editor);
    const c = await transition(id, { to: 'closed', postmortemNotRequired: true, note: 'a test page' }, editor);
    assert.equal(c.body.state, 'closed');
  });
});

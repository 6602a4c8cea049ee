// backstage.test.mjs — black-box tests of the Backstage catalog read API
// (/api/catalog/...) against a real `conway serve`, driven by Backstage's own
// npm client @backstage/catalog-client, plus direct requests for bad input.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CatalogClient, CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import { startServer, testData, tempDir } from './helpers.mjs';

// ---- test data -------------------------------------------------------------
// Backstage's example files (tests/data/backstage) hold 17 valid entities
// once invalid-component.yaml is left out (Location targets are not there).
const SHARED_COUNT = 17;
const SHARED_COMPONENTS = [
  { ns: 'default', name: 'artist-lookup', type: 'service', owner: 'team-a', tags: ['java', 'data'] },
  { ns: 'alternative', name: 'different-namespace', type: 'service', owner: 'team-a', tags: [] },
  { ns: 'default', name: 'wayback-search', type: 'service', owner: 'team-a', tags: [] },
];

// A fleet of our own, generated here so that expectations derive from it.
const TYPES = ['service', 'website', 'library'];
const pad = (i) => String(i).padStart(2, '0');
const fleet = [];
for (let i = 1; i <= 24; i++) {
  fleet.push({
    ns: 'default',
    name: `fleet-${pad(i)}`,
    type: TYPES[i % 3],
    owner: i % 2 ? 'team-b' : 'team-c',
    tags: i % 5 === 0 ? ['java', 'payments'] : ['go'],
    title: i % 6 === 0 ? `Payments Gateway ${i}` : `Fleet member ${i}`,
    description: `member ${i} of the fleet`,
  });
}
fleet.push({
  ns: 'default', name: 'Mixed-Case-Svc', type: 'service', owner: 'team-b', tags: ['go'],
  title: 'Refunds', description: 'Handles PAYMENTS refunds',
});
const fleetEntities = [
  ...['team-b', 'team-c'].map((name) => ({
    apiVersion: 'backstage.io/v1alpha1', kind: 'Group',
    metadata: { name, description: `Team ${name}` },
    spec: { type: 'team', children: [] },
  })),
  ...fleet.map((c) => ({
    apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
    metadata: { name: c.name, namespace: c.ns, title: c.title, description: c.description, tags: c.tags },
    spec: { type: c.type, lifecycle: 'production', owner: c.owner },
  })),
];
const TOTAL = SHARED_COUNT + fleetEntities.length;
const ALL_COMPONENTS = [...SHARED_COMPONENTS, ...fleet];

const refOf = (e) => `${e.kind.toLowerCase()}:${(e.metadata.namespace || 'default').toLowerCase()}/${e.metadata.name}`;
const componentRef = (c) => `component:${c.ns}/${c.name}`;
const sortedRefs = (list) => list.map((x) => (typeof x === 'string' ? x : x.kind ? refOf(x) : componentRef(x))).sort();

function assertProblem(res, status, detailRe) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(res.body.status, status);
  if (detailRe) assert.match(res.body.detail, detailRe);
}

describe('Backstage catalog API with @backstage/catalog-client', () => {
  let srv, client;
  before(async () => {
    const dir = tempDir('conway-backstage-');
    const fleetFile = join(dir, 'fleet.json');
    writeFileSync(fleetFile, JSON.stringify(fleetEntities));
    const backstageDir = join(testData, 'backstage');
    const files = readdirSync(backstageDir)
      .filter((f) => f.endsWith('.yaml') && f !== 'invalid-component.yaml')
      .map((f) => join(backstageDir, f));
    srv = await startServer({ imports: [...files, fleetFile] });
    client = new CatalogClient({
      discoveryApi: { getBaseUrl: async () => `${srv.url}/api/catalog` },
    });
  });
  after(async () => { await srv?.stop(); });

  test('getEntities without arguments returns every entity once', async () => {
    const { items } = await client.getEntities();
    assert.equal(items.length, TOTAL);
    const refs = items.map(refOf);
    assert.equal(new Set(refs.map((r) => r.toLowerCase())).size, TOTAL);
    assert.ok(refs.includes('component:default/artist-lookup'));
    assert.ok(refs.includes('user:development/guest'));
    assert.ok(refs.includes('component:default/Mixed-Case-Svc'));
    const lookup = items.find((e) => e.metadata.name === 'artist-lookup');
    assert.equal(typeof lookup.metadata.uid, 'string');
    assert.equal(typeof lookup.metadata.etag, 'string');
    assert.ok(lookup.relations.some((r) => r.type === 'ownedBy' && r.targetRef === 'group:default/team-a'));
  });

  test('getEntities filters: AND within a set, OR between sets, any case', async () => {
    const services = await client.getEntities({ filter: { kind: 'COMPONENT', 'spec.type': 'Service' } });
    assert.deepEqual(sortedRefs(services.items),
      sortedRefs(ALL_COMPONENTS.filter((c) => c.type === 'service')));

    const either = await client.getEntities({ filter: [{ kind: 'group' }, { kind: 'domain' }] });
    assert.deepEqual(sortedRefs(either.items),
      ['domain:default/artists', 'group:default/acme-corp', 'group:default/team-a',
        'group:default/team-b', 'group:default/team-c']);

    const twoValues = await client.getEntities({ filter: { kind: 'component', 'spec.type': ['website', 'library'] } });
    assert.deepEqual(sortedRefs(twoValues.items),
      sortedRefs(fleet.filter((c) => c.type !== 'service')));

    const javaTagged = await client.getEntities({ filter: { kind: 'component', 'metadata.tags.java': CATALOG_FILTER_EXISTS } });
    assert.deepEqual(sortedRefs(javaTagged.items),
      sortedRefs(ALL_COMPONENTS.filter((c) => c.tags.includes('java'))));

    const ownedByB = await client.getEntities({ filter: { 'relations.ownedBy': 'group:default/team-b' } });
    assert.deepEqual(sortedRefs(ownedByB.items),
      sortedRefs(fleet.filter((c) => c.owner === 'team-b')));

    const none = await client.getEntities({ filter: { kind: 'component', 'spec.type': 'no-such-type' } });
    assert.deepEqual(none.items, []);
  });

  test('getEntities fields projects every entity to the given paths', async () => {
    const { items } = await client.getEntities({
      filter: { kind: 'component' }, fields: ['kind', 'metadata.name', 'spec.owner', 'metadata.nope.deeper'],
    });
    assert.equal(items.length, ALL_COMPONENTS.length);
    for (const e of items) {
      assert.deepEqual(Object.keys(e).sort(), ['kind', 'metadata', 'spec']);
      assert.deepEqual(Object.keys(e.metadata), ['name']);
      assert.deepEqual(Object.keys(e.spec), ['owner']);
      assert.equal(e.kind, 'Component');
    }
    const m = items.find((e) => e.metadata.name === 'Mixed-Case-Svc');
    assert.equal(m.spec.owner, 'team-b');

    // A whole subtree and a path inside it: the subtree wins, nothing is lost.
    const whole = await client.getEntities({
      filter: { kind: 'group', 'metadata.name': 'team-a' }, fields: ['metadata.name', 'metadata', 'spec.profile.email'],
    });
    assert.equal(whole.items.length, 1);
    assert.equal(whole.items[0].metadata.description, 'Team A');
    assert.deepEqual(whole.items[0].spec, { profile: { email: 'team-a@example.com' } });
  });

  test('getEntities order, limit and offset', async () => {
    const names = ALL_COMPONENTS.map((c) => c.name.toLowerCase()).sort().reverse();
    const { items } = await client.getEntities({
      filter: { kind: 'component' }, order: { field: 'metadata.name', order: 'desc' }, limit: 5, offset: 2,
    });
    assert.deepEqual(items.map((e) => e.metadata.name.toLowerCase()), names.slice(2, 7));
    const asc = await client.getEntities({ filter: { kind: 'component' }, order: [{ field: 'metadata.name', order: 'asc' }] });
    assert.deepEqual(asc.items.map((e) => e.metadata.name.toLowerCase()), [...names].reverse());
  });

  test('GET /entities pages through a Link header with an after cursor', async () => {
    let path = '/api/catalog/entities?filter=kind%3Dcomponent&limit=4&fields=metadata.name,metadata.namespace';
    const seen = [];
    let pages = 0;
    while (path) {
      const res = await srv.json(path);
      assert.equal(res.status, 200);
      assert.ok(res.body.length <= 4);
      seen.push(...res.body.map((e) => `component:${e.metadata.namespace}/${e.metadata.name}`));
      const link = res.headers.get('link');
      path = link ? link.match(/^<([^>]+)>; rel="next"$/)[1] : null;
      pages++;
      assert.ok(pages < 20, 'paging does not end');
    }
    assert.equal(pages, Math.ceil(ALL_COMPONENTS.length / 4));
    assert.deepEqual([...seen].sort(), sortedRefs(ALL_COMPONENTS));
  });

  test('getEntityByRef: existing (any case), namespaced and missing', async () => {
    const e = await client.getEntityByRef('component:default/artist-lookup');
    assert.equal(e.metadata.name, 'artist-lookup');
    assert.equal(e.spec.system, 'artist-engagement-portal');
    const again = await client.getEntityByRef('Component:Default/ARTIST-LOOKUP');
    assert.equal(again.metadata.uid, e.metadata.uid);
    const guest = await client.getEntityByRef('user:development/guest');
    assert.equal(guest.metadata.namespace, 'development');
    const mixed = await client.getEntityByRef({ kind: 'component', namespace: 'default', name: 'mixed-case-svc' });
    assert.equal(mixed.metadata.name, 'Mixed-Case-Svc');
    assert.equal(await client.getEntityByRef('component:default/does-not-exist'), undefined);
    assert.equal(await client.getEntityByRef('component:elsewhere/artist-lookup'), undefined);
    const res = await srv.json('/api/catalog/entities/by-name/component/default/does-not-exist');
    assertProblem(res, 404, /does-not-exist/);
  });

  test('GET /entities/by-uid finds the entity with that uid', async () => {
    const e = await client.getEntityByRef('api:default/hello-world');
    const res = await srv.json(`/api/catalog/entities/by-uid/${e.metadata.uid}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.metadata.name, 'hello-world');
    assert.equal(res.body.kind, 'API');
    assertProblem(await srv.json('/api/catalog/entities/by-uid/00000000-0000-4000-8000-000000000000'), 404, /uid/);
    assertProblem(await srv.json(`/api/catalog/entities/by-uid/${'x'.repeat(220)}`), 404, /uid/);
  });

  test('queryEntities pages through everything with cursors', async () => {
    const filter = { kind: 'component' };
    const seen = [];
    let res = await client.queryEntities({ filter, limit: 7 });
    assert.equal(res.pageInfo.prevCursor, undefined);
    const firstPage = res.items.map(refOf);
    let pages = 1;
    let secondPage;
    for (;;) {
      assert.equal(res.totalItems, ALL_COMPONENTS.length);
      assert.ok(res.items.length <= 7);
      seen.push(...res.items.map(refOf));
      if (!res.pageInfo.nextCursor) break;
      res = await client.queryEntities({ cursor: res.pageInfo.nextCursor, limit: 7 });
      pages++;
      if (pages === 2) {
        secondPage = res;
        assert.ok(res.pageInfo.prevCursor, 'second page has a prevCursor');
      }
      assert.ok(pages < 20, 'paging does not end');
    }
    assert.equal(pages, Math.ceil(ALL_COMPONENTS.length / 7));
    assert.equal(new Set(seen).size, seen.length, 'no entity twice');
    assert.deepEqual([...seen].sort(), sortedRefs(ALL_COMPONENTS));
    // Going back from page 2 gives page 1 again.
    const back = await client.queryEntities({ cursor: secondPage.pageInfo.prevCursor, limit: 7 });
    assert.deepEqual(back.items.map(refOf), firstPage);
  });

  test('queryEntities default limit is 20 and the cursor keeps the query', async () => {
    const res = await client.queryEntities({});
    assert.equal(res.items.length, 20);
    assert.equal(res.totalItems, TOTAL);
    assert.ok(res.pageInfo.nextCursor);
    // Without a limit the next page keeps the cursor's page size.
    const next = await client.queryEntities({ cursor: res.pageInfo.nextCursor });
    assert.equal(next.items.length, 20);
    assert.equal(next.totalItems, TOTAL);
    const overlap = next.items.map(refOf).filter((r) => res.items.map(refOf).includes(r));
    assert.deepEqual(overlap, []);
  });

  test('queryEntities orderFields sorts across pages', async () => {
    const expected = fleet.filter((c) => c.owner === 'team-c').map((c) => c.name).sort().reverse();
    const got = [];
    let res = await client.queryEntities({
      filter: { kind: 'component', 'spec.owner': 'team-c' }, orderFields: { field: 'metadata.name', order: 'desc' }, limit: 5,
    });
    for (;;) {
      got.push(...res.items.map((e) => e.metadata.name));
      if (!res.pageInfo.nextCursor) break;
      res = await client.queryEntities({ cursor: res.pageInfo.nextCursor, limit: 5 });
    }
    assert.deepEqual(got, expected);
  });

  test('queryEntities full-text filter, with and without fields', async () => {
    const inText = (c, t) => [c.name, c.title, c.description].some((s) => s && s.toLowerCase().includes(t));
    const all = await client.queryEntities({ fullTextFilter: { term: '  PAYMENTS ' }, limit: 100 });
    assert.deepEqual(sortedRefs(all.items), sortedRefs(fleet.filter((c) => inText(c, 'payments'))));
    assert.equal(all.totalItems, all.items.length);

    const titles = await client.queryEntities({ fullTextFilter: { term: 'payments', fields: ['metadata.title'] }, limit: 100 });
    assert.deepEqual(sortedRefs(titles.items),
      sortedRefs(fleet.filter((c) => c.title.toLowerCase().includes('payments'))));

    // Fields the store does not index as text (arrays included), paged.
    const tagged = fleet.filter((c) => c.tags.includes('payments'));
    const got = [];
    let res = await client.queryEntities({
      filter: { kind: 'component' }, fullTextFilter: { term: 'PAYM', fields: ['metadata.tags'] }, limit: 2,
    });
    for (;;) {
      assert.equal(res.totalItems, tagged.length);
      got.push(...res.items.map(refOf));
      if (!res.pageInfo.nextCursor) break;
      res = await client.queryEntities({ cursor: res.pageInfo.nextCursor });
    }
    assert.deepEqual([...got].sort(), sortedRefs(tagged));
  });

  test('queryEntities totalItems exclude, fields, and streamEntities', async () => {
    const res = await client.queryEntities({
      filter: { kind: 'user' }, totalItems: 'exclude', fields: ['metadata.name'], limit: 2,
    });
    assert.equal(res.totalItems, 0);
    assert.equal(res.items.length, 2);
    for (const e of res.items) assert.deepEqual(Object.keys(e), ['metadata']);
    const streamed = [];
    for await (const page of client.streamEntities({ filter: { kind: 'component' }, pageSize: 6 })) {
      assert.ok(page.length <= 6);
      streamed.push(...page.map(refOf));
    }
    assert.deepEqual(streamed.sort(), sortedRefs(ALL_COMPONENTS));
  });

  test('getEntitiesByRefs keeps the order and answers missing refs with undefined', async () => {
    const refs = ['component:default/wayback-search', 'component:default/nope', 'group:team-a',
      'Component:Default/ARTIST-LOOKUP', 'user:development/guest'];
    const { items } = await client.getEntitiesByRefs({ entityRefs: refs });
    assert.equal(items.length, refs.length);
    assert.equal(items[0].metadata.name, 'wayback-search');
    assert.equal(items[1], undefined);
    assert.equal(items[2].kind, 'Group');
    assert.equal(items[2].metadata.name, 'team-a');
    assert.equal(items[3].metadata.name, 'artist-lookup');
    assert.equal(items[4].metadata.namespace, 'development');

    const projected = await client.getEntitiesByRefs({ entityRefs: refs, fields: ['metadata.name'] });
    assert.deepEqual(projected.items,
      [{ metadata: { name: 'wayback-search' } }, undefined, { metadata: { name: 'team-a' } },
        { metadata: { name: 'artist-lookup' } }, { metadata: { name: 'guest' } }]);

    const filtered = await client.getEntitiesByRefs({ entityRefs: refs, filter: { kind: 'component' } });
    assert.deepEqual(filtered.items.map((e) => e && e.metadata.name),
      ['wayback-search', undefined, undefined, 'artist-lookup', undefined]);

    assert.deepEqual((await client.getEntitiesByRefs({ entityRefs: [] })).items, []);
  });

  test('getEntityFacets counts values among the filtered entities', async () => {
    const { facets } = await client.getEntityFacets({ facets: ['kind', 'spec.type', 'relations.ownedBy'], filter: { kind: 'component' } });
    assert.deepEqual(Object.keys(facets).sort(), ['kind', 'relations.ownedBy', 'spec.type']);
    assert.deepEqual(facets.kind, [{ value: 'Component', count: ALL_COMPONENTS.length }]);
    const byType = Object.fromEntries(facets['spec.type'].map((f) => [f.value, f.count]));
    const expected = {};
    for (const c of ALL_COMPONENTS) expected[c.type] = (expected[c.type] || 0) + 1;
    assert.deepEqual(byType, expected);
    const owners = Object.fromEntries(facets['relations.ownedBy'].map((f) => [f.value.toLowerCase(), f.count]));
    assert.equal(owners['group:default/team-b'], fleet.filter((c) => c.owner === 'team-b').length);

    const kinds = await client.getEntityFacets({ facets: ['kind'] });
    const total = kinds.facets.kind.reduce((n, f) => n + f.count, 0);
    assert.equal(total, TOTAL);
    assert.equal(kinds.facets.kind.find((f) => f.value === 'User').count, 5);
  });

  test('bad input is a 400 problem naming the parameter', async () => {
    const base = '/api/catalog';
    assertProblem(await srv.json(`${base}/entities?limit=abc`), 400, /limit/);
    assertProblem(await srv.json(`${base}/entities?offset=-1`), 400, /offset/);
    assertProblem(await srv.json(`${base}/entities?order=sideways:metadata.name`), 400, /order/);
    assertProblem(await srv.json(`${base}/entities?after=bm9wZQ`), 400, /after/);
    assertProblem(await srv.json(`${base}/entities?fields=metadata..name`), 400, /fields/);
    assertProblem(await srv.json(`${base}/entities?filter=${encodeURIComponent('=component')}`), 400, /filter/);
    assertProblem(await srv.json(`${base}/entities?bogus=1`), 400, /bogus/);
    assertProblem(await srv.json(`${base}/entities/by-query?cursor=not-a-cursor`), 400, /cursor/);
    assertProblem(await srv.json(`${base}/entities/by-query?cursor=${Buffer.from('q1:{"f":[]}').toString('base64url')}`), 400, /cursor/);
    assertProblem(await srv.json(`${base}/entities/by-query?limit=0`), 400, /limit/);
    assertProblem(await srv.json(`${base}/entities/by-query?limit=ten`), 400, /limit/);
    assertProblem(await srv.json(`${base}/entities/by-query?orderField=metadata.name,up`), 400, /orderField/);
    assertProblem(await srv.json(`${base}/entities/by-query?totalItems=some`), 400, /totalItems/);
    assertProblem(await srv.json(`${base}/entities/by-query?filter=${encodeURIComponent('kind=,')}`), 400, /filter/);
    assertProblem(await srv.json(`${base}/entity-facets`), 400, /facet/);
    const post = (body, q = '') => srv.json(`${base}/entities/by-refs${q}`, {
      method: 'POST', body, headers: { 'content-type': 'application/json' },
    });
    assertProblem(await post('{"entityRefs": ["component:default/a", "no-kind-here"]}'), 400, /entityRefs\[1\]/);
    assertProblem(await post('{"entityRefs": "component:default/a"}'), 400, /entityRefs/);
    assertProblem(await post('{"entityRefs": [], "fields": [1]}'), 400, /fields/);
    assertProblem(await post('{"entityRefs": ['), 400, /JSON/);
    assertProblem(await post('{"entityRefs": []}', `?filter=${encodeURIComponent('=x')}`), 400, /filter/);

    // The client turns these answers into errors carrying the status.
    await assert.rejects(client.queryEntities({ cursor: 'garbage' }), (e) => e.statusCode === 400);
    await assert.rejects(client.getEntitiesByRefs({ entityRefs: ['component:'] }), (e) => e.statusCode === 400);
  });

  test('large limits are cut to 1000 and a cursor past the end is empty', async () => {
    const res = await srv.json('/api/catalog/entities/by-query?limit=5000');
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, TOTAL);
    assert.deepEqual(res.body.pageInfo, {});
    const far = await srv.json('/api/catalog/entities/by-query?offset=1000&limit=3');
    assert.equal(far.status, 200);
    assert.deepEqual(far.body.items, []);
    assert.equal(far.body.totalItems, TOTAL);
    assert.equal(far.body.pageInfo.nextCursor, undefined);
    assert.ok(far.body.pageInfo.prevCursor);
  });
});

describe('Backstage catalog API requires a token without --public-read', () => {
  let srv;
  before(async () => { srv = await startServer({ publicRead: false }); });
  after(async () => { await srv?.stop(); });

  test('401 without a token, 200 with a viewer token', async () => {
    const anon = new CatalogClient({ discoveryApi: { getBaseUrl: async () => `${srv.url}/api/catalog` } });
    await assert.rejects(anon.getEntities(), (e) => e.statusCode === 401);
    const token = srv.token('viewer', { name: 'reader' });
    assert.deepEqual(await anon.getEntities({}, { token }), { items: [] });
    assert.equal(await anon.getEntityByRef('component:default/x', { token }), undefined);
  });
});

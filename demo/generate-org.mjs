#!/usr/bin/env node
// Generates the demo organisation (Tunewave, a fictional music streaming
// company) as Backstage catalog YAML under demo/org/, checks every entity
// against Backstage's validation rules and conway's Responsibilities rules,
// and asserts that every deliberate organisational smell listed in
// demo/README.md is present (and not accidentally duplicated) before writing.
//
// Usage: node demo/generate-org.mjs [--out DIR] [--check]
//   --out DIR   write into DIR instead of demo/org
//   --check     write nothing; exit 1 if the files on disk differ from what
//               this script would write (used by tests to catch stale output)
//
// Node 20, no npm packages. Deterministic: the only randomness comes from a
// seeded PRNG, so running it twice gives byte-identical files.

import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const SEED = 'tunewave-org-1';
const GH_ORG = 'tunewave';
const MAIL = 'tunewave.example';

// ---------------------------------------------------------------------------
// Seeded PRNG (sfc32 seeded through a cyrb128 string hash).

export function makeRng(seedText) {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < seedText.length; i++) {
    const k = seedText.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  let a = (h1 ^ h2 ^ h3 ^ h4) >>> 0, b = (h2 ^ h1) >>> 0, c = (h3 ^ h1) >>> 0, d = (h4 ^ h1) >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
  };
}

// Reset by buildEntities() so that every call gives the same result.
let rng = makeRng(SEED);

// ---------------------------------------------------------------------------
// The organisation, written as data. Names here are relied on by tests and
// later features (see demo/README.md): change them only together with it.

const API_VERSION = 'backstage.io/v1alpha1';

const titleCase = (s) => s.split(/[-.]/).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');

// Groups above team level: [name, type, parent, displayName, description]
const ORG_GROUPS = [
  ['tunewave', 'organization', null, 'Tunewave', 'Tunewave, a music streaming service for listeners, artists and labels.'],
  ['engineering', 'department', 'tunewave', 'Engineering', 'All product engineering at Tunewave.'],
  ['listening-tribe', 'tribe', 'engineering', 'Listening tribe', 'Everything a listener touches: playback, search, playlists and recommendations.'],
  ['commerce-tribe', 'tribe', 'engineering', 'Commerce tribe', 'Subscriptions, payments and growth.'],
  ['content-tribe', 'tribe', 'engineering', 'Content tribe', 'Ingestion of label catalogues and royalty accounting.'],
  ['platform-tribe', 'tribe', 'engineering', 'Platform tribe', 'Internal platform, reliability engineering and shared infrastructure.'],
];

// Teams: [name, parent, team-type|null, product-manager|null, tech-lead|null, description]
const TEAMS = [
  ['leadership', 'tunewave', null, null, null, 'Executive leadership: CTO, VP Engineering and Head of Product.'],
  ['team-playback', 'listening-tribe', 'stream-aligned', 'raj.patel', 'lena.hoffmann', 'Owns audio playback end to end: entitlements, streaming and the web player.'],
  ['team-discovery', 'listening-tribe', 'stream-aligned', 'jonas.berg', 'priya.sharma', 'Search, browse, playlists and listening history.'],
  ['team-recommendations', 'listening-tribe', 'complicated-subsystem', null, 'ivan.petrov', 'Machine-learning recommendations and taste profiles.'],
  ['team-commerce', 'commerce-tribe', 'stream-aligned', 'noah.fischer', 'olivia.brown', 'Subscriptions, billing, invoices and the payment gateway.'],
  ['team-growth', 'commerce-tribe', 'stream-aligned', 'zoe.dubois', 'ben.cohen', 'Referrals, sharing and artist promotion campaigns.'],
  ['team-content', 'content-tribe', 'stream-aligned', 'ines.costa', 'george.adams', 'Label catalogue ingestion and royalty accounting.'],
  ['team-data-governance', 'content-tribe', 'enabling', null, null, 'New enabling team for data retention and GDPR practice; not staffed yet.'],
  ['team-platform', 'platform-tribe', 'platform', 'anna.kowalska', 'kwame.mensah', 'Internal developer platform: gateway, authentication, shared databases, observability.'],
  ['team-sre', 'platform-tribe', 'enabling', null, 'nina.ivanova', 'Site reliability engineering: coaches teams on monitoring, on-call and incident response.'],
];

// Users: [name, memberOf[], role description]
const USERS = [
  ['amara.okafor', ['leadership'], 'Chief Technology Officer'],
  ['david.lindqvist', ['leadership'], 'VP Engineering'],
  ['sofia.marin', ['leadership'], 'Head of Product'],
  ['lena.hoffmann', ['team-playback'], 'Tech lead, playback'],
  ['raj.patel', ['team-playback'], 'Product manager, playback'],
  ['tom.becker', ['team-playback'], 'Backend engineer'],
  ['yuki.tanaka', ['team-playback'], 'Frontend engineer'],
  ['carlos.mendes', ['team-playback'], 'Backend engineer'],
  ['mira.kovac', ['team-playback'], 'Backend engineer'],
  ['priya.sharma', ['team-discovery'], 'Tech lead, discovery'],
  ['jonas.berg', ['team-discovery'], 'Product manager, discovery'],
  ['emma.wilson', ['team-discovery'], 'Backend engineer'],
  ['mateo.garcia', ['team-discovery'], 'Full-stack engineer'],
  ['hana.kim', ['team-discovery'], 'Search engineer'],
  ['ivan.petrov', ['team-recommendations'], 'Tech lead, recommendations'],
  ['chloe.martin', ['team-recommendations'], 'Machine-learning engineer'],
  ['samuel.osei', ['team-recommendations'], 'Data scientist'],
  ['aiko.sato', ['team-recommendations'], 'Machine-learning engineer'],
  ['olivia.brown', ['team-commerce'], 'Tech lead, commerce'],
  ['noah.fischer', ['team-commerce'], 'Product manager, commerce'],
  ['fatima.zahra', ['team-commerce'], 'Backend engineer'],
  ['lucas.rossi', ['team-commerce'], 'Backend engineer'],
  ['mia.novak', ['team-commerce'], 'Frontend engineer'],
  ['zoe.dubois', ['team-growth'], 'Product manager, growth'],
  ['ben.cohen', ['team-growth'], 'Tech lead, growth'],
  ['leila.haddad', ['team-growth'], 'Full-stack engineer'],
  ['oscar.nilsson', ['team-growth'], 'Data analyst'],
  ['george.adams', ['team-content'], 'Tech lead, content'],
  ['ines.costa', ['team-content'], 'Product manager, content'],
  ['pavel.horak', ['team-content'], 'Backend engineer'],
  ['grace.lee', ['team-content'], 'Backend engineer'],
  ['kwame.mensah', ['team-platform'], 'Tech lead, platform'],
  ['anna.kowalska', ['team-platform'], 'Product manager, platform'],
  ['felix.wagner', ['team-platform', 'team-sre'], 'Platform engineer, also on the SRE rota'],
  ['sara.johansson', ['team-platform'], 'Database reliability engineer'],
  ['diego.torres', ['team-platform'], 'Platform engineer'],
  ['nina.ivanova', ['team-sre'], 'Tech lead, SRE'],
  ['omar.farouk', ['team-sre'], 'Site reliability engineer'],
  ['julia.schmidt', ['team-sre'], 'Site reliability engineer'],
  ['alex.morgan', [], 'Contractor, audio codecs (no team assigned)'],
  ['kim.larsen', [], 'Engineer returning from leave (no team assigned)'],
];

// Domains: [name, owner, title, description]
const DOMAINS = [
  ['listening', 'listening-tribe', 'Listening experience', 'What listeners see and hear: playback, search, playlists and recommendations.'],
  ['commerce', 'commerce-tribe', 'Commerce', 'How Tunewave earns money: subscriptions, plans and payments.'],
  ['content', 'content-tribe', 'Content and rights', 'Getting music in from labels and paying the rights holders.'],
];

// Systems: [name, owner, domain, title, description]
const SYSTEMS = [
  ['playback', 'team-playback', 'listening', 'Playback', 'Streams audio to listeners who are entitled to hear it.'],
  ['discovery', 'team-discovery', 'listening', 'Discovery', 'Helps listeners find music: search, browse, playlists, recommendations.'],
  ['subscriptions', 'team-commerce', 'commerce', 'Subscriptions', 'Plans, subscriptions and referrals.'],
  ['payments', 'team-commerce', 'commerce', 'Payments', 'Billing, invoicing and the connection to payment providers.'],
  ['content-ingestion', 'team-content', 'content', 'Content ingestion', 'Receives label deliveries (DDEX), normalises metadata and publishes the catalogue.'],
  ['royalties', 'team-content', 'content', 'Royalties', 'Counts plays and pays artists and labels.'],
];

// Components: [name, type, lifecycle, owner ref (as written), system|null, options]
// options: sid (conway.dev/service-id), repo (repository name), repoMode
// ('conway' | 'slug' | 'both' | 'none'), deps, provides, consumes, tags, desc, web.
const COMPONENTS = [
  // playback — team-playback
  ['playback-service', 'service', 'production', 'team-playback', 'playback', { sid: 'playback-service', deps: ['resource:playback-sessions-db', 'component:stream-delivery-service'], provides: ['playback-api'], consumes: ['entitlement-api', 'auth-api'], tags: ['java', 'tier-1'], desc: 'Starts, pauses and resumes playback sessions for every client.' }],
  ['stream-delivery-service', 'service', 'production', 'team-playback', 'playback', { sid: 'streamer', repo: 'streamer', repoMode: 'both', deps: ['resource:audio-bucket', 'resource:play-events-queue'], provides: ['play-events'], tags: ['go', 'tier-1'], desc: 'Serves encrypted audio segments from the CDN origin and emits play events.' }],
  ['entitlement-service', 'service', 'production', 'group:team-playback', 'playback', { sid: 'entitlement-service', deps: ['resource:legacy-users-db'], provides: ['entitlement-api'], consumes: ['subscription-api'], tags: ['kotlin', 'tier-1'], desc: 'Decides which tracks a listener may play in which quality.' }],
  ['web-player', 'website', 'production', 'team-playback', 'playback', { sid: 'web-player', repoMode: 'slug', consumes: ['playback-api', 'search-api', 'playlist-api'], tags: ['typescript', 'react'], desc: 'The browser player at open.tunewave.example.', web: 'https://open.tunewave.example' }],
  ['player-sdk', 'library', 'production', 'team-playback', 'playback', { repoMode: 'conway', tags: ['typescript'], desc: 'Client library that wraps the playback API for web and desktop apps.' }],
  ['lyrics-service', 'service', 'production', 'user:mira.kovac', 'playback', { sid: 'lyrics-service', deps: ['resource:lyrics-db'], tags: ['python'], desc: 'Time-synced lyrics. Started as a hack-week project and never handed over to a team.' }],
  // discovery — team-discovery (elite delivery performance)
  ['search-service', 'service', 'production', 'team-discovery', 'discovery', { sid: 'search-service', deps: ['resource:search-index'], provides: ['search-api'], tags: ['go', 'elasticsearch', 'tier-1'], desc: 'Full-text and typo-tolerant search over tracks, albums, artists and podcasts.' }],
  ['playlist-service', 'service', 'production', 'team-discovery', 'discovery', { sid: 'playlist-service', deps: ['resource:playlist-db', 'component:recommendation-service'], provides: ['playlist-api'], consumes: ['recommendations-api'], tags: ['go', 'tier-1'], desc: 'User and editorial playlists; asks recommendations for "enhance" suggestions.' }],
  ['browse-service', 'service', 'production', 'team-discovery', 'discovery', { deps: ['component:search-service'], consumes: ['recommendations-api', 'search-api'], tags: ['go'], desc: 'Builds the home and browse pages from editorial shelves and recommendations.' }],
  ['discovery-web', 'website', 'production', 'team-discovery', 'discovery', { sid: 'discovery-web', repoMode: 'slug', consumes: ['search-api', 'playlist-api'], tags: ['typescript', 'react'], desc: 'Search and browse pages of the web app.', web: 'https://open.tunewave.example/search' }],
  ['search-indexer', 'service', 'production', 'team-discovery', 'discovery', { sid: 'search-indexer', deps: ['resource:search-index', 'resource:catalog-events-queue'], consumes: ['catalog-events'], tags: ['go', 'kafka'], desc: 'Keeps the search index in step with the published catalogue.' }],
  ['listening-history-service', 'service', 'production', 'team-discovery', 'discovery', { sid: 'listening-history', deps: ['resource:listening-history-db', 'component:playlist-service'], consumes: ['play-events'], tags: ['go', 'kafka'], desc: 'Recently played, play counts and the "on repeat" playlist.' }],
  ['podcast-feed-service', 'service', 'production', 'team-podcasts', 'discovery', { sid: 'podcast-feed-service', tags: ['python'], desc: 'Polls podcast RSS feeds. Its team was dissolved in the last reorganisation.' }],
  // recommendations — team-recommendations, inside the discovery system
  ['recommendation-service', 'service', 'production', 'team-recommendations', 'discovery', { sid: 'recs', repo: 'recs', deps: ['resource:feature-store-db', 'component:listening-history-service'], provides: ['recommendations-api'], tags: ['python', 'ml', 'tier-1'], desc: 'Serves personalised recommendations from the latest trained models.' }],
  ['taste-profile-builder', 'service', 'production', 'team-recommendations', 'discovery', { sid: 'taste-profile-builder', repoMode: 'both', deps: ['resource:feature-store-db'], consumes: ['play-events'], tags: ['python', 'ml', 'kafka'], desc: 'Turns play events into per-listener taste vectors.' }],
  ['radio-generator', 'service', 'experimental', 'team-recommendations', 'discovery', { sid: 'radio-generator', consumes: ['recommendations-api'], tags: ['python', 'ml'], desc: 'Endless artist radio, in a closed beta.' }],
  // subscriptions and payments — team-commerce
  ['subscription-service', 'service', 'production', 'team-commerce', 'subscriptions', { sid: 'subscription-service', deps: ['resource:legacy-users-db'], writes: ['resource:legacy-users-db'], provides: ['subscription-api'], consumes: ['payment-events', 'billing-api'], tags: ['java', 'tier-1'], exempt: { 'tw-no-findings': '2099-12-31: the legacy-users-db split is planned with the platform team' }, desc: 'Manages subscriptions, trials and plan changes.' }],
  ['account-web', 'website', 'production', 'team-commerce', 'subscriptions', { sid: 'account-web', repoMode: 'slug', consumes: ['subscription-api', 'billing-api', 'auth-api'], tags: ['typescript', 'react'], desc: 'Account pages: plan, payment method, receipts.', web: 'https://account.tunewave.example' }],
  ['family-plan-service', 'service', 'experimental', 'team-commerce', 'subscriptions', { sid: 'family-plan-service', consumes: ['subscription-api'], tags: ['java'], desc: 'Family plans with up to six members (pilot in two markets).' }],
  ['billing-service', 'service', 'production', 'team-commerce', 'payments', { sid: 'billing-service', deps: ['resource:billing-db', 'resource:payment-events-queue', 'component:payment-gateway-adapter'], provides: ['billing-api', 'payment-events'], tags: ['java', 'pci', 'tier-1'], desc: 'Charges subscriptions every billing cycle and handles retries and dunning.' }],
  ['invoice-service', 'service', 'production', 'team-commerce', 'payments', { sid: 'invoice-service', deps: ['resource:billing-db'], consumes: ['payment-events'], tags: ['java', 'pci'], desc: 'Produces tax-compliant invoices and receipts.' }],
  ['payment-gateway-adapter', 'service', 'production', 'team-commerce', 'payments', { sid: 'pgw-adapter', repo: 'pgw-adapter', repoMode: 'both', tags: ['java', 'pci', 'tier-1'], desc: 'One interface in front of the card, PayPal and carrier-billing providers.' }],
  // growth — team-growth, spread over four systems in three domains
  ['referral-service', 'service', 'production', 'team-growth', 'subscriptions', { sid: 'referral-service', deps: ['resource:legacy-users-db', 'resource:promo-db'], writes: ['resource:legacy-users-db'], consumes: ['subscription-api'], tags: ['node', 'typescript'], exempt: { 'tw-no-findings': '2020-01-31: promised for the 2019 migration (expired)' }, desc: 'Invite-a-friend rewards.' }],
  ['share-link-service', 'service', 'production', 'team-growth', 'discovery', { sid: 'share-link-service', consumes: ['playlist-api'], tags: ['node', 'typescript'], desc: 'Short links and social previews for shared tracks and playlists.' }],
  ['artist-promo-service', 'service', 'production', 'team-growth', 'royalties', { sid: 'artist-promo-service', deps: ['resource:promo-db'], consumes: ['catalog-events'], tags: ['node', 'typescript'], desc: 'Paid promotion campaigns for artists, settled against their royalties.' }],
  ['campaign-web', 'website', 'experimental', 'team-growth', 'playback', { sid: 'campaign-web', repoMode: 'slug', tags: ['typescript'], desc: 'Landing pages for marketing campaigns and the promotion banners shown in the players.', web: 'https://campaigns.tunewave.example' }],
  // content ingestion and royalties — team-content (overloaded, low delivery performance)
  ['ingestion-service', 'service', 'production', 'team-content', 'content-ingestion', { sid: 'ingestion-service', deps: ['resource:ingestion-queue', 'resource:audio-bucket'], provides: ['content-ingestion-api'], tags: ['java'], desc: 'Receives DDEX deliveries and audio files from labels and distributors.' }],
  ['ddex-parser', 'library', 'production', 'team-content', 'content-ingestion', { repoMode: 'conway', tags: ['java', 'xml'], desc: 'Parser for DDEX ERN 3.8 and 4.3 messages.' }],
  ['metadata-normaliser', 'service', 'production', 'team-content', 'content-ingestion', { sid: 'metadata-normaliser', deps: ['resource:ingestion-queue', 'resource:content-metadata-db', 'component:ddex-parser'], tags: ['java'], desc: 'Cleans up artist names, genres and release dates.' }],
  ['artwork-service', 'service', 'production', 'team-content', 'content-ingestion', { sid: 'artwork-service', deps: ['resource:artwork-bucket'], tags: ['go'], desc: 'Resizes and serves cover art.' }],
  ['rights-checker', 'service', 'production', 'team-content', 'content-ingestion', { sid: 'rights-checker', deps: ['resource:content-metadata-db'], tags: ['java', 'legal'], desc: 'Checks territories and release windows before a track goes live.' }],
  ['audio-fingerprinter', 'service', 'production', 'team-content', 'content-ingestion', { sid: 'audio-fingerprinter', deps: ['resource:audio-bucket'], tags: ['c++'], desc: 'Detects duplicate and infringing uploads by acoustic fingerprint.' }],
  ['catalog-publisher', 'service', 'production', 'team-content', 'content-ingestion', { sid: 'catalog-publisher', deps: ['resource:content-metadata-db', 'resource:catalog-events-queue'], provides: ['catalog-events'], tags: ['java', 'kafka'], desc: 'Publishes approved releases to the rest of the company.' }],
  ['label-portal', 'website', 'production', 'team-content', 'content-ingestion', { sid: 'label-portal-web', consumes: ['content-ingestion-api'], tags: ['typescript', 'angular'], desc: 'Where labels upload releases and see their delivery status.', web: 'https://labels.tunewave.example' }],
  ['isrc-lookup', 'library', 'production', 'team-content', 'content-ingestion', { repoMode: 'conway', tags: ['java'], desc: 'ISRC validation and lookup helpers.' }],
  ['royalty-calculator', 'service', 'production', 'team-content', 'royalties', { sid: 'royalty-calculator', deps: ['resource:royalties-db'], consumes: ['play-events', 'catalog-events'], tags: ['scala', 'spark'], desc: 'Monthly pro-rata royalty calculation per rights holder.' }],
  ['royalty-statement-service', 'service', 'production', 'team-content', 'royalties', { sid: 'royalty-statement-service', deps: ['resource:royalties-db'], tags: ['java'], desc: 'Statements for artists and labels.' }],
  ['usage-reporter', 'service', 'production', 'team-content', 'royalties', { sid: 'usage-reporter', deps: ['resource:play-events-queue'], consumes: ['play-events'], tags: ['scala', 'kafka'], desc: 'Usage reports for collecting societies.' }],
  ['payout-exporter', 'service', 'production', 'team-content', 'royalties', { sid: 'payout-exporter', deps: ['resource:royalties-db', 'resource:payout-bucket', 'component:royalty-batch-legacy'], tags: ['python'], desc: 'Exports payout files for the bank.' }],
  ['royalty-batch-legacy', 'service', 'deprecated', 'team-content', 'royalties', { sid: 'royalty-batch-legacy', deps: ['resource:royalties-db'], tags: ['perl', 'legacy'], desc: 'The old nightly royalty batch. Replaced by royalty-calculator; still run for reconciliation.' }],
  // platform — team-platform, no system
  ['api-gateway', 'service', 'production', 'team-platform', null, { sid: 'api-gateway', repoMode: 'both', deps: ['component:auth-service'], consumes: ['auth-api'], tags: ['go', 'envoy', 'tier-1'], desc: 'Edge gateway in front of every public API.' }],
  ['auth-service', 'service', 'production', 'team-platform', null, { sid: 'auth-service', deps: ['resource:auth-db'], provides: ['auth-api'], tags: ['go', 'oauth2', 'tier-1'], desc: 'OAuth 2.0 and OpenID Connect for listeners, artists and partners.' }],
  ['observability-sdk', 'library', 'production', 'team-platform', null, { repoMode: 'conway', tags: ['go', 'opentelemetry'], desc: 'Logging, metrics and tracing defaults for every service.' }],
];

// APIs: [name, type, owner, system, provider description, definition]
const openapi = (title, path, summary) => `openapi: 3.1.0
info:
  title: ${title}
  version: 1.${rng.int(0, 9)}.0
paths:
  ${path}:
    get:
      summary: ${summary}
      responses:
        "200":
          description: OK
`;
const grpc = (pkg, svc, rpc, req, res) => `syntax = "proto3";
package tunewave.${pkg}.v1;

service ${svc} {
  rpc ${rpc} (${req}) returns (${res});
}

message ${req} { string listener_id = 1; }
message ${res} { repeated string ids = 1; }
`;
const asyncapi = (title, channel, summary) => `asyncapi: 2.6.0
info:
  title: ${title}
  version: 1.${rng.int(0, 9)}.0
channels:
  ${channel}:
    subscribe:
      summary: ${summary}
      message:
        contentType: application/json
`;

const apiRows = () => [
  ['playback-api', 'openapi', 'team-playback', 'playback', 'Start and control playback sessions.', openapi('Playback API', '/v1/sessions/{id}', 'Get a playback session')],
  ['entitlement-api', 'grpc', 'team-playback', 'playback', 'Is this listener allowed to play this track?', grpc('entitlement', 'Entitlements', 'Check', 'CheckRequest', 'CheckResponse')],
  ['play-events', 'asyncapi', 'team-playback', 'playback', 'One message per play longer than 30 seconds.', asyncapi('Play events', 'plays.v1', 'A track was played')],
  ['search-api', 'openapi', 'team-discovery', 'discovery', 'Search tracks, albums, artists and podcasts.', openapi('Search API', '/v1/search', 'Search the catalogue')],
  ['playlist-api', 'openapi', 'team-discovery', 'discovery', 'Read and edit playlists.', openapi('Playlist API', '/v1/playlists/{id}', 'Get a playlist')],
  ['recommendations-api', 'grpc', 'team-recommendations', 'discovery', 'Personalised recommendations.', grpc('recommendations', 'Recommendations', 'Recommend', 'RecommendRequest', 'RecommendResponse')],
  ['subscription-api', 'openapi', 'team-commerce', 'subscriptions', 'Subscriptions and plans of a listener.', openapi('Subscription API', '/v1/subscriptions/{listenerId}', 'Get the subscription of a listener')],
  ['billing-api', 'grpc', 'team-commerce', 'payments', 'Charge, refund and query payments.', grpc('billing', 'Billing', 'ListCharges', 'ChargesRequest', 'ChargesResponse')],
  ['payment-events', 'asyncapi', 'team-commerce', 'payments', 'Payment succeeded, failed or refunded.', asyncapi('Payment events', 'payments.v1', 'A payment changed state')],
  ['content-ingestion-api', 'openapi', 'team-content', 'content-ingestion', 'Upload releases and query their delivery status.', openapi('Content ingestion API', '/v1/deliveries/{id}', 'Get the status of a delivery')],
  ['catalog-events', 'asyncapi', 'team-content', 'content-ingestion', 'A release was published, changed or taken down.', asyncapi('Catalog events', 'catalog.v1', 'A release changed')],
  ['auth-api', 'openapi', 'team-platform', null, 'OAuth 2.0 token and user-info endpoints.', openapi('Auth API', '/oauth2/userinfo', 'Get the authenticated user')],
];

// Resources: [name, type, owner, system|null, description, tags]
const RESOURCES = [
  ['legacy-users-db', 'database', 'team-platform', null, 'PostgreSQL database left over from the original monolith. Still holds listener accounts.', ['postgresql', 'legacy']],
  ['playback-sessions-db', 'database', 'team-playback', 'playback', 'Redis cluster with active playback sessions.', ['redis']],
  ['lyrics-db', 'database', 'team-playback', 'playback', 'Time-synced lyrics.', ['postgresql']],
  ['audio-bucket', 'bucket', 'team-playback', 'playback', 'Encoded audio files, origin of the CDN.', ['s3']],
  ['play-events-queue', 'queue', 'team-playback', 'playback', 'Kafka topic plays.v1.', ['kafka']],
  ['search-index', 'database', 'team-discovery', 'discovery', 'Elasticsearch cluster behind search.', ['elasticsearch']],
  ['playlist-db', 'database', 'team-discovery', 'discovery', 'Playlists and their tracks.', ['postgresql']],
  ['listening-history-db', 'database', 'team-discovery', 'discovery', 'Play history per listener.', ['cassandra']],
  ['feature-store-db', 'database', 'team-recommendations', 'discovery', 'Feature store for the recommendation models.', ['postgresql', 'ml']],
  ['billing-db', 'database', 'team-commerce', 'payments', 'Charges, invoices and payment methods (tokenised).', ['postgresql', 'pci']],
  ['payment-events-queue', 'queue', 'team-commerce', 'payments', 'Kafka topic payments.v1.', ['kafka']],
  ['promo-db', 'database', 'team-growth', null, 'Referral codes and promotion campaigns.', ['postgresql']],
  ['ingestion-queue', 'queue', 'team-content', 'content-ingestion', 'RabbitMQ queue of label deliveries waiting for processing.', ['rabbitmq']],
  ['content-metadata-db', 'database', 'team-content', 'content-ingestion', 'Normalised release, track and rights metadata.', ['postgresql']],
  ['catalog-events-queue', 'queue', 'team-content', 'content-ingestion', 'Kafka topic catalog.v1.', ['kafka']],
  ['artwork-bucket', 'bucket', 'team-content', 'content-ingestion', 'Cover art in every size.', ['s3']],
  ['royalties-db', 'database', 'team-content', 'royalties', 'Royalty calculations and statements.', ['postgresql']],
  ['payout-bucket', 'bucket', 'team-content', 'royalties', 'Payout files picked up by the bank.', ['s3', 'pci']],
  ['auth-db', 'database', 'team-platform', null, 'Clients, refresh tokens and signing keys.', ['postgresql', 'security']],
];

// Responsibilities (apiVersion conway.dev/v1). Deliberate gaps: the royalties
// system has none, and payments has no data-durability entry.
const STANDARD_ACTIVITIES = ['ci-cd', 'mechanical-sympathy', 'logging', 'monitoring', 'nfrs',
  'change-management', 'incident-resolution', 'data-durability', 'security'];

function raciFor(team, pm, lead, omit = []) {
  const g = (n) => `group:default/${n}`;
  const u = (n) => `user:default/${n}`;
  const all = {
    'ci-cd': { responsible: [g(team)], accountable: g(team), consulted: [g('team-platform')] },
    'mechanical-sympathy': { responsible: [g(team)], accountable: u(lead), consulted: [g('team-sre')] },
    logging: { responsible: [g(team)], accountable: g(team), consulted: [g('team-platform')] },
    monitoring: { responsible: [g(team)], accountable: g(team), consulted: [g('team-sre')] },
    nfrs: { responsible: [g(team)], accountable: u(pm || lead), consulted: [g('team-sre')], informed: pm === 'sofia.marin' ? undefined : [u('sofia.marin')] },
    'change-management': { responsible: [g(team)], accountable: u(lead) },
    'incident-resolution': { responsible: [g(team), g('team-sre')], accountable: g(team), consulted: [g('team-platform')], informed: [u('amara.okafor')] },
    'data-durability': { responsible: [g('team-platform')], accountable: g(team), consulted: [g('team-sre')] },
    security: { responsible: [g(team)], accountable: g(team), consulted: [g('team-platform')], informed: [u('david.lindqvist')] },
  };
  const out = {};
  for (const a of STANDARD_ACTIVITIES) if (!omit.includes(a)) out[a] = all[a];
  return out;
}

// [name, target, team, pm, lead, omitted activities, description]
const RESPONSIBILITIES = [
  ['listening', 'domain:default/listening', 'listening-tribe', 'sofia.marin', 'david.lindqvist', [], 'Defaults for every system of the listening domain.'],
  ['playback', 'system:default/playback', 'team-playback', 'raj.patel', 'lena.hoffmann', ['nfrs', 'security'], 'Who does what for the playback system; nfrs and security come from the listening domain.'],
  ['discovery', 'system:default/discovery', 'team-discovery', 'jonas.berg', 'priya.sharma', [], 'Who does what for the discovery system.'],
  ['recommendation-service', 'component:default/recommendation-service', 'team-recommendations', null, 'ivan.petrov', [], 'The recommendation service overrides the discovery system defaults.'],
  ['subscriptions', 'system:default/subscriptions', 'team-commerce', 'noah.fischer', 'olivia.brown', [], 'Who does what for the subscriptions system.'],
  ['payments', 'system:default/payments', 'team-commerce', 'noah.fischer', 'olivia.brown', ['data-durability'], 'Who does what for the payments system. Nobody has been made accountable for data durability yet.'],
  ['content-ingestion', 'system:default/content-ingestion', 'team-content', 'ines.costa', 'george.adams', [], 'Who does what for content ingestion.'],
  ['api-gateway', 'component:default/api-gateway', 'team-platform', 'anna.kowalska', 'kwame.mensah', [], 'Platform component outside any system.'],
  ['auth-service', 'component:default/auth-service', 'team-platform', 'anna.kowalska', 'kwame.mensah', [], 'Platform component outside any system.'],
  ['observability-sdk', 'component:default/observability-sdk', 'team-platform', 'anna.kowalska', 'kwame.mensah', [], 'Platform component outside any system.'],
];

// ---------------------------------------------------------------------------
// Build the entities.

const LANG_LINKS = ['https://docs.tunewave.example/handbook/services', 'https://docs.tunewave.example/handbook/on-call'];

function buildEntities() {
  rng = makeRng(SEED);
  const APIS = apiRows();
  const groups = [];
  const childrenOf = new Map();
  const allGroupRows = [
    ...ORG_GROUPS.map(([name, type, parent, displayName, description]) => ({ name, type, parent, displayName, description })),
    ...TEAMS.map(([name, parent, tt, pm, tl, description]) => ({ name, type: 'team', parent, displayName: titleCase(name.replace(/^team-/, '')) + (name.startsWith('team-') ? ' team' : ''), description, tt, pm, tl })),
  ];
  for (const g of allGroupRows) {
    if (g.parent) {
      if (!childrenOf.has(g.parent)) childrenOf.set(g.parent, []);
      childrenOf.get(g.parent).push(g.name);
    }
  }
  for (const g of allGroupRows) {
    const annotations = {};
    if (g.tt) annotations['conway.dev/team-type'] = g.tt;
    if (g.pm) annotations['conway.dev/product-manager'] = `user:default/${g.pm}`;
    if (g.tl) annotations['conway.dev/tech-lead'] = `user:default/${g.tl}`;
    const metadata = { name: g.name, title: g.displayName, description: g.description };
    if (Object.keys(annotations).length) metadata.annotations = annotations;
    if (g.type === 'team') {
      metadata.links = [{ url: `https://chat.tunewave.example/channels/${g.name}`, title: 'Team channel', icon: 'chat' }];
    }
    const spec = {
      type: g.type,
      profile: { displayName: g.displayName, email: `${g.name}@${MAIL}` },
    };
    if (g.parent) spec.parent = g.parent;
    spec.children = childrenOf.get(g.name) || [];
    groups.push({ apiVersion: API_VERSION, kind: 'Group', metadata, spec });
  }

  const users = USERS.map(([name, memberOf, role]) => {
    const [first, last] = name.split('.');
    const displayName = `${first[0].toUpperCase()}${first.slice(1)} ${last[0].toUpperCase()}${last.slice(1)}`;
    return {
      apiVersion: API_VERSION, kind: 'User',
      metadata: { name, description: role },
      spec: { profile: { displayName, email: `${name}@${MAIL}` }, memberOf: memberOf.slice() },
    };
  });

  const domains = DOMAINS.map(([name, owner, title, description]) => ({
    apiVersion: API_VERSION, kind: 'Domain',
    metadata: { name, title, description, tags: ['domain'] },
    spec: { owner },
  }));

  const systems = SYSTEMS.map(([name, owner, domain, title, description]) => ({
    apiVersion: API_VERSION, kind: 'System',
    metadata: {
      name, title, description,
      links: [{ url: `https://docs.tunewave.example/systems/${name}`, title: 'Architecture overview', icon: 'docs' }],
    },
    spec: { owner, domain },
  }));

  const components = COMPONENTS.map(([name, type, lifecycle, owner, system, o]) => {
    const repo = o.repo || name;
    const mode = o.repoMode || (rng.next() < 0.2 ? 'both' : 'conway');
    const annotations = {};
    if (o.sid) annotations['conway.dev/service-id'] = o.sid;
    if (o.writes) annotations['conway.dev/writes'] = o.writes.join(', ');
    for (const [check, text] of Object.entries(o.exempt || {})) annotations[`conway.dev/exempt-${check}`] = text;
    if (mode === 'conway' || mode === 'both') annotations['conway.dev/repository'] = `github.com/${GH_ORG}/${repo}`;
    if (mode === 'slug' || mode === 'both') annotations['github.com/project-slug'] = `${GH_ORG}/${repo}`;
    const links = [{ url: `https://github.com/${GH_ORG}/${repo}`, title: 'Source', icon: 'github' }];
    if (type !== 'library') {
      links.push({ url: `https://grafana.tunewave.example/d/${name}`, title: 'Dashboard', icon: 'dashboard' });
      links.push({ url: `https://runbooks.tunewave.example/${name}`, title: 'Runbook', icon: 'docs' });
    }
    if (o.web) links.push({ url: o.web, title: 'Website', icon: 'web' });
    if (rng.next() < 0.3) links.push({ url: rng.pick(LANG_LINKS), title: 'Engineering handbook', icon: 'help' });
    const tags = [...(o.tags || [])];
    if (lifecycle === 'deprecated' && !tags.includes('legacy')) tags.push('legacy');
    const spec = { type, lifecycle, owner };
    if (system) spec.system = system;
    if (o.deps && o.deps.length) spec.dependsOn = o.deps.slice();
    if (o.provides && o.provides.length) spec.providesApis = o.provides.slice();
    if (o.consumes && o.consumes.length) spec.consumesApis = o.consumes.slice();
    return {
      apiVersion: API_VERSION, kind: 'Component',
      metadata: { name, description: o.desc, annotations, tags, links },
      spec,
    };
  });

  const apis = APIS.map(([name, type, owner, system, description, definition]) => {
    const spec = { type, lifecycle: 'production', owner };
    if (system) spec.system = system;
    spec.definition = definition;
    return {
      apiVersion: API_VERSION, kind: 'API',
      metadata: { name, description, tags: [type] },
      spec,
    };
  });

  const resources = RESOURCES.map(([name, type, owner, system, description, tags]) => {
    const spec = { type, owner };
    if (system) spec.system = system;
    return {
      apiVersion: API_VERSION, kind: 'Resource',
      metadata: { name, description, tags: tags.slice() },
      spec,
    };
  });

  const responsibilities = RESPONSIBILITIES.map(([name, target, team, pm, lead, omit, description]) => ({
    apiVersion: 'conway.dev/v1', kind: 'Responsibilities',
    metadata: { name, description },
    spec: { target, activities: raciFor(team, pm, lead, omit) },
  }));

  return { groups, users, domains, systems, components, apis, resources, responsibilities, scorecards: scorecards() };
}

// ---------------------------------------------------------------------------
// Validation: Backstage's rules (see shared/reference/standards.md §7).

const NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_LABEL_RE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const TAG_RE = /^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$/;
const KIND_RE = /^[a-zA-Z][a-z0-9A-Z]*$/;
const KNOWN_KINDS = ['component', 'api', 'resource', 'system', 'domain', 'group', 'user', 'location'];

const isName = (s) => typeof s === 'string' && s.length >= 1 && s.length <= 63 && NAME_RE.test(s);
const isDnsLabel = (s) => typeof s === 'string' && s.length >= 1 && s.length <= 63 && DNS_LABEL_RE.test(s);
const isDnsSubdomain = (s) => typeof s === 'string' && s.length >= 1 && s.length <= 253 && s.split('.').every(isDnsLabel);

function isPrefixedKey(k) {
  const parts = k.split('/');
  if (parts.length === 1) return isName(parts[0]);
  if (parts.length === 2) return isDnsSubdomain(parts[0]) && isName(parts[1]);
  return false;
}

// Parses `[kind:][namespace/]name` as Backstage does; returns {kind, namespace, name}.
export function parseRef(ref, defaultKind) {
  if (typeof ref !== 'string' || ref === '') throw new Error('entity reference must be a non-empty string');
  let colon = ref.indexOf(':');
  const slash = ref.indexOf('/');
  if (slash !== -1 && slash < colon) colon = -1;
  const kind = colon === -1 ? undefined : ref.slice(0, colon);
  const namespace = slash === -1 ? undefined : ref.slice(colon + 1, slash);
  const name = ref.slice(Math.max(colon + 1, slash + 1));
  if (kind === '' || namespace === '' || name === '') throw new Error(`entity reference "${ref}" was not on the form [<kind>:][<namespace>/]<name>`);
  const k = (kind || defaultKind || '').toLowerCase();
  if (!k) throw new Error(`entity reference "${ref}" had missing or empty kind`);
  if (!isName(name)) throw new Error(`entity reference "${ref}": invalid name`);
  if (namespace !== undefined && !isDnsLabel(namespace)) throw new Error(`entity reference "${ref}": invalid namespace`);
  return { kind: k, namespace: (namespace || 'default').toLowerCase(), name: name.toLowerCase() };
}
const refKey = (r) => `${r.kind}:${r.namespace}/${r.name}`;

function validateEntity(e) {
  const errs = [];
  const fail = (field, msg) => errs.push(`${field}: ${msg}`);
  if (e.apiVersion !== API_VERSION && !(e.apiVersion === 'conway.dev/v1' && e.kind === 'Responsibilities')) fail('apiVersion', `unexpected ${e.apiVersion}`);
  if (typeof e.kind !== 'string' || !KIND_RE.test(e.kind)) fail('kind', 'invalid');
  const m = e.metadata || {};
  if (!isName(m.name)) fail('metadata.name', `"${m.name}" must match ${NAME_RE} and be at most 63 characters`);
  if (m.namespace !== undefined && !isDnsLabel(m.namespace)) fail('metadata.namespace', 'must be a DNS label');
  for (const [i, t] of (m.tags || []).entries()) {
    if (typeof t !== 'string' || t.length > 63 || !TAG_RE.test(t)) fail(`metadata.tags[${i}]`, `"${t}" must match ${TAG_RE}`);
  }
  if (new Set(m.tags || []).size !== (m.tags || []).length) fail('metadata.tags', 'duplicate tag');
  for (const [k, v] of Object.entries(m.annotations || {})) {
    if (!isPrefixedKey(k)) fail(`metadata.annotations`, `invalid key "${k}"`);
    if (typeof v !== 'string') fail(`metadata.annotations.${k}`, 'value must be a string');
  }
  for (const [k, v] of Object.entries(m.labels || {})) {
    if (!isPrefixedKey(k)) fail('metadata.labels', `invalid key "${k}"`);
    if (v !== '' && !isName(v)) fail(`metadata.labels.${k}`, 'invalid value');
  }
  for (const [i, l] of (m.links || []).entries()) {
    if (!l || typeof l.url !== 'string' || !/^https:\/\/[a-z0-9.-]+(\/\S*)?$/.test(l.url)) fail(`metadata.links[${i}].url`, 'must be an https URL');
  }
  const s = e.spec || {};
  const need = (field) => { if (typeof s[field] !== 'string' || s[field] === '') fail(`spec.${field}`, 'required string'); };
  const ref = (field, value, defKind, allowed) => {
    try {
      const r = parseRef(value, defKind);
      if (allowed && !allowed.includes(r.kind)) fail(field, `kind "${r.kind}" not allowed here`);
      if (!KNOWN_KINDS.includes(r.kind)) fail(field, `unknown kind "${r.kind}"`);
    } catch (err) { fail(field, err.message); }
  };
  const refList = (field, defKind, allowed, requireKind = false) => {
    if (s[field] === undefined) return;
    if (!Array.isArray(s[field])) { fail(`spec.${field}`, 'must be an array'); return; }
    s[field].forEach((v, i) => {
      if (requireKind && (typeof v !== 'string' || !/^[A-Za-z]+:/.test(v))) fail(`spec.${field}[${i}]`, 'must carry a kind');
      ref(`spec.${field}[${i}]`, v, defKind, allowed);
    });
  };
  switch (e.kind) {
    case 'Component':
      need('type'); need('lifecycle'); need('owner');
      if (s.owner) ref('spec.owner', s.owner, 'group', ['group', 'user']);
      if (s.system) ref('spec.system', s.system, 'system', ['system']);
      refList('dependsOn', undefined, ['component', 'resource'], true);
      refList('providesApis', 'api', ['api']);
      refList('consumesApis', 'api', ['api']);
      if (!['service', 'website', 'library'].includes(s.type)) fail('spec.type', 'demo uses service, website or library');
      if (!['production', 'experimental', 'deprecated'].includes(s.lifecycle)) fail('spec.lifecycle', 'unexpected');
      break;
    case 'API':
      need('type'); need('lifecycle'); need('owner'); need('definition');
      if (s.owner) ref('spec.owner', s.owner, 'group', ['group', 'user']);
      if (s.system) ref('spec.system', s.system, 'system', ['system']);
      break;
    case 'Resource':
      need('type'); need('owner');
      if (s.owner) ref('spec.owner', s.owner, 'group', ['group', 'user']);
      if (s.system) ref('spec.system', s.system, 'system', ['system']);
      refList('dependsOn', undefined, ['component', 'resource'], true);
      break;
    case 'System':
      need('owner');
      if (s.owner) ref('spec.owner', s.owner, 'group', ['group', 'user']);
      if (s.domain) ref('spec.domain', s.domain, 'domain', ['domain']);
      break;
    case 'Domain':
      need('owner');
      if (s.owner) ref('spec.owner', s.owner, 'group', ['group', 'user']);
      break;
    case 'Group':
      need('type');
      if (!Array.isArray(s.children)) fail('spec.children', 'required array');
      refList('children', 'group', ['group']);
      if (s.parent) ref('spec.parent', s.parent, 'group', ['group']);
      refList('members', 'user', ['user']);
      break;
    case 'User':
      if (!Array.isArray(s.memberOf)) fail('spec.memberOf', 'required array');
      refList('memberOf', 'group', ['group']);
      break;
    case 'Responsibilities':
      validateResponsibilities(s, fail, ref);
      break;
    default:
      fail('kind', `unexpected kind ${e.kind}`);
  }
  return errs;
}

// Issue 4's rules: a target of kind component/system/domain, known activity
// names, exactly one accountable and at least one responsible, group/user refs.
function validateResponsibilities(s, fail, ref) {
  if (typeof s.target !== 'string') fail('spec.target', 'required');
  else ref('spec.target', s.target, undefined, ['component', 'system', 'domain']);
  if (!s.activities || typeof s.activities !== 'object' || Array.isArray(s.activities)) { fail('spec.activities', 'required mapping'); return; }
  for (const [act, row] of Object.entries(s.activities)) {
    const f = `spec.activities.${act}`;
    if (!STANDARD_ACTIVITIES.includes(act)) fail(f, `unknown activity; known: ${STANDARD_ACTIVITIES.join(', ')}`);
    if (typeof row.accountable !== 'string') fail(`${f}.accountable`, 'exactly one ref required');
    else ref(`${f}.accountable`, row.accountable, undefined, ['group', 'user']);
    if (!Array.isArray(row.responsible) || row.responsible.length === 0) fail(`${f}.responsible`, 'at least one ref required');
    for (const k of ['responsible', 'consulted', 'informed']) {
      if (row[k] === undefined) continue;
      if (!Array.isArray(row[k])) { fail(`${f}.${k}`, 'must be an array'); continue; }
      row[k].forEach((v, i) => ref(`${f}.${k}[${i}]`, v, undefined, ['group', 'user']));
    }
    for (const k of Object.keys(row)) if (!['responsible', 'accountable', 'consulted', 'informed'].includes(k)) fail(f, `unknown field ${k}`);
  }
}

// ---------------------------------------------------------------------------
// Cross-entity checks and the deliberate smells.

function assert(cond, msg) { if (!cond) throw new Error(`check failed: ${msg}`); }

function checkOrg(ents) {
  const all = [...ents.groups, ...ents.users, ...ents.domains, ...ents.systems, ...ents.components, ...ents.apis, ...ents.resources, ...ents.responsibilities];
  const problems = [];
  for (const e of all) for (const p of validateEntity(e)) problems.push(`${e.kind} ${e.metadata && e.metadata.name}: ${p}`);
  assert(problems.length === 0, `invalid entities:\n  ${problems.join('\n  ')}`);

  const byRef = new Map();
  for (const e of all) {
    const k = `${e.kind.toLowerCase()}:default/${e.metadata.name.toLowerCase()}`;
    assert(!byRef.has(k), `duplicate entity ${k} (names are unique per kind ignoring case)`);
    byRef.set(k, e);
  }
  const exists = (ref, defKind) => byRef.has(refKey(parseRef(ref, defKind)));
  const get = (ref, defKind) => byRef.get(refKey(parseRef(ref, defKind)));

  // Every reference resolves, except the one deliberate missing owner.
  const dangling = [];
  const chk = (e, field, ref, defKind) => { if (!exists(ref, defKind)) dangling.push(`${e.kind} ${e.metadata.name} ${field} -> ${ref}`); };
  for (const e of all) {
    const s = e.spec;
    if (s.owner) chk(e, 'owner', s.owner, 'group');
    if (s.system) chk(e, 'system', s.system, 'system');
    if (s.domain) chk(e, 'domain', s.domain, 'domain');
    if (s.parent) chk(e, 'parent', s.parent, 'group');
    for (const r of s.children || []) chk(e, 'children', r, 'group');
    for (const r of s.memberOf || []) chk(e, 'memberOf', r, 'group');
    for (const r of s.dependsOn || []) chk(e, 'dependsOn', r);
    for (const r of s.providesApis || []) chk(e, 'providesApis', r, 'api');
    for (const r of s.consumesApis || []) chk(e, 'consumesApis', r, 'api');
    for (const [k, v] of Object.entries(e.metadata.annotations || {})) {
      if (k === 'conway.dev/product-manager' || k === 'conway.dev/tech-lead') chk(e, k, v);
    }
    if (e.kind === 'Responsibilities') {
      chk(e, 'target', s.target);
      for (const row of Object.values(s.activities)) {
        for (const r of [...row.responsible, row.accountable, ...(row.consulted || []), ...(row.informed || [])]) chk(e, 'activities', r);
      }
    }
  }
  assert(dangling.length === 1 && dangling[0] === 'Component podcast-feed-service owner -> team-podcasts',
    `exactly one dangling reference expected (podcast-feed-service -> team-podcasts), got:\n  ${dangling.join('\n  ')}`);

  // Group hierarchy is consistent in both directions.
  for (const g of ents.groups) {
    for (const c of g.spec.children) assert(get(c, 'group').spec.parent === g.metadata.name, `child ${c} of ${g.metadata.name} names another parent`);
    if (g.spec.parent) assert(get(g.spec.parent, 'group').spec.children.includes(g.metadata.name), `${g.metadata.name} missing from its parent's children`);
  }
  // Every team's product manager and tech lead is a member of that team.
  for (const g of ents.groups) {
    for (const k of ['conway.dev/product-manager', 'conway.dev/tech-lead']) {
      const v = (g.metadata.annotations || {})[k];
      if (v) assert(get(v).spec.memberOf.includes(g.metadata.name), `${k} of ${g.metadata.name} is not a member`);
    }
  }
  // Every team-type value is a Team Topologies type.
  const TT = ['stream-aligned', 'platform', 'enabling', 'complicated-subsystem'];
  for (const g of ents.groups) {
    const tt = (g.metadata.annotations || {})['conway.dev/team-type'];
    if (tt !== undefined) assert(TT.includes(tt), `team-type of ${g.metadata.name}`);
  }

  const ownerKey = (c) => refKey(parseRef(c.spec.owner, 'group'));
  const prod = ents.components.filter((c) => c.spec.lifecycle === 'production');
  const teams = ents.groups.filter((g) => g.spec.type === 'team');

  // Smell: shared-resource-owner — exactly legacy-users-db.
  const sharedFindings = [];
  for (const r of ents.resources) {
    const rk = `resource:default/${r.metadata.name}`;
    const users = ents.components.filter((c) => (c.spec.dependsOn || []).some((d) => refKey(parseRef(d)) === rk));
    const owners = new Set(users.map(ownerKey));
    if (owners.size >= 2 && !owners.has(refKey(parseRef(r.spec.owner, 'group')))) sharedFindings.push({ r: r.metadata.name, owners: [...owners].sort(), users: users.map((c) => c.metadata.name) });
  }
  assert(sharedFindings.length === 1 && sharedFindings[0].r === 'legacy-users-db' && sharedFindings[0].owners.length === 3,
    `expected only legacy-users-db shared by 3 teams: ${JSON.stringify(sharedFindings)}`);

  // Smell: owner-is-user — exactly lyrics-service.
  const userOwned = ents.components.filter((c) => parseRef(c.spec.owner, 'group').kind === 'user').map((c) => c.metadata.name);
  assert(userOwned.join() === 'lyrics-service', `owner-is-user: ${userOwned}`);
  for (const kind of ['apis', 'resources', 'systems', 'domains']) {
    assert(ents[kind].every((e) => parseRef(e.spec.owner, 'group').kind === 'group'), `${kind} owned by users`);
  }

  // Smell: team-overload (> 8 production components) — exactly team-content, with >= 12.
  const prodByOwner = new Map();
  for (const c of prod) prodByOwner.set(ownerKey(c), (prodByOwner.get(ownerKey(c)) || 0) + 1);
  const overloaded = [...prodByOwner].filter(([, n]) => n > 8);
  assert(overloaded.length === 1 && overloaded[0][0] === 'group:default/team-content' && overloaded[0][1] >= 12, `team-overload: ${JSON.stringify(overloaded)}`);

  // Smell: team-without-members — exactly team-data-governance.
  const memberCount = new Map(teams.map((t) => [t.metadata.name, 0]));
  for (const u of ents.users) for (const g of u.spec.memberOf) if (memberCount.has(g)) memberCount.set(g, memberCount.get(g) + 1);
  const empty = [...memberCount].filter(([, n]) => n === 0).map(([t]) => t);
  assert(empty.join() === 'team-data-governance', `team-without-members: ${empty}`);

  // Smell: orphan-user — exactly alex.morgan and kim.larsen.
  const orphans = ents.users.filter((u) => u.spec.memberOf.length === 0).map((u) => u.metadata.name);
  assert(orphans.join() === 'alex.morgan,kim.larsen', `orphan users: ${orphans}`);

  // Smell: exactly one dependency cycle between components, of three members.
  const cycles = componentCycles(ents.components);
  assert(cycles.length === 1 && cycles[0].join() === 'listening-history-service,playlist-service,recommendation-service', `cycles: ${JSON.stringify(cycles)}`);

  // Smell: team-growth's services are spread over three systems in three domains;
  // every other team's components stay within one domain.
  const spread = new Map();
  for (const c of ents.components) {
    if (!c.spec.system) continue;
    const dom = get(c.spec.system, 'system').spec.domain;
    const o = ownerKey(c);
    if (!spread.has(o)) spread.set(o, { systems: new Set(), domains: new Set() });
    spread.get(o).systems.add(c.spec.system);
    spread.get(o).domains.add(dom);
  }
  const multiDomain = [...spread].filter(([, v]) => v.domains.size > 1);
  assert(multiDomain.length === 1 && multiDomain[0][0] === 'group:default/team-growth' && multiDomain[0][1].systems.size === 4 && multiDomain[0][1].domains.size === 3,
    `spread teams: ${multiDomain.map(([k]) => k)}`);
  assert([...spread].every(([k, v]) => k === 'group:default/team-growth' || v.systems.size <= 3), 'only team-growth is in more than three systems');

  // Smell: legacy-users-db is written by two teams (conway.dev/writes), the
  // only datastore anyone declares writes to.
  const writers = new Map();
  for (const c of ents.components) {
    for (const w of (c.metadata.annotations['conway.dev/writes'] || '').split(/[\s,]+/).filter(Boolean)) {
      const k = refKey(parseRef(w, 'resource'));
      if (!writers.has(k)) writers.set(k, new Set());
      writers.get(k).add(ownerKey(c));
    }
  }
  assert(writers.size === 1 && writers.has('resource:default/legacy-users-db') && writers.get('resource:default/legacy-users-db').size === 2,
    `written datastores: ${JSON.stringify([...writers].map(([k, v]) => [k, [...v]]))}`);

  // Smell: one production component depends on a deprecated one.
  const deprecatedNames = new Set(ents.components.filter((c) => c.spec.lifecycle === 'deprecated').map((c) => c.metadata.name));
  const onDeprecated = prod.filter((c) => (c.spec.dependsOn || []).some((d) => parseRef(d).kind === 'component' && deprecatedNames.has(parseRef(d).name)));
  assert(onDeprecated.map((c) => c.metadata.name).join() === 'payout-exporter', `deprecated dependencies: ${onDeprecated.map((c) => c.metadata.name)}`);

  // Responsibilities gaps: royalties has none; payments lacks data-durability;
  // every other production component gets every standard activity (after
  // inheritance component -> system -> domain, per activity).
  const raciOf = new Map(ents.responsibilities.map((r) => [refKey(parseRef(r.spec.target)), r.spec.activities]));
  const gaps = [];
  for (const c of prod) {
    const chain = [`component:default/${c.metadata.name}`];
    if (c.spec.system) {
      chain.push(refKey(parseRef(c.spec.system, 'system')));
      const dom = get(c.spec.system, 'system').spec.domain;
      if (dom) chain.push(refKey(parseRef(dom, 'domain')));
    }
    for (const a of STANDARD_ACTIVITIES) {
      if (!chain.some((t) => raciOf.has(t) && raciOf.get(t)[a])) gaps.push(`${c.metadata.name}/${a}`);
    }
  }
  const royaltiesProd = prod.filter((c) => c.spec.system === 'royalties').map((c) => c.metadata.name);
  const paymentsProd = prod.filter((c) => c.spec.system === 'payments').map((c) => c.metadata.name);
  const expected = [
    ...royaltiesProd.flatMap((n) => STANDARD_ACTIVITIES.map((a) => `${n}/${a}`)),
    ...paymentsProd.map((n) => `${n}/data-durability`),
  ].sort();
  assert(JSON.stringify(gaps.sort()) === JSON.stringify(expected), `RACI gaps:\n  ${gaps.join('\n  ')}`);
  assert(!raciOf.has('system:default/royalties') && royaltiesProd.length > 0, 'royalties must be a production system without Responsibilities');

  // Sizes the brief asks for.
  assert(ents.domains.length === 3 && ents.systems.length === 6, '3 domains, 6 systems');
  assert(ents.users.length >= 35 && ents.users.length <= 45, 'users');
  assert(ents.components.length >= 38 && ents.components.length <= 45, 'components');
  return { prodByOwner, gaps };
}

// Strongly connected components with more than one member, over component
// dependsOn edges; each returned sorted by name.
function componentCycles(components) {
  const names = components.map((c) => c.metadata.name);
  const edges = new Map(names.map((n) => [n, []]));
  for (const c of components) {
    for (const d of c.spec.dependsOn || []) {
      const r = parseRef(d);
      if (r.kind === 'component') edges.get(c.metadata.name).push(r.name);
    }
  }
  let idx = 0;
  const index = new Map(), low = new Map(), stack = [], on = new Set(), out = [];
  const visit = (v) => {
    index.set(v, idx); low.set(v, idx); idx++; stack.push(v); on.add(v);
    for (const w of edges.get(v) || []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do { w = stack.pop(); on.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const n of names) if (!index.has(n)) visit(n);
  return out;
}

// ---------------------------------------------------------------------------
// YAML output (block style; strings quoted JSON-style unless plainly safe).

function plainSafe(s) {
  if (s === '' || s !== s.trim()) return false;
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._/:@()+#,'-]*$/.test(s)) return false;
  if (s.includes(': ') || s.includes(' #') || s.endsWith(':')) return false;
  if (/^(true|false|yes|no|on|off|y|n|null)$/i.test(s)) return false;
  if (/^[-+]?[0-9._]*([eE][-+]?[0-9]+)?$/.test(s)) return false;
  if (/^0[xob]/i.test(s) || /^\d{4}-\d\d-\d\d/.test(s)) return false;
  return true;
}

function scalar(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  const s = String(v);
  return plainSafe(s) ? s : JSON.stringify(s);
}

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function writeMap(obj, ind, out) {
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    writeEntry(`${' '.repeat(ind)}${scalar(k)}:`, v, ind, out);
  }
}

function writeEntry(head, v, ind, out) {
  if (Array.isArray(v)) {
    if (v.length === 0) { out.push(`${head} []`); return; }
    out.push(head);
    writeSeq(v, ind + 2, out);
  } else if (isMap(v)) {
    if (Object.keys(v).length === 0) { out.push(`${head} {}`); return; }
    out.push(head);
    writeMap(v, ind + 2, out);
  } else if (typeof v === 'string' && v.includes('\n')) {
    // Literal block: keeps the definition readable in the file.
    if (!v.endsWith('\n') || v.endsWith('\n\n') || /^[ \t]/.test(v) || v.includes('\t') || / \n/.test(v)) {
      out.push(`${head} ${JSON.stringify(v)}`);
      return;
    }
    out.push(`${head} |`);
    for (const line of v.slice(0, -1).split('\n')) out.push(line === '' ? '' : `${' '.repeat(ind + 2)}${line}`);
  } else {
    out.push(`${head} ${scalar(v)}`);
  }
}

function writeSeq(arr, ind, out) {
  for (const item of arr) {
    if (isMap(item) && Object.keys(item).length) {
      const sub = [];
      writeMap(item, ind + 2, sub);
      sub[0] = `${' '.repeat(ind)}- ${sub[0].slice(ind + 2)}`;
      out.push(...sub);
    } else if (Array.isArray(item)) {
      throw new Error('nested sequences are not used by the demo');
    } else {
      writeEntry(`${' '.repeat(ind)}-`, item, ind, out);
    }
  }
}

export function toYaml(docs, header) {
  const out = [];
  for (const h of header) out.push(`# ${h}`);
  for (const d of docs) {
    out.push('---');
    writeMap(d, 0, out);
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Scorecards (conway's own kind, docs/scorecards.md): one of Tunewave's own,
// whose levels vary across the components (tests/api/scorecards.test.mjs
// evaluates it independently). The built-in ones (src/ui/scorecards/) are
// enabled by scripts/demo.sh. subscription-service carries an active
// exemption of tw-no-findings, referral-service an expired one.

function scorecards() {
  const c = (fact, operator, value) => ({ fact, operator, value });
  return [{
    apiVersion: 'conway.dev/v1', kind: 'Scorecard',
    metadata: { name: 'tunewave-service-basics', title: 'Tunewave service basics' },
    spec: {
      owner: 'group:default/team-platform',
      filter: 'kind=component',
      levels: ['bronze', 'silver', 'gold'],
      checks: [
        { id: 'tw-described', name: 'Described', level: 'bronze', rule: c('entity.metadata.description', 'exists', true) },
        { id: 'tw-team-owner', name: 'Owned by a team', level: 'bronze', rule: c('owner', 'matches', '^group:default/team-[a-z-]+$') },
        { id: 'tw-tiered', name: 'Tier tagged', level: 'silver', rule: { any: [c('entity.metadata.tags', 'contains', 'tier-1'), c('entity.metadata.tags', 'contains', 'tier-2')] } },
        { id: 'tw-runbook', name: 'Runbook', level: 'silver', rule: c('links.runbook[0].url', 'matches', '^https://runbooks\\.') },
        { id: 'tw-in-production', name: 'In production', level: 'silver', rule: c('entity.spec.lifecycle', 'in', ['production']) },
        { id: 'tw-no-findings', name: 'No findings', level: 'gold', rule: c('findings.count', 'equal', 0) },
        { id: 'tw-apis-defined', name: 'Provided APIs defined', level: 'gold', rule: { not: c('apis.providedWithoutDefinition', 'greaterThan', 0) } },
      ],
    },
  }];
}

function files(ents) {
  const hdr = (what) => [
    `Tunewave demo organisation: ${what}.`,
    'Generated by demo/generate-org.mjs; edit that script and re-run it, not this file.',
  ];
  return {
    'groups.yaml': toYaml(ents.groups, hdr('organisation hierarchy and teams')),
    'users.yaml': toYaml(ents.users, hdr('people')),
    'domains-systems.yaml': toYaml([...ents.domains, ...ents.systems], hdr('domains and systems')),
    'components.yaml': toYaml(ents.components, hdr('components')),
    'apis.yaml': toYaml(ents.apis, hdr('APIs')),
    'resources.yaml': toYaml(ents.resources, hdr('databases, queues and buckets')),
    'scorecards.yaml': toYaml(ents.scorecards, hdr('Scorecards, conway\'s own kind')),
    'responsibilities.yaml': toYaml(ents.responsibilities, [
      ...hdr('Responsibilities (RACI), conway\'s own kind'),
      'Kept apart from the Backstage kinds: servers without Responsibilities support reject this file.',
    ]),
  };
}

function main(argv) {
  let outDir = join(HERE, 'org');
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check') check = true;
    else if (argv[i] === '--out' && i + 1 < argv.length) outDir = argv[++i];
    else if (argv[i] === '--help' || argv[i] === '-h') {
      process.stdout.write('usage: node demo/generate-org.mjs [--out DIR] [--check]\n');
      return 0;
    } else {
      process.stderr.write(`generate-org: unknown argument ${argv[i]}\n`);
      return 2;
    }
  }
  const ents = buildEntities();
  checkOrg(ents);
  const out = files(ents);
  if (check) {
    const stale = Object.entries(out).filter(([f, text]) => !existsSync(join(outDir, f)) || readFileSync(join(outDir, f), 'utf8') !== text).map(([f]) => f);
    if (stale.length) {
      process.stderr.write(`generate-org: out of date in ${outDir}: ${stale.join(', ')} (run node demo/generate-org.mjs)\n`);
      return 1;
    }
    process.stdout.write(`generate-org: ${outDir} is up to date\n`);
    return 0;
  }
  mkdirSync(outDir, { recursive: true });
  for (const [f, text] of Object.entries(out)) writeFileSync(join(outDir, f), text);
  const n = Object.values(ents).reduce((a, l) => a + l.length, 0);
  process.stdout.write(`generate-org: wrote ${n} entities to ${outDir}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}

export { buildEntities, checkOrg, COMPONENTS, STANDARD_ACTIVITIES };

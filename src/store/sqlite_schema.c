/*
 * sqlite_schema.c — the SQLite schema as one ordered list of migrations.
 * The database records how many have run in PRAGMA user_version; at open
 * every pending step runs in its own transaction (sqlite.c). Never edit or
 * reorder a step that has shipped: append a new one (any domain — events,
 * audit… — adds its tables by appending here).
 */
#include "store/sqlite_int.h"

const cw__sqlite_migration cw__sqlite_migrations[] = {
    {1, "entities, relations, search index",
     /* generation counters that validate in-memory caches (store_common.h) */
     "CREATE TABLE cw_meta ("
     "  name TEXT PRIMARY KEY,"
     "  value INTEGER NOT NULL"
     ") WITHOUT ROWID;"
     "INSERT INTO cw_meta (name, value) VALUES ('entity_gen', 0);"

     "CREATE TABLE entities ("
     "  id INTEGER PRIMARY KEY,"
     "  uid TEXT NOT NULL UNIQUE,"
     "  key TEXT NOT NULL UNIQUE,"          /* kind:namespace/name, all lower case */
     "  ref TEXT NOT NULL,"                 /* kind:namespace/Name (display) */
     "  kind TEXT NOT NULL,"                /* canonical spelling: Component */
     "  namespace TEXT NOT NULL,"
     "  name TEXT NOT NULL,"
     "  etag TEXT NOT NULL,"
     "  body TEXT NOT NULL,"                /* compact JSON, no relations */
     "  search_rows BLOB NOT NULL,"         /* the search rows it owns */
     "  text_name TEXT NOT NULL,"           /* lower-cased for text search */
     "  text_title TEXT NOT NULL,"
     "  text_desc TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ");"

     /* outgoing relations as computed from the source's spec; the target
      * need not exist (dangling until it arrives) */
     "CREATE TABLE relations ("
     "  entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,"
     "  type TEXT NOT NULL,"                /* ownedBy */
     "  inverse_lc TEXT,"                   /* ownerof; NULL if no inverse */
     "  target_key TEXT NOT NULL,"
     "  target_ref TEXT NOT NULL,"
     "  PRIMARY KEY (entity_id, type, target_key)"
     ") WITHOUT ROWID;"
     /* incoming relations of an entity, and (scanned) all targets of one
      * inverse type for "relations.<type> exists" filters */
     "CREATE INDEX relations_by_target ON relations (target_key, inverse_lc);"

     /* Backstage-style search rows, clustered in the order filters read
      * them. Incoming relations are derived from the relations table at
      * query time instead of being stored here. Rows are removed through
      * entities.search_rows (sqlite_search.c), hence no entity_id index. */
     "CREATE TABLE search ("
     "  key TEXT NOT NULL,"
     "  value TEXT NOT NULL,"               /* lower case; '' for a null leaf */
     "  entity_id INTEGER NOT NULL,"
     "  is_null INTEGER NOT NULL DEFAULT 0,"
     "  original TEXT,"                     /* original case when different */
     "  PRIMARY KEY (key, value, entity_id)"
     ") WITHOUT ROWID;"},

    {2, "API tokens",
     /* only the SHA-256 of a token's secret is ever stored */
     "CREATE TABLE tokens ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL,"
     "  role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'ingest')),"
     "  team TEXT NOT NULL DEFAULT '',"
     "  hash TEXT NOT NULL UNIQUE,"
     "  created_at INTEGER NOT NULL,"
     "  last_used_at INTEGER,"
     "  revoked_at INTEGER"
     ");"},

    {3, "audit log",
     /* append-only: the triggers refuse UPDATE and DELETE (store_audit.h) */
     "CREATE TABLE audit ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"  /* never reused: paging cursor */
     "  at INTEGER NOT NULL,"                   /* unix milliseconds */
     "  actor TEXT NOT NULL,"                   /* token | cli | anonymous */
     "  token_id INTEGER,"
     "  token_name TEXT,"
     "  action TEXT NOT NULL,"
     "  entity_refs TEXT NOT NULL,"             /* JSON array as written */
     "  request_id TEXT,"
     "  detail TEXT"                            /* JSON object or NULL */
     ");"
     "CREATE INDEX audit_by_action ON audit (action, id);"
     "CREATE INDEX audit_by_token ON audit (token_id, id);"
     "CREATE INDEX audit_by_time ON audit (at);"
     "CREATE TABLE audit_refs ("
     "  ref_key TEXT NOT NULL,"                 /* lower-cased kind:namespace/name */
     "  audit_id INTEGER NOT NULL,"
     "  PRIMARY KEY (ref_key, audit_id)"
     ") WITHOUT ROWID;"
     "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;"
     "CREATE TRIGGER audit_refs_no_update BEFORE UPDATE ON audit_refs"
     " BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;"
     "CREATE TRIGGER audit_refs_no_delete BEFORE DELETE ON audit_refs"
     " BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;"},
    {4, "events",
     /* environments and link keys once each; events point at them */
     "CREATE TABLE event_envs ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE"
     ");"
     /* one row per distinct service id / repository id; component_id is
      * the Component it matched at catalog generation event_link_gen
      * (NULL: none), recomputed when the catalog changes */
     "CREATE TABLE event_links ("
     "  id INTEGER PRIMARY KEY,"
     "  kind INTEGER NOT NULL,"              /* 1 service, 2 repository */
     "  value TEXT NOT NULL,"
     "  component_id INTEGER,"               /* entities.id */
     "  resolved INTEGER NOT NULL DEFAULT 0,"
     "  UNIQUE (kind, value)"
     ");"
     "CREATE INDEX event_links_by_component ON event_links (component_id);"
     "INSERT INTO cw_meta (name, value) VALUES ('event_link_gen', -1);"
     /* production is decided at query time from the environment's id */
     "CREATE TABLE events ("
     "  id INTEGER PRIMARY KEY,"             /* arrival order, paging tie-break */
     "  source TEXT NOT NULL,"
     "  event_id TEXT NOT NULL,"
     "  type TEXT NOT NULL,"
     "  subject_id TEXT NOT NULL,"
     "  time_ms INTEGER NOT NULL,"           /* context.timestamp */
     "  received_ms INTEGER NOT NULL,"
     "  chain_id TEXT,"
     "  env_id INTEGER,"                     /* event_envs.id */
     "  artifact_id TEXT,"
     "  link_id INTEGER,"                    /* event_links.id; NULL: no link key */
     "  cls INTEGER NOT NULL DEFAULT 0,"     /* interpreted class, 0 = none */
     "  kind INTEGER NOT NULL DEFAULT 0,"    /* interpreted kind (events_impl.h) */
     "  changes TEXT,"                       /* deployments: customData.changes */
     "  body TEXT NOT NULL,"                 /* the CDEvent, compact JSON */
     "  UNIQUE (source, event_id)"
     ");"
     "CREATE INDEX events_by_time ON events (time_ms);"
     "CREATE INDEX events_by_link ON events (link_id, time_ms);"
     "CREATE INDEX events_by_env ON events (env_id, time_ms);"
     /* covering index the delivery insights stream from, rows of one change
      * or incident adjacent */
     "CREATE INDEX events_delivery ON events"
     " (cls, link_id, subject_id, time_ms, kind, env_id, artifact_id, chain_id, changes)"
     " WHERE cls > 0;"},
    {5, "token source prefixes",
     /* issue #10: an ingest token may be bound to context.source prefixes
      * (newline-separated; '' = any source) */
     "ALTER TABLE tokens ADD COLUMN sources TEXT NOT NULL DEFAULT '';"},
    {6, "webhook receivers, catalog locations",
     /* GitHub signs with HMAC-SHA256, so its secret itself must be kept
      * (there is no key to encrypt it with that would not sit beside it);
      * GitLab sends its token as is, so only its SHA-256 is kept
      * (store_ingest.h, docs/webhooks.md) */
     "CREATE TABLE webhooks ("
     "  id TEXT PRIMARY KEY,"
     "  provider TEXT NOT NULL CHECK (provider IN ('github', 'gitlab')),"
     "  name TEXT NOT NULL,"
     "  team TEXT NOT NULL DEFAULT '',"
     "  incident_label TEXT NOT NULL DEFAULT '',"
     "  secret TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  revoked_at INTEGER"
     ") WITHOUT ROWID;"
     /* one row per delivery: idempotency, and what became of it */
     "CREATE TABLE webhook_deliveries ("
     "  hook_id TEXT NOT NULL,"
     "  delivery TEXT NOT NULL,"
     "  received_ms INTEGER NOT NULL,"
     "  what TEXT NOT NULL,"
     "  outcome TEXT NOT NULL,"             /* stored | ignored */
     "  detail TEXT,"
     "  events INTEGER NOT NULL,"
     "  payload TEXT,"                      /* NULL beyond the size cap */
     "  payload_bytes INTEGER NOT NULL,"
     "  PRIMARY KEY (hook_id, delivery)"
     ") WITHOUT ROWID;"
     "CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (hook_id, received_ms);"
     /* Backstage locations: registered ones and the targets of Location
      * entities; url targets carry their fetch state and the claim of the
      * instance refreshing them */
     "CREATE TABLE catalog_locations ("
     "  id TEXT PRIMARY KEY,"
     "  type TEXT NOT NULL,"
     "  target TEXT NOT NULL,"
     "  origin TEXT NOT NULL,"              /* api | entity | cli */
     "  created_ms INTEGER NOT NULL,"
     "  status TEXT NOT NULL DEFAULT 'pending',"
     "  error TEXT,"
     "  failures INTEGER NOT NULL DEFAULT 0,"
     "  fetched_ms INTEGER NOT NULL DEFAULT 0,"
     "  ok_ms INTEGER NOT NULL DEFAULT 0,"
     "  next_ms INTEGER NOT NULL DEFAULT 0,"
     "  etag TEXT,"
     "  last_modified TEXT,"
     "  content TEXT,"                      /* last good content */
     "  claimed_by TEXT,"
     "  claim_until INTEGER NOT NULL DEFAULT 0,"
     "  UNIQUE (type, target)"
     ") WITHOUT ROWID;"
     "CREATE INDEX catalog_locations_due ON catalog_locations (type, next_ms);"
     /* the entities each location provided at its last import */
     "CREATE TABLE location_entities ("
     "  location_id TEXT NOT NULL,"
     "  entity_key TEXT NOT NULL,"
     "  PRIMARY KEY (location_id, entity_key)"
     ") WITHOUT ROWID;"
     "CREATE INDEX location_entities_by_key ON location_entities (entity_key);"},
    {7, "incidents",
     /* one row per incident (source, subject id), derived from incident
      * events in their own transaction (store_incidents.h); state and
      * times as the lifecycle left them */
     "CREATE TABLE incidents ("
     "  id INTEGER PRIMARY KEY,"
     "  source TEXT NOT NULL,"
     "  subject_id TEXT NOT NULL,"
     "  group_key TEXT,"                     /* Alertmanager groupKey */
     "  title TEXT,"
     "  severity TEXT,"                      /* critical|high|warning|low|info */
     "  severity_raw TEXT,"                  /* as the tool wrote it */
     "  state TEXT NOT NULL CHECK (state IN ('triggered', 'acknowledged', 'mitigated',"
     "   'resolved', 'closed')),"
     "  start_ms INTEGER NOT NULL,"          /* detected, else the first event */
     "  detected_ms INTEGER,"
     "  resolved_ms INTEGER,"
     "  service_id TEXT,"                    /* linked like events (event_links) */
     "  artifact_id TEXT,"
     "  environment TEXT,"
     "  created_ms INTEGER NOT NULL,"
     "  updated_ms INTEGER NOT NULL,"
     "  UNIQUE (source, subject_id)"
     ");"
     "CREATE INDEX incidents_by_start ON incidents (start_ms, id);"
     "CREATE INDEX incidents_by_group ON incidents (group_key, id) WHERE group_key IS NOT NULL;"
     "CREATE INDEX incidents_by_service ON incidents (service_id);"
     "CREATE INDEX incidents_by_subject ON incidents (subject_id);"
     /* events and alerts once each (ref); transitions and notes have none */
     "CREATE TABLE incident_timeline ("
     "  id INTEGER PRIMARY KEY,"
     "  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
     "  at_ms INTEGER NOT NULL,"
     "  kind TEXT NOT NULL CHECK (kind IN ('event', 'alert', 'transition', 'note')),"
     "  actor TEXT,"
     "  from_state TEXT,"
     "  to_state TEXT,"
     "  text TEXT,"
     "  ref TEXT,"
     "  UNIQUE (incident_id, kind, ref)"
     ");"
     "CREATE INDEX incident_timeline_by_time ON incident_timeline (incident_id, at_ms, id);"
     "CREATE TABLE incident_alerts ("
     "  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
     "  fingerprint TEXT NOT NULL,"
     "  status TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),"
     "  starts_ms INTEGER NOT NULL,"
     "  ends_ms INTEGER,"
     "  labels TEXT NOT NULL,"               /* JSON object */
     "  annotations TEXT,"                   /* JSON object */
     "  generator_url TEXT,"
     "  updated_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (incident_id, fingerprint)"
     ") WITHOUT ROWID;"
     /* incident events stored before this table: derived once (0 = to do);
      * a database without any has nothing to derive (1 = done) */
     "INSERT INTO cw_meta (name, value) SELECT 'incidents_backfill',"
     " CASE WHEN EXISTS (SELECT 1 FROM events WHERE cls = 3) THEN 0 ELSE 1 END;"},
    {8, "metric series and samples",
     /* a series is a name and its canonical label set; a sample is only
      * (series, time, value), keyed for the step aggregates of a query
      * (store_metrics.h) */
     "CREATE TABLE metric_series ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL,"
     "  labels TEXT NOT NULL,"               /* {"a":"x"}: keys sorted, compact */
     "  created_ms INTEGER NOT NULL,"
     "  UNIQUE (name, labels)"
     ");"
     "CREATE TABLE metric_samples ("
     "  series_id INTEGER NOT NULL,"
     "  t INTEGER NOT NULL,"                 /* Unix ms */
     "  v REAL NOT NULL,"
     "  PRIMARY KEY (series_id, t)"
     ") WITHOUT ROWID;"},
    {9, "heartbeats",
     /* one row per Heartbeat entity: a copy of its schedule (from the
      * entity of etag) and its state (store_heartbeats.h); status 0 new,
      * 1 up, 2 down, 3 paused */
     "CREATE TABLE hb ("
     "  id INTEGER PRIMARY KEY,"
     "  key TEXT NOT NULL UNIQUE,"              /* heartbeat:ns/name, lower case */
     "  ref TEXT NOT NULL,"
     "  slug TEXT NOT NULL,"                    /* lower-cased name */
     "  owner_key TEXT NOT NULL,"
     "  etag TEXT NOT NULL,"
     "  owner TEXT NOT NULL,"
     "  target TEXT NOT NULL DEFAULT '',"
     "  depends_on TEXT NOT NULL DEFAULT '',"
     "  purpose INTEGER NOT NULL,"
     "  sched_kind INTEGER NOT NULL,"           /* 1 period, 2 cron */
     "  period_s INTEGER NOT NULL,"
     "  grace_s INTEGER NOT NULL,"
     "  cron TEXT NOT NULL DEFAULT '',"
     "  tz TEXT NOT NULL DEFAULT '',"
     "  status INTEGER NOT NULL DEFAULT 0,"
     "  last_ping_ms INTEGER NOT NULL DEFAULT 0,"
     "  last_success_ms INTEGER NOT NULL DEFAULT 0,"
     "  last_start_ms INTEGER NOT NULL DEFAULT 0,"
     "  last_start_rid TEXT NOT NULL DEFAULT '',"
     "  last_duration_ms INTEGER NOT NULL DEFAULT -1,"
     "  n_pings INTEGER NOT NULL DEFAULT 0,"
     "  alert_after_ms INTEGER,"                /* the due time; NULL: none */
     "  ping_key_hash TEXT UNIQUE,"             /* SHA-256 of the ping key */
     "  created_ms INTEGER NOT NULL"
     ");"
     /* the scheduler reads only what is due */
     "CREATE INDEX hb_due ON hb (alert_after_ms) WHERE alert_after_ms IS NOT NULL AND status <> 2;"
     "CREATE INDEX hb_by_slug ON hb (owner_key, slug);"
     /* the last CW_HB_PINGS_KEPT pings of each heartbeat, n counting them */
     "CREATE TABLE hb_pings ("
     "  hb_id INTEGER NOT NULL,"
     "  n INTEGER NOT NULL,"
     "  at_ms INTEGER NOT NULL,"
     "  kind INTEGER NOT NULL,"                 /* 0 success 1 start 2 fail 3 log */
     "  exit_status INTEGER,"
     "  rid TEXT,"
     "  method TEXT NOT NULL,"
     "  remote TEXT NOT NULL,"
     "  ua TEXT NOT NULL,"
     "  duration_ms INTEGER,"
     "  body_size INTEGER NOT NULL,"
     "  body BLOB,"                             /* the first 100 KiB */
     "  PRIMARY KEY (hb_id, n)"
     ") WITHOUT ROWID;"
     /* status changes; processed_ms set once notified */
     "CREATE TABLE hb_flips ("
     "  id INTEGER PRIMARY KEY,"
     "  hb_id INTEGER NOT NULL,"
     "  at_ms INTEGER NOT NULL,"
     "  from_status INTEGER NOT NULL,"
     "  to_status INTEGER NOT NULL,"
     "  reason TEXT NOT NULL,"
     "  processed_ms INTEGER"
     ");"
     "CREATE INDEX hb_flips_by_hb ON hb_flips (hb_id, id);"
     "CREATE INDEX hb_flips_pending ON hb_flips (id) WHERE processed_ms IS NULL;"
     /* the team ping keys of /ping/{team-key}/{slug}, by SHA-256 */
     "CREATE TABLE hb_team_keys ("
     "  team TEXT PRIMARY KEY,"
     "  key_hash TEXT NOT NULL UNIQUE,"
     "  created_ms INTEGER NOT NULL"
     ");"},
    {10, "heartbeat notifications",
     /* outgoing webhooks of heartbeat status changes (store_heartbeats.h):
      * state 0 pending, 1 delivered, 2 dead (the dead-letter list); a
      * pending row whose due time has come is claimed by setting lease_ms,
      * so that one instance attempts it at a time */
     "CREATE TABLE hb_deliveries ("
     "  id INTEGER PRIMARY KEY,"
     "  flip_id INTEGER NOT NULL,"
     "  hb_key TEXT NOT NULL,"
     "  url TEXT NOT NULL,"
     "  body TEXT NOT NULL,"
     "  state INTEGER NOT NULL DEFAULT 0,"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  due_ms INTEGER NOT NULL,"
     "  lease_ms INTEGER NOT NULL DEFAULT 0,"
     "  last_status INTEGER NOT NULL DEFAULT 0,"
     "  last_error TEXT NOT NULL DEFAULT '',"
     "  created_ms INTEGER NOT NULL,"
     "  done_ms INTEGER NOT NULL DEFAULT 0"
     ");"
     "CREATE INDEX hb_deliveries_due ON hb_deliveries (due_ms) WHERE state = 0;"
     "CREATE INDEX hb_deliveries_by_state ON hb_deliveries (state, id);"},
    {11, "findings history",
     /* issue 12: one claim row per day snapshotted (store_history.h), and
      * the day's counts of every kind of finding, per scope ("org" or an
      * owner key) */
     "CREATE TABLE finding_snapshots ("
     "  day INTEGER PRIMARY KEY,"            /* days since 1970-01-01, UTC */
     "  taken_at INTEGER NOT NULL"           /* unix milliseconds */
     ");"
     "CREATE TABLE finding_counts ("
     "  day INTEGER NOT NULL,"
     "  kind TEXT NOT NULL,"                 /* architecture | ownership | ... */
     "  rule TEXT NOT NULL,"
     "  severity TEXT NOT NULL,"             /* error | warning | silenced */
     "  scope TEXT NOT NULL,"
     "  count INTEGER NOT NULL,"
     "  PRIMARY KEY (scope, day, kind, rule, severity)"
     ") WITHOUT ROWID;"},
    {12, "delivery rows",
     /* What the delivery insights read, kept up to date at intake (the
      * events' own transaction) and selected by time and key
      * (docs/store.md): nothing here depends on the catalog or on which
      * environments are production. seq is events.id. */
     /* clustered by environment: a window's production rows are read
      * without the others */
     "CREATE TABLE delivery_service ("
     "  env_id INTEGER NOT NULL,"            /* 0: none */
     "  time_ms INTEGER NOT NULL,"
     "  seq INTEGER NOT NULL,"
     "  link_id INTEGER,"
     "  kind INTEGER NOT NULL,"
     "  artifact_id TEXT,"
     "  artifact_h INTEGER,"                 /* cw__hash64(artifact_id): its index */
     "  chain_id TEXT,"
     "  changes TEXT,"                       /* customData.changes, compact JSON */
     "  incident_ms INTEGER,"                /* earliest incident event naming artifact_id */
     "  PRIMARY KEY (env_id, time_ms, seq)"
     ") WITHOUT ROWID;"
     /* kind and environment: the latest production deployment of a link
      * before a time is found in the index alone */
     "CREATE INDEX delivery_service_by_link ON delivery_service (link_id, time_ms, seq, kind);"
     "CREATE INDEX delivery_service_by_artifact ON delivery_service (artifact_h)"
     " WHERE artifact_h IS NOT NULL;"
     /* one row per change subject id and link key: its events folded */
     "CREATE TABLE delivery_changes ("
     "  subject_id TEXT NOT NULL,"
     "  link_id INTEGER NOT NULL,"
     "  created_ms INTEGER,"                 /* earliest change.created */
     "  merged_ms INTEGER,"                  /* earliest change.merged */
     "  claim_ms INTEGER,"                   /* earliest deployment listing subject_id */
     "  PRIMARY KEY (subject_id, link_id)"
     ") WITHOUT ROWID;"
     "CREATE INDEX delivery_changes_by_link ON delivery_changes"
     " (link_id, merged_ms, created_ms, claim_ms);"
     /* which deployments list a change id in customData.changes */
     "CREATE TABLE delivery_claims ("
     "  change_id TEXT NOT NULL,"
     "  env_id INTEGER NOT NULL,"            /* the listing row's key */
     "  time_ms INTEGER NOT NULL,"
     "  seq INTEGER NOT NULL,"
     "  PRIMARY KEY (change_id, env_id, time_ms, seq)"
     ") WITHOUT ROWID;"
     "CREATE TABLE delivery_incidents ("
     "  time_ms INTEGER NOT NULL,"
     "  seq INTEGER NOT NULL,"
     "  link_id INTEGER,"
     "  kind INTEGER NOT NULL,"
     "  subject_id TEXT NOT NULL,"
     "  artifact_id TEXT,"
     "  first_ms INTEGER NOT NULL,"          /* the incident's earliest event */
     "  artifact_first_ms INTEGER,"          /* earliest service event naming artifact_id */
     "  PRIMARY KEY (time_ms, seq)"
     ") WITHOUT ROWID;"
     "CREATE INDEX delivery_incidents_by_subject ON delivery_incidents (subject_id);"
     "CREATE INDEX delivery_incidents_by_artifact ON delivery_incidents (artifact_id)"
     " WHERE artifact_id IS NOT NULL;"
     /* the events stored so far */
     "INSERT INTO delivery_service"
     " SELECT coalesce(env_id, 0), time_ms, id, link_id, kind, artifact_id,"
     "  cw_hash64(artifact_id), chain_id, changes, NULL"
     " FROM events WHERE cls = 1;"
     "INSERT INTO delivery_incidents"
     " SELECT time_ms, id, link_id, kind, subject_id, artifact_id,"
     "  min(time_ms) OVER (PARTITION BY subject_id),"
     "  (SELECT min(s.time_ms) FROM delivery_service s"
     "   WHERE s.artifact_h = cw_hash64(e.artifact_id) AND s.artifact_id = e.artifact_id)"
     " FROM events e WHERE cls = 3;"
     "UPDATE delivery_service SET incident_ms = (SELECT min(i.time_ms) FROM delivery_incidents i"
     "  WHERE i.artifact_id = delivery_service.artifact_id)"
     " WHERE artifact_id IN (SELECT artifact_id FROM delivery_incidents);"
     "INSERT OR IGNORE INTO delivery_claims"
     " SELECT j.value, coalesce(e.env_id, 0), e.time_ms, e.id FROM events e, json_each(e.changes) j"
     " WHERE e.cls = 1 AND e.kind IN (1, 2) AND e.changes IS NOT NULL"
     "  AND json_valid(e.changes) AND j.type = 'text';"
     "INSERT INTO delivery_changes"
     " SELECT subject_id, link_id, min(CASE WHEN kind = 4 THEN time_ms END),"
     "  min(CASE WHEN kind = 5 THEN time_ms END),"
     "  (SELECT min(c.time_ms) FROM delivery_claims c WHERE c.change_id = e.subject_id)"
     " FROM events e WHERE cls = 2 AND link_id IS NOT NULL GROUP BY subject_id, link_id;"
     /* the delivery scan reads the tables above, not the events */
     "DROP INDEX events_delivery;"},
    {13, "compact events",
     /* An event keeps what the listing filters and orders by, and its
      * document (event_codec.h): "[subject, chain, artifact]" and the
      * CDEvent, zstd-compressed with the dictionary dict_id once one is
      * trained (0: as is, as every row copied here). Sources and types are
      * stored once; a UUID context.id as 16 bytes (cw_event_key, sqlite.c). */
     "CREATE TABLE event_sources ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE"
     ");"
     "CREATE TABLE event_types ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE"
     ");"
     "CREATE TABLE event_dicts ("
     "  id INTEGER PRIMARY KEY,"
     "  dict BLOB NOT NULL,"                 /* empty: zstd without a dictionary */
     "  created_ms INTEGER NOT NULL"
     ");"
     "INSERT INTO event_sources (name) SELECT DISTINCT source FROM events ORDER BY 1;"
     "INSERT INTO event_types (name) SELECT DISTINCT type FROM events ORDER BY 1;"
     "CREATE TABLE events_compact ("
     "  id INTEGER PRIMARY KEY,"             /* arrival order, paging tie-break */
     "  time_ms INTEGER NOT NULL,"           /* context.timestamp */
     "  received_ms INTEGER NOT NULL,"
     "  source_id INTEGER NOT NULL,"         /* event_sources.id */
     "  event_key BLOB NOT NULL,"            /* context.id (event_codec.h) */
     "  type_id INTEGER NOT NULL,"           /* event_types.id */
     "  env_id INTEGER,"                     /* event_envs.id */
     "  link_id INTEGER,"                    /* event_links.id; NULL: no link key */
     "  cls INTEGER NOT NULL DEFAULT 0,"     /* interpreted class, 0 = none */
     "  dict_id INTEGER NOT NULL DEFAULT 0," /* event_dicts.id; 0: not compressed */
     "  doc BLOB NOT NULL,"
     "  UNIQUE (source_id, event_key)"
     ");"
     "INSERT INTO events_compact"
     " SELECT e.id, e.time_ms, e.received_ms, s.id, cw_event_key(e.event_id), t.id, e.env_id,"
     "  e.link_id, e.cls, 0,"
     "  CAST(json_array(e.subject_id, e.chain_id, e.artifact_id) || char(10) || e.body AS BLOB)"
     " FROM events e JOIN event_sources s ON s.name = e.source JOIN event_types t ON t.name = e.type"
     " ORDER BY e.id;"
     "DROP TABLE events;"
     "ALTER TABLE events_compact RENAME TO events;"
     /* the listing walks time (environments are filtered on the way) and
      * link keys */
     "CREATE INDEX events_by_time ON events (time_ms);"
     "CREATE INDEX events_by_link ON events (link_id, time_ms);"},
    {14, "scorecard snapshots",
     /* issue 15: a claim row per (day, scorecard) snapshotted, with the
      * day's check ids (store_scorecard_history.h), and per entity its
      * level and passed checks (a bit set over those ids) */
     "CREATE TABLE scorecard_snapshots ("
     "  day INTEGER NOT NULL,"               /* days since 1970-01-01, UTC */
     "  scorecard TEXT NOT NULL,"            /* the Scorecard's key */
     "  taken_at INTEGER NOT NULL,"          /* unix milliseconds */
     "  checks TEXT NOT NULL,"               /* JSON array of check ids */
     "  PRIMARY KEY (scorecard, day)"
     ") WITHOUT ROWID;"
     "CREATE TABLE scorecard_levels ("
     "  scorecard TEXT NOT NULL,"
     "  day INTEGER NOT NULL,"
     "  entity TEXT NOT NULL,"               /* entity key */
     "  level TEXT NOT NULL,"                /* '' = below the first level */
     "  passed TEXT NOT NULL,"               /* hexadecimal bit set */
     "  PRIMARY KEY (scorecard, day, entity)"
     ") WITHOUT ROWID;"},
    {15, "incident and action item notifications",
     /* issue 14: which incident openings and resolutions have been
      * notified (the claim: set once, by one instance, in the transaction
      * that queues the deliveries; those before this version count as
      * notified), and which other notifications (an action item overdue,
      * notify_once.key) have been */
     "ALTER TABLE incidents ADD COLUMN notified_open_ms INTEGER;"
     "ALTER TABLE incidents ADD COLUMN notified_resolved_ms INTEGER;"
     "UPDATE incidents SET notified_open_ms = 0, notified_resolved_ms = 0;"
     /* only the few not yet notified are in these */
     "CREATE INDEX incidents_notify_open ON incidents (id) WHERE notified_open_ms IS NULL;"
     "CREATE INDEX incidents_notify_resolved ON incidents (id)"
     " WHERE notified_resolved_ms IS NULL;"
     "CREATE TABLE notify_once ("
     "  key TEXT PRIMARY KEY,"
     "  taken_ms INTEGER NOT NULL"
     ") WITHOUT ROWID;"},
    {16, "heartbeat wake times",
     /* issue 14: the scheduler's index moves off the ping path. wake_ms is
      * when the scheduler next looks at a heartbeat, never later than its
      * due time (alert_after_ms): a ping that only pushes the due time
      * later leaves it, so it writes no index page; the scheduler, waking
      * early, sets it to the due time then (sql_heartbeats.c) */
     "ALTER TABLE hb ADD COLUMN wake_ms INTEGER;"
     "UPDATE hb SET wake_ms = alert_after_ms;"
     "DROP INDEX hb_due;"
     "CREATE INDEX hb_wake ON hb (wake_ms) WHERE wake_ms IS NOT NULL AND status <> 2;"},
};

const size_t cw__sqlite_nmigrations =
    sizeof cw__sqlite_migrations / sizeof cw__sqlite_migrations[0];

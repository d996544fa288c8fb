import GRDB

/// The store's schema, as named migrations applied once and in order.
///
/// Never edit a migration that has landed: add a new one. Replicated tables must keep the
/// columns ``TableSchema`` lists (a test checks they match).
enum Migrations {
    /// The number of migrations: the replicated schema's version, which sync frames carry so
    /// nodes of different schemas refuse each other's changes instead of misreading them.
    static let count = UInt64(migrator.migrations.count)

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: node store") { db in
            // Replicated tables. WITHOUT ROWID: every table has a natural composite key, and the
            // upsert path looks rows up by it.
            try db.execute(sql: """
                CREATE TABLE node (
                  id TEXT PRIMARY KEY NOT NULL,
                  hostname TEXT NOT NULL DEFAULT '',
                  api_url TEXT NOT NULL DEFAULT '',
                  version TEXT NOT NULL DEFAULT '',
                  os TEXT NOT NULL DEFAULT '',
                  arch TEXT NOT NULL DEFAULT '',
                  cpu_count INTEGER NOT NULL DEFAULT 0,
                  mem_total INTEGER NOT NULL DEFAULT 0,
                  disk_total INTEGER NOT NULL DEFAULT 0,
                  started_at INTEGER NOT NULL DEFAULT 0,
                  heartbeat_at INTEGER NOT NULL DEFAULT 0,
                  heartbeat_interval_ms INTEGER NOT NULL DEFAULT 10000,
                  state TEXT NOT NULL DEFAULT 'online',
                  cpu_percent REAL,
                  mem_used INTEGER,
                  disk_used INTEGER,
                  load1 REAL,
                  gpu_count INTEGER NOT NULL DEFAULT 0,
                  gpu_util REAL,
                  vram_total INTEGER,
                  vram_used INTEGER,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE model (
                  node_id TEXT NOT NULL,
                  source TEXT NOT NULL CHECK (source IN ('ollama', 'swapper')),
                  name TEXT NOT NULL,
                  family TEXT,
                  size_bytes INTEGER,
                  quantization TEXT,
                  parameter_size TEXT,
                  state TEXT NOT NULL CHECK (state IN ('available', 'loading', 'loaded')),
                  reachable INTEGER NOT NULL DEFAULT 1,
                  ram_bytes INTEGER,
                  vram_bytes INTEGER,
                  last_used INTEGER,
                  pid INTEGER,
                  port INTEGER,
                  state_since INTEGER,
                  error TEXT,
                  deleted INTEGER NOT NULL DEFAULT 0,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL,
                  PRIMARY KEY (node_id, source, name)
                ) WITHOUT ROWID;

                CREATE TABLE agent (
                  name TEXT PRIMARY KEY NOT NULL,
                  tier TEXT NOT NULL DEFAULT 'standard',
                  allowed_models TEXT NOT NULL DEFAULT '[]',
                  allow_cloud INTEGER NOT NULL DEFAULT 0,
                  prefer_nodes TEXT NOT NULL DEFAULT '[]',
                  stale_after_ms INTEGER NOT NULL DEFAULT 300000,
                  budget_daily_usd REAL,
                  budget_monthly_usd REAL,
                  deleted INTEGER NOT NULL DEFAULT 0,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE assignment (
                  agent TEXT NOT NULL,
                  node_id TEXT NOT NULL,
                  priority INTEGER NOT NULL DEFAULT 0,
                  deleted INTEGER NOT NULL DEFAULT 0,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL,
                  PRIMARY KEY (agent, node_id)
                ) WITHOUT ROWID;

                CREATE TABLE agent_presence (
                  agent TEXT NOT NULL,
                  node_id TEXT NOT NULL,
                  last_seen INTEGER NOT NULL,
                  requests INTEGER NOT NULL DEFAULT 0,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL,
                  PRIMARY KEY (agent, node_id)
                ) WITHOUT ROWID;

                CREATE TABLE metric_sample (
                  node_id TEXT NOT NULL,
                  metric TEXT NOT NULL,
                  ts INTEGER NOT NULL,
                  value REAL NOT NULL,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL,
                  PRIMARY KEY (node_id, metric, ts)
                ) WITHOUT ROWID;
                CREATE INDEX metric_sample_ts ON metric_sample(ts);

                CREATE TABLE metric_rollup (
                  node_id TEXT NOT NULL,
                  metric TEXT NOT NULL,
                  resolution INTEGER NOT NULL,
                  bucket INTEGER NOT NULL,
                  count INTEGER NOT NULL,
                  sum REAL NOT NULL,
                  min REAL NOT NULL,
                  max REAL NOT NULL,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL,
                  PRIMARY KEY (node_id, metric, resolution, bucket)
                ) WITHOUT ROWID;
                CREATE INDEX metric_rollup_bucket ON metric_rollup(resolution, bucket);

                CREATE TABLE usage (
                  node_id TEXT NOT NULL,
                  id TEXT NOT NULL,
                  ts INTEGER NOT NULL,
                  agent TEXT NOT NULL,
                  model TEXT NOT NULL,
                  route TEXT NOT NULL,
                  status INTEGER NOT NULL,
                  tokens_in INTEGER NOT NULL DEFAULT 0,
                  tokens_out INTEGER NOT NULL DEFAULT 0,
                  cost_usd REAL NOT NULL DEFAULT 0,
                  latency_ms REAL NOT NULL DEFAULT 0,
                  request_id TEXT NOT NULL DEFAULT '',
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL,
                  PRIMARY KEY (node_id, id)
                ) WITHOUT ROWID;
                CREATE INDEX usage_ts ON usage(ts);
                CREATE INDEX usage_agent_ts ON usage(agent, ts);
                """)

            // Replication bookkeeping (local to this node, never replicated).
            try db.execute(sql: """
                CREATE TABLE meta (
                  key TEXT PRIMARY KEY NOT NULL,
                  value TEXT NOT NULL
                ) WITHOUT ROWID;

                -- One row per change: the winning write of a row, in local arrival order.
                CREATE TABLE change_log (
                  seq INTEGER PRIMARY KEY,
                  origin TEXT NOT NULL,
                  origin_seq INTEGER NOT NULL,
                  hlc INTEGER NOT NULL,
                  tbl INTEGER NOT NULL,
                  pk BLOB NOT NULL,
                  vals BLOB NOT NULL
                );
                CREATE UNIQUE INDEX change_log_origin ON change_log(origin, origin_seq);
                CREATE INDEX change_log_row ON change_log(tbl, pk, seq);
                CREATE INDEX change_log_hlc ON change_log(hlc);

                -- The version vector: per origin, the highest change sequence held here, the
                -- floor below which this node's log is incomplete (compacted or bootstrapped),
                -- and when a change from that origin last arrived (local clock, ms).
                CREATE TABLE sync_vector (
                  origin TEXT PRIMARY KEY NOT NULL,
                  seq INTEGER NOT NULL DEFAULT 0,
                  floor INTEGER NOT NULL DEFAULT 0,
                  last_arrival INTEGER
                ) WITHOUT ROWID;

                -- Peers this node pulls from.
                CREATE TABLE peer (
                  url TEXT PRIMARY KEY NOT NULL,
                  source TEXT NOT NULL,
                  node_id TEXT,
                  added_at INTEGER NOT NULL,
                  last_ok INTEGER,
                  last_error TEXT,
                  last_error_at INTEGER,
                  lag INTEGER
                ) WITHOUT ROWID;

                -- What each peer told us it holds (from its pulls), for log compaction.
                CREATE TABLE peer_ack (
                  node_id TEXT NOT NULL,
                  origin TEXT NOT NULL,
                  seq INTEGER NOT NULL,
                  seen_at INTEGER NOT NULL,
                  PRIMARY KEY (node_id, origin)
                ) WITHOUT ROWID;

                -- Agent API keys, hashed; local only, never replicated.
                CREATE TABLE agent_key (
                  agent TEXT PRIMARY KEY NOT NULL,
                  key_sha256 TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2: agent rate limit") { db in
            // Requests per minute an agent may make through any one router; null: unlimited.
            try db.execute(sql: "ALTER TABLE agent ADD COLUMN rpm INTEGER")
        }
        migrator.registerMigration("v3: usage aggregated per minute") { db in
            // A usage row now sums the requests of one agent, model, route and status within a
            // minute: the ledger stays bounded however busy the router is.
            try db.execute(sql: "ALTER TABLE usage ADD COLUMN requests INTEGER NOT NULL DEFAULT 1")
        }
        migrator.registerMigration("v4: a ledger row per request, hourly rollups") { db in
            // The per-minute sums give way to one row per request (exact costs, tokens by kind,
            // time to first token) and hourly rollups that outlive them. The old rows and their
            // changes go: their payloads have the old shape, which no peer of this schema reads.
            try db.execute(sql: """
                DROP TABLE usage;
                DELETE FROM change_log WHERE tbl = 8;
                CREATE TABLE usage (
                  node_id TEXT NOT NULL,
                  id INTEGER NOT NULL,
                  ts INTEGER NOT NULL,
                  request_id TEXT NOT NULL,
                  agent TEXT NOT NULL,
                  model TEXT NOT NULL,
                  physical_model TEXT NOT NULL,
                  route TEXT NOT NULL,
                  provider TEXT,
                  served_by TEXT NOT NULL,
                  prompt_tokens INTEGER NOT NULL,
                  cached_tokens INTEGER NOT NULL,
                  cache_write_tokens INTEGER NOT NULL,
                  completion_tokens INTEGER NOT NULL,
                  reasoning_tokens INTEGER NOT NULL,
                  latency_ms REAL NOT NULL,
                  ttft_ms REAL,
                  cost_usd REAL NOT NULL,
                  saving_usd REAL NOT NULL,
                  cache_hit INTEGER NOT NULL,
                  status INTEGER NOT NULL,
                  estimated INTEGER NOT NULL,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL,
                  PRIMARY KEY (node_id, id)
                ) WITHOUT ROWID;
                CREATE INDEX usage_ts ON usage(ts);
                CREATE INDEX usage_agent_ts ON usage(agent, ts);

                CREATE TABLE usage_rollup (
                  node_id TEXT NOT NULL,
                  hour INTEGER NOT NULL,
                  agent TEXT NOT NULL,
                  model TEXT NOT NULL,
                  route TEXT NOT NULL,
                  requests INTEGER NOT NULL,
                  errors INTEGER NOT NULL,
                  prompt_tokens INTEGER NOT NULL,
                  cached_tokens INTEGER NOT NULL,
                  completion_tokens INTEGER NOT NULL,
                  reasoning_tokens INTEGER NOT NULL,
                  cost_usd REAL NOT NULL,
                  saving_usd REAL NOT NULL,
                  latency_ms REAL NOT NULL,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL,
                  PRIMARY KEY (node_id, hour, agent, model, route)
                ) WITHOUT ROWID;
                CREATE INDEX usage_rollup_hour ON usage_rollup(hour);
                """)
        }
        migrator.registerMigration("v5: agent tokens per minute, budget action") { db in
            // Tokens per minute an agent may use across the mesh (null: unlimited), and what its
            // budgets do once spent (null: downgrade).
            try db.execute(sql: "ALTER TABLE agent ADD COLUMN tpm INTEGER")
            try db.execute(sql: "ALTER TABLE agent ADD COLUMN on_exceed TEXT")
            // Budgets sum the month's rows that cost something: the mesh's own (free) rows, most
            // of a busy ledger, stay out of that scan.
            try db.execute(sql: "CREATE INDEX usage_costly_ts ON usage(ts) WHERE cost_usd > 0")
        }
        migrator.registerMigration("v6: agent call policy") { db in
            // Priority, min_interval and prompt_cache, as one JSON object (see CallPolicy): the
            // policies added after these go in it too, without another schema.
            try db.execute(sql: "ALTER TABLE agent ADD COLUMN call_policy TEXT")
        }
        migrator.registerMigration("v7: model load") { db in
            // How busy each node's models are, for peers to route by expected wait. A row per
            // model that has served a request; rewritten in place, so the log compacts it.
            try db.execute(sql: """
                CREATE TABLE model_load (
                  node_id TEXT NOT NULL,
                  source TEXT NOT NULL CHECK (source IN ('ollama', 'swapper')),
                  name TEXT NOT NULL,
                  slots INTEGER NOT NULL,
                  inflight INTEGER NOT NULL,
                  queued INTEGER NOT NULL,
                  service_ms REAL,
                  at INTEGER NOT NULL,
                  origin TEXT NOT NULL,
                  hlc INTEGER NOT NULL,
                  PRIMARY KEY (node_id, source, name)
                ) WITHOUT ROWID
                """)
        }
        return migrator
    }
}

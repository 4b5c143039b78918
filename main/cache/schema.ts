/**
 * Schema of the offline cache database and its forward migrations.
 *
 * The version lives in PRAGMA user_version. MIGRATIONS[i] takes a database at version i to i+1;
 * each runs in its own transaction together with the user_version bump, so a crash mid-upgrade
 * leaves the file at the previous version and the next start simply retries. Never edit a
 * released migration: append a new one.
 *
 * Tables (current version):
 *   pools    one row per saved connection that has (or had) cached data or the do-not-cache flag:
 *            pool metadata for cold start and failover, the last event token and the generation of
 *            its objects that is currently visible.
 *   objects  one row per XAPI object: (connection_id, gen, cls, ref) → uuid, name_label, at, record
 *            (normalised record as JSON), extra (for the classes of serialize.ts SPLIT_FIELDS: those
 *            fields as a JSON object, left out of `record`; the whole record is the two spliced). `gen` exists so a full resync can be written in several
 *            small transactions (never blocking the app for long) and still become visible atomically:
 *            rows of a new generation are invisible until the pools row switches to it.
 *   history  the action log (issue 5): who ran what on which object, when, and how it ended.
 *   perf_*   performance history (issue 16, main/cache/perf.ts): one row per data source of an
 *            object (perf_series), its values in fixed blocks of 360 slots per resolution
 *            (perf_block: 60 s → 6 h, 1 h → 15 days, 1 day → 360 days), and per host the end of the
 *            last /rrd_updates answer stored (perf_cursor) so a restart resumes without gap.
 *
 * No column ever holds a password, a session id or a secret (see serialize.ts for the scrubbing).
 */
import type Database from 'better-sqlite3'

export type Migration = (db: Database.Database) => void

export const MIGRATIONS: readonly Migration[] = [
  // 0 → 1: inventory
  (db) => {
    db.exec(`
      CREATE TABLE pools (
        connection_id    TEXT PRIMARY KEY,
        pool_uuid        TEXT,
        name             TEXT,
        member_addresses TEXT NOT NULL DEFAULT '[]',
        master_address   TEXT,
        xapi_version     TEXT,
        transport        TEXT,
        last_sync_at     TEXT,
        token            TEXT,
        seq              INTEGER NOT NULL DEFAULT 0,
        gen              INTEGER NOT NULL DEFAULT 0,
        do_not_cache     INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE objects (
        connection_id TEXT NOT NULL,
        gen           INTEGER NOT NULL,
        cls           TEXT NOT NULL,
        ref           TEXT NOT NULL,
        uuid          TEXT,
        name_label    TEXT,
        record        TEXT NOT NULL,
        PRIMARY KEY (connection_id, gen, cls, ref)
      );
      CREATE INDEX objects_uuid ON objects(uuid);
    `)
  },
  // 1 → 2: action history (issue 5) and name search
  (db) => {
    db.exec(`
      CREATE TABLE history (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        at            TEXT NOT NULL,
        connection_id TEXT NOT NULL,
        cls           TEXT NOT NULL,
        ref           TEXT NOT NULL,
        obj_uuid      TEXT,
        object_name   TEXT NOT NULL,
        action        TEXT NOT NULL,
        params        TEXT NOT NULL DEFAULT '{}',
        ok            INTEGER NOT NULL,
        error_code    TEXT,
        error_message TEXT,
        duration_ms   INTEGER NOT NULL DEFAULT 0,
        user          TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX history_object ON history(connection_id, ref, id);
      CREATE INDEX history_uuid ON history(obj_uuid, id);
      CREATE INDEX objects_name ON objects(name_label COLLATE NOCASE);
    `)
  },
  // 2 → 3: a sortable time per object, so messages can be pruned by age/count without parsing JSON
  (db) => {
    db.exec(`
      ALTER TABLE objects ADD COLUMN at TEXT;
      UPDATE objects SET at = json_extract(record, '$.timestamp') WHERE cls = 'message';
      CREATE INDEX objects_at ON objects(connection_id, gen, cls, at) WHERE at IS NOT NULL;
    `)
  },
  // 3 → 4: performance history (issue 16)
  (db) => {
    db.exec(`
      CREATE TABLE perf_series (
        id            INTEGER PRIMARY KEY,
        connection_id TEXT NOT NULL,
        kind          TEXT NOT NULL,
        uuid          TEXT NOT NULL,
        ds            TEXT NOT NULL,
        UNIQUE (uuid, ds)
      );
      CREATE INDEX perf_series_conn ON perf_series(connection_id);
      CREATE TABLE perf_block (
        series INTEGER NOT NULL,
        res    INTEGER NOT NULL,
        t0     INTEGER NOT NULL,
        data   BLOB NOT NULL,
        PRIMARY KEY (series, res, t0)
      ) WITHOUT ROWID;
      CREATE INDEX perf_block_age ON perf_block(res, t0);
      CREATE TABLE perf_cursor (
        host_uuid     TEXT PRIMARY KEY,
        connection_id TEXT NOT NULL,
        end_t         INTEGER NOT NULL
      );
    `)
  },
  // 4 → 5: a record's fields a window's stream of an offline pool leaves out are kept apart (serialize.ts
  // SPLIT_FIELDS), so a page is the stored text as is; rows written before keep their whole record (extra NULL)
  (db) => {
    db.exec('ALTER TABLE objects ADD COLUMN extra TEXT')
  },
]

export const SCHEMA_VERSION = MIGRATIONS.length

export class SchemaTooNewError extends Error {
  constructor(readonly found: number) {
    super(`the cache database has schema version ${found}, newer than this XenPilot understands (${SCHEMA_VERSION})`)
    this.name = 'SchemaTooNewError'
  }
}

/** Brings the database to `target` (default: current). Returns the version found before. */
export function migrate(db: Database.Database, target: number = SCHEMA_VERSION): number {
  const found = db.pragma('user_version', { simple: true })
  if (typeof found !== 'number') throw new Error('PRAGMA user_version returned no number')
  if (found > SCHEMA_VERSION) throw new SchemaTooNewError(found)
  for (let v = found; v < target; v++) {
    const step = MIGRATIONS[v]
    if (!step) throw new Error(`no migration from schema version ${v}`)
    if (v === 0) {
      // Must precede the first CREATE TABLE (on an existing file it would need a full VACUUM) and
      // cannot run inside a transaction. Incremental mode lets the cache hand freed pages back to
      // the OS in small bounded steps (see SqliteInventoryCache.compact).
      db.pragma('auto_vacuum = INCREMENTAL')
    }
    db.transaction(() => {
      step(db)
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
  return found
}

/**
 * The cache in trouble: damaged files are set aside (kept, dated) and rebuilt; a full disk or a
 * folder that cannot be written leaves the app running from memory with a visible problem; nothing
 * else in the data folder is ever touched; old files are migrated forward.
 *
 * How "disk full" and "read-only" are produced although tests run as root (root ignores chmod):
 *  - disk full: the cache's maxSizeBytes cap (SQLite max_page_count) makes SQLite fail exactly as
 *    on a full disk (SQLITE_FULL); where the test may mount (CAP_SYS_ADMIN), additionally a real
 *    2 MiB tmpfs filled to ENOSPC;
 *  - cannot write the folder: a data folder whose parent is a regular file (ENOTDIR, which no
 *    privilege overrides); where the test may mount, additionally a real tmpfs remounted read-only
 *    (EROFS) under a running cache.
 */
import Database from 'better-sqlite3'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openInventoryCache, SCHEMA_VERSION, type CacheProblem, type SqliteInventoryCache } from '../../../main/cache'
import { MIGRATIONS, migrate } from '../../../main/cache/schema'
import { batch, namesOf, peek, reset, tempDir, vm } from './helpers'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function setup(): { dir: string; open: (opts?: { maxSizeBytes?: number; mode?: 'inline' | 'worker'; dataDir?: string }) => SqliteInventoryCache } {
  const t = tempDir()
  const opened: SqliteInventoryCache[] = []
  cleanups.push(async () => {
    for (const c of opened) await c.close()
    t.remove()
  })
  return {
    dir: t.dir,
    open: (opts = {}) => {
      const c = openInventoryCache({ dataDir: opts.dataDir ?? t.dir, ...opts })
      opened.push(c)
      return c
    },
  }
}

/** files the pools layer and the rest of the app keep next to the cache */
function seedOtherFiles(dir: string): Map<string, { bytes: string; mtimeMs: number }> {
  writeFileSync(join(dir, 'connections.json'), JSON.stringify([{ id: 'c1', address: '10.0.0.1', username: 'root' }]))
  writeFileSync(join(dir, 'settings.json'), '{"theme":"dark"}')
  mkdirSync(join(dir, 'logs'))
  writeFileSync(join(dir, 'logs', 'main.log'), 'log line\n')
  const past = new Date(Date.now() - 86_400_000)
  const out = new Map<string, { bytes: string; mtimeMs: number }>()
  for (const f of ['connections.json', 'settings.json', join('logs', 'main.log')]) {
    utimesSync(join(dir, f), past, past)
    out.set(f, { bytes: readFileSync(join(dir, f), 'latin1'), mtimeMs: statSync(join(dir, f)).mtimeMs })
  }
  return out
}

function expectUntouched(dir: string, before: Map<string, { bytes: string; mtimeMs: number }>): void {
  for (const [f, was] of before) {
    expect(readFileSync(join(dir, f), 'latin1'), f).toBe(was.bytes)
    expect(statSync(join(dir, f)).mtimeMs, f).toBe(was.mtimeMs)
  }
}

const CORRUPT_NAME = /^cache\.corrupt-\d{8}-\d{6}(-\d+)?\.sqlite$/

describe('a damaged cache file', () => {
  it('is set aside under a dated name (kept byte for byte), a fresh cache starts, and the user is told', async () => {
    const { dir, open } = setup()
    const others = seedOtherFiles(dir)
    const garbage = Buffer.from('this is not a database at all '.repeat(200))
    writeFileSync(join(dir, 'cache.sqlite'), garbage)
    const c = open()
    const status = c.status()
    expect(status.state).toBe('ok')
    expect(status.problems).toHaveLength(1)
    const problem = status.problems[0]
    expect(problem?.kind).toBe('corrupt-recovered')
    expect(problem?.message).toMatch(/damaged.*set aside.*kept as/)
    const kept = readdirSync(dir).filter((f) => CORRUPT_NAME.test(f))
    expect(kept).toHaveLength(1)
    expect(problem?.movedTo).toBe(join(dir, kept[0] ?? ''))
    expect(readFileSync(join(dir, kept[0] ?? '')).equals(garbage)).toBe(true)
    // the new cache works
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'fresh')]))
    await c.close()
    expect(namesOf(open().load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'fresh' })
    expectUntouched(dir, others)
    expect(readdirSync(dir).sort()).toEqual(['cache.sqlite', 'cache.sqlite-shm', 'cache.sqlite-wal', 'connections.json', kept[0], 'logs', 'settings.json'].sort())
  })

  it('with a truncated header is recovered the same way', async () => {
    const { dir, open } = setup()
    const others = seedOtherFiles(dir)
    const a = open()
    a.write(reset('c1', 1, [vm('OpaqueRef:1', 'old')]))
    await a.close()
    truncateSync(join(dir, 'cache.sqlite'), 60)
    const c = open()
    expect(c.status().problems.map((p) => p.kind)).toEqual(['corrupt-recovered'])
    expect(c.load('c1')).toBeUndefined()
    expect(readdirSync(dir).filter((f) => CORRUPT_NAME.test(f))).toHaveLength(1)
    expectUntouched(dir, others)
  })

  it('with bad pages behind a good header (found at open or only when read) is recovered', async () => {
    const { dir, open } = setup()
    const others = seedOtherFiles(dir)
    const a = open({ mode: 'inline' })
    const graph = Array.from({ length: 3000 }, (_, i) => vm(`OpaqueRef:${i}`, `vm-${i}`, { pad: 'p'.repeat(500) }))
    a.write(reset('c1', 1, graph))
    await a.close()
    // keep page 1 (header + schema root), scribble over the table pages
    const path = join(dir, 'cache.sqlite')
    const bytes = readFileSync(path)
    for (let off = 4096 * 2; off < bytes.length; off += 97) bytes[off] = (bytes[off] ?? 0) ^ 0x5a
    writeFileSync(path, bytes)
    const c = open({ mode: 'inline' })
    expect(c.load('c1')).toBeUndefined() // cannot be read: no crash, no partial graph
    await waitFor(() => c.status().problems.length > 0 && c.status().state === 'ok')
    expect(c.status().problems.map((p) => p.kind)).toEqual(['corrupt-recovered'])
    expect(readdirSync(dir).filter((f) => CORRUPT_NAME.test(f))).toHaveLength(1)
    // writing goes on in the new file
    c.write(reset('c1', 2, [vm('OpaqueRef:new', 'after recovery')]))
    await c.close()
    expect(namesOf(open().load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:new': 'after recovery' })
    expectUntouched(dir, others)
  })
})

describe('a cache file found damaged while running', () => {
  it.each(['inline', 'worker'] as const)('is set aside and rebuilt from the graphs held in memory (%s writer)', async (mode) => {
    const { dir, open } = setup()
    const others = seedOtherFiles(dir)
    const a = open({ mode: 'inline' })
    a.write(reset('c1', 1, Array.from({ length: 4000 }, (_, i) => vm(`OpaqueRef:${i}`, `vm-${i}`, { pad: 'p'.repeat(400) }))))
    await a.close()
    // the pools table and schema live in the first pages: damage only the second half of the file
    const path = join(dir, 'cache.sqlite')
    const bytes = readFileSync(path)
    for (let off = Math.floor(bytes.length / 2); off < bytes.length; off += 61) bytes[off] = (bytes[off] ?? 0) ^ 0xa5
    writeFileSync(path, bytes)
    const c = open({ mode })
    const problems: CacheProblem[] = []
    c.onProblem((p) => problems.push(p))
    expect(c.status()).toMatchObject({ state: 'ok', problems: [] }) // opens: the damage is not visible yet
    c.write(reset('c2', 1, [vm('OpaqueRef:kept', 'held in memory')]))
    expect(c.load('c1')).toBeUndefined() // reading hits the damage: no crash, no partial graph
    await waitFor(() => problems.length > 0 && c.status().state === 'ok')
    expect(problems.map((p) => p.kind)).toEqual(['corrupt-recovered'])
    expect(readdirSync(dir).filter((f) => CORRUPT_NAME.test(f))).toHaveLength(1)
    await c.close()
    const d = open({ mode })
    expect(namesOf(d.load('c2')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:kept': 'held in memory' })
    expectUntouched(dir, others)
  })
})

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('a cache that cannot be written', () => {
  it('in a folder that cannot exist (parent is a file): runs from memory, says so, never throws', async () => {
    const { dir, open } = setup()
    writeFileSync(join(dir, 'not-a-folder'), 'x')
    const c = open({ dataDir: join(dir, 'not-a-folder', 'data') })
    expect(c.status().state).toBe('memory-only')
    expect(c.status().problems[0]).toMatchObject({ kind: 'unavailable' })
    expect(c.status().problems[0]?.message).toMatch(/cannot be opened.*keeps working from memory/)
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'in memory')]))
    c.write(batch('c1', 2, [vm('OpaqueRef:2', 'also')]))
    expect(namesOf(c.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'in memory', 'VM OpaqueRef:2': 'also' })
    c.forget('c1')
    c.clearAll()
    c.setDoNotCache('c2', true)
    expect(c.history.append({ at: new Date().toISOString(), connectionId: 'c1', cls: 'VM', ref: 'r', objectName: 'n', action: 'start', params: {}, ok: true, durationMs: 1, user: 'u' })).toBeUndefined()
    expect(c.history.list()).toEqual([])
    await c.flush()
    expect(readFileSync(join(dir, 'not-a-folder'), 'utf8')).toBe('x')
  })

  it.each(['worker', 'inline'] as const)('when the disk fills up (%s writer): memory-only with a disk-full problem, the file stays at its last complete batch', async (mode) => {
    const { dir, open } = setup()
    const c = open({ mode, maxSizeBytes: 1_500_000 })
    const problems: CacheProblem[] = []
    c.onProblem((p) => problems.push(p))
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'small')]))
    await c.flush()
    expect(c.status().state).toBe('ok')
    // far more than 1.5 MB
    c.write(reset('c1', 2, Array.from({ length: 2000 }, (_, i) => vm(`OpaqueRef:${i}`, `vm-${i}`, { pad: 'z'.repeat(2000) }))))
    await c.flush()
    expect(c.status().state).toBe('memory-only')
    expect(problems.map((p) => p.kind)).toEqual(['disk-full'])
    expect(problems[0]?.message).toMatch(/full.*keeps working from memory/)
    // the app keeps its graph
    expect(c.load('c1')?.diff.upserts).toHaveLength(2000)
    c.write(batch('c1', 3, [vm('OpaqueRef:x', 'more')]))
    expect(c.load('c1')?.diff.upserts).toHaveLength(2001)
    await c.close()
    // on disk: the last batch that fit, complete
    const d = open({ mode })
    expect(namesOf(d.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'small' })
    expect(d.load('c1')?.diff.token).toBe('tok-1')
    expect(peek(dir, (db) => db.pragma('integrity_check', { simple: true }))).toBe('ok')
  })

  it('retry() once the problem is gone writes what is held in memory; while it persists, fails visibly again', async () => {
    const { dir, open } = setup()
    const blocker = join(dir, 'blocker')
    writeFileSync(blocker, 'x')
    const c = open({ dataDir: join(blocker, 'data') })
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'kept in memory')]))
    c.write(batch('c1', 2, [vm('OpaqueRef:2', 'and this')]))
    expect(c.retry()).toBe('memory-only')
    expect(c.status().problems.map((p) => p.kind)).toEqual(['unavailable', 'unavailable'])
    rmSync(blocker)
    expect(c.retry()).toBe('ok')
    await c.close()
    const d = open({ dataDir: join(blocker, 'data') })
    expect(namesOf(d.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'kept in memory', 'VM OpaqueRef:2': 'and this' })
    expect(d.load('c1')?.diff.token).toBe('tok-2')
  })
})

/** real file-system failures, where this test may mount file systems */
function canMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  const t = tempDir('xp-mount-probe-')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', t.dir], { stdio: 'ignore' })
    execFileSync('umount', [t.dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    t.remove()
  }
}
const mountable = canMount()
if (!mountable) console.log('[cache recovery] skipping the real tmpfs ENOSPC/EROFS tests: this environment cannot mount (needs root with CAP_SYS_ADMIN); the SQLite-level equivalents above still run')

describe.skipIf(!mountable)('real file-system failures (tmpfs)', () => {
  function mounted(size: string): string {
    const t = tempDir('xp-tmpfs-')
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', t.dir])
    cleanups.push(() => {
      execFileSync('umount', ['-l', t.dir])
      t.remove()
    })
    return t.dir
  }

  it('ENOSPC: a really full disk', async () => {
    const dir = mounted('2m')
    const c = openInventoryCache({ dataDir: dir })
    cleanups.push(() => c.close())
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'small')]))
    await c.flush()
    c.write(reset('c1', 2, Array.from({ length: 3000 }, (_, i) => vm(`OpaqueRef:${i}`, `vm-${i}`, { pad: 'z'.repeat(2000) }))))
    await c.flush()
    expect(c.status()).toMatchObject({ state: 'memory-only', problems: [{ kind: 'disk-full' }] })
    expect(c.load('c1')?.diff.upserts).toHaveLength(3000)
  })

  // Linux refuses to remount a file system read-only while a file on it is open for writing, so the
  // read-only case is a start on a folder that has become read-only since the last run.
  it('EROFS: starting on a read-only folder that holds a cache', async () => {
    const dir = mounted('8m')
    const a = openInventoryCache({ dataDir: dir, mode: 'inline' })
    a.write(reset('c1', 1, [vm('OpaqueRef:1', 'before')]))
    await a.close()
    const before = readFileSync(join(dir, 'cache.sqlite'))
    execFileSync('mount', ['-o', 'remount,ro', dir])
    cleanups.push(() => {
      execFileSync('mount', ['-o', 'remount,rw', dir])
    })
    const c = openInventoryCache({ dataDir: dir })
    cleanups.push(() => c.close())
    expect(c.status().state).toBe('memory-only')
    expect(['read-only', 'unavailable']).toContain(c.status().problems[0]?.kind)
    c.write(reset('c1', 2, [vm('OpaqueRef:2', 'live')]))
    expect(namesOf(c.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:2': 'live' })
    await c.flush()
    expect(readFileSync(join(dir, 'cache.sqlite')).equals(before)).toBe(true)
  })
})

describe('schema versions', () => {
  it('migrates a version-1 file forward, keeping its inventory', async () => {
    const { dir, open } = setup()
    mkdirSync(dir, { recursive: true })
    const path = join(dir, 'cache.sqlite')
    writeFileSync(path, '')
    const db = new Database(path)
    migrate(db, 1)
    expect(db.pragma('user_version', { simple: true })).toBe(1)
    db.prepare("INSERT INTO pools (connection_id, name, member_addresses, token, seq, gen, last_sync_at) VALUES ('c1', 'Old pool', '[\"10.0.0.1\"]', 'tk', 5, 1, '2026-01-01T00:00:00.000Z')").run()
    const ins = db.prepare('INSERT INTO objects (connection_id, gen, cls, ref, uuid, name_label, record) VALUES (?, 1, ?, ?, ?, ?, ?)')
    ins.run('c1', 'VM', 'OpaqueRef:1', 'u1', 'legacy vm', JSON.stringify({ uuid: 'u1', name_label: 'legacy vm' }))
    ins.run('c1', 'message', 'OpaqueRef:m', 'um', null, JSON.stringify({ uuid: 'um', name: 'HA', timestamp: new Date().toISOString() }))
    db.close()

    const c = open()
    expect(c.status()).toMatchObject({ state: 'ok', problems: [] })
    expect(peek(dir, (p) => p.pragma('user_version', { simple: true }))).toBe(SCHEMA_VERSION)
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length)
    const l = c.load('c1')
    expect(l?.meta).toMatchObject({ poolName: 'Old pool', memberAddresses: ['10.0.0.1'], token: 'tk' })
    expect(l?.diff.seq).toBe(5)
    expect(namesOf(l?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'legacy vm', 'message OpaqueRef:m': undefined })
    // v2 added history and name search, v3 the message time (backfilled)
    expect(c.searchByName('legacy')).toHaveLength(1)
    expect(c.history.append({ at: new Date().toISOString(), connectionId: 'c1', cls: 'VM', ref: 'OpaqueRef:1', objectName: 'legacy vm', action: 'start', params: {}, ok: true, durationMs: 5, user: 'root' })?.id).toBe(1)
    expect(peek(dir, (p) => p.prepare("SELECT at FROM objects WHERE cls = 'message'").pluck().get())).toEqual(expect.stringMatching(/^\d{4}-/))
  })

  it('leaves a file from a newer XenPilot untouched and works from memory', async () => {
    const { dir, open } = setup()
    const path = join(dir, 'cache.sqlite')
    const db = new Database(path)
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`)
    db.exec('CREATE TABLE future (x)')
    db.close()
    const before = readFileSync(path)
    const c = open()
    expect(c.status()).toMatchObject({ state: 'memory-only', problems: [{ kind: 'schema-too-new' }] })
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(existsSync(path)).toBe(true)
    expect(readdirSync(dir).filter((f) => CORRUPT_NAME.test(f))).toEqual([])
  })
})

describe('the writer thread', () => {
  it('falls back to writing on the main thread when the worker cannot start (e.g. missing from a build)', async () => {
    const t = tempDir()
    const c = openInventoryCache({ dataDir: t.dir, workerUrl: new URL('file:///nonexistent/xenpilot-cache-worker.js') })
    cleanups.push(async () => {
      await c.close()
      t.remove()
    })
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'written anyway')]))
    c.write(batch('c1', 2, [vm('OpaqueRef:2', 'and this')]))
    await waitFor(() => c.status().mode === 'inline')
    await c.close()
    const d = openInventoryCache({ dataDir: t.dir, mode: 'inline' })
    cleanups.push(() => d.close())
    expect(d.status()).toMatchObject({ state: 'ok', problems: [] })
    expect(namesOf(d.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'written anyway', 'VM OpaqueRef:2': 'and this' })
  })
})

/**
 * The offline cache on a real SQLite file, in both writer modes: what goes in comes back after a
 * restart, batches are atomic, privacy and size rules hold.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openInventoryCache, SCHEMA_VERSION, type SqliteInventoryCache } from '../../../main/cache'
import { poolGraph } from './fixtures'
import { batch, fileBytes, namesOf, peek, reset, tempDir, vm } from './helpers'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe.each(['worker', 'inline'] as const)('offline cache (%s writer)', (mode) => {
  function setup(opts: { messageMaxPerPool?: number; messageMaxAgeDays?: number } = {}): { dir: string; open: () => SqliteInventoryCache } {
    const t = tempDir()
    const opened: SqliteInventoryCache[] = []
    cleanups.push(async () => {
      for (const c of opened) await c.close()
      t.remove()
    })
    return {
      dir: t.dir,
      open: () => {
        const c = openInventoryCache({ dataDir: t.dir, mode, prune: opts })
        opened.push(c)
        return c
      },
    }
  }

  it('leaves out a record it cannot store (12,000 levels deep), says so once, and keeps everything else', async () => {
    const { open } = setup()
    let deep: Record<string, unknown> = { leaf: 'x' }
    for (let i = 0; i < 12_000; i++) deep = { k: deep }
    const a = open()
    const problems: string[] = []
    a.onProblem((p) => problems.push(`${p.kind}: ${p.message}`))
    a.write(reset('c1', 1, [vm('OpaqueRef:1', 'web'), vm('OpaqueRef:d', 'deep', { other_config: { deep } }), vm('OpaqueRef:2', 'db')]), { memberAddresses: [] })
    await a.flush()
    // the same object changed again: an incremental batch, the older row (none) removed, not said twice
    a.write(batch('c1', 2, [vm('OpaqueRef:d', 'deeper', { other_config: { deep } }), vm('OpaqueRef:3', 'cache')]))
    await a.close()
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^record-skipped: The offline cache left out the VM "deep" \(OpaqueRef:d\) of c1: it cannot be stored .*nested too deeply/)
    const b = open()
    expect(namesOf(b.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'web', 'VM OpaqueRef:2': 'db', 'VM OpaqueRef:3': 'cache' })
  })

  it('gives back the last-known graph and metadata after a restart', async () => {
    const { open } = setup()
    const a = open()
    a.write(reset('c1', 1, [vm('OpaqueRef:1', 'web'), vm('OpaqueRef:2', 'db'), { cls: 'host', ref: 'OpaqueRef:h', record: { uuid: 'hu', name_label: 'host1' } }]), {
      poolUuid: 'pool-uuid',
      poolName: 'Production',
      memberAddresses: ['10.0.0.1', '10.0.0.2'],
      masterAddress: '10.0.0.1',
      xapiVersion: '2.21',
      transport: 'json-rpc',
    })
    a.write(batch('c1', 2, [vm('OpaqueRef:3', 'cache'), vm('OpaqueRef:1', 'web-renamed')], [{ cls: 'VM', ref: 'OpaqueRef:2' }], 'tok-final'))
    a.write(reset('c2', 7, [vm('OpaqueRef:9', 'other pool')]))
    await a.close()

    const b = open()
    expect(b.status()).toMatchObject({ state: 'ok', problems: [] })
    const c1 = b.load('c1')
    expect(c1).toBeDefined()
    expect(c1?.diff).toMatchObject({ connectionId: 'c1', reset: true, seq: 2, token: 'tok-final', removes: [] })
    expect(namesOf(c1?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'web-renamed', 'VM OpaqueRef:3': 'cache', 'host OpaqueRef:h': 'host1' })
    expect(c1?.meta).toMatchObject({ poolUuid: 'pool-uuid', poolName: 'Production', memberAddresses: ['10.0.0.1', '10.0.0.2'], masterAddress: '10.0.0.1', xapiVersion: '2.21', transport: 'json-rpc', token: 'tok-final' })
    expect(Date.parse(c1?.meta.lastSyncAt ?? '')).toBeGreaterThan(Date.now() - 60_000)
    expect(namesOf(b.load('c2')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:9': 'other pool' })
    expect(b.load('never-seen')).toBeUndefined()
    expect(b.cachedConnections().map((c) => c.connectionId).sort()).toEqual(['c1', 'c2'])
    // offline search works on the file
    expect(b.searchByName('WEB')).toEqual([{ connectionId: 'c1', cls: 'VM', ref: 'OpaqueRef:1', uuid: 'uuid-OpaqueRef:1', name: 'web-renamed' }])
    expect(b.findByUuid('hu')).toEqual([{ connectionId: 'c1', cls: 'host', ref: 'OpaqueRef:h', name: 'host1' }])
  })

  it('creates a WAL database with mode 0600 (and 0600 WAL/SHM files) at the current schema version', async () => {
    const { dir, open } = setup()
    const c = open()
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'x')]))
    await c.flush()
    for (const f of ['cache.sqlite', 'cache.sqlite-wal', 'cache.sqlite-shm']) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600)
    expect(peek(dir, (db) => [db.pragma('journal_mode', { simple: true }), db.pragma('user_version', { simple: true }), db.pragma('auto_vacuum', { simple: true })])).toEqual(['wal', SCHEMA_VERSION, 2])
  })

  it('coalesces an object changed many times while a write is pending into its last state', async () => {
    const { open } = setup()
    const c = open()
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'v0')]))
    for (let i = 1; i <= 200; i++) c.write(batch('c1', 1 + i, [vm('OpaqueRef:1', `v${i}`)]))
    c.write(batch('c1', 202, [vm('OpaqueRef:gone', 'temp')]))
    c.write(batch('c1', 203, [], [{ cls: 'VM', ref: 'OpaqueRef:gone' }]))
    await c.close()
    const d = open().load('c1')
    expect(namesOf(d?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'v200' })
    expect(d?.diff.seq).toBe(203)
  })

  it('makes a full resync visible at once: a reader sees the old graph or the new one, never a mix', async () => {
    const { dir, open } = setup()
    const c = open()
    const oldGraph = poolGraph({ poolIndex: 1, hosts: 2, vms: 20, vmBytes: 2000 })
    c.write(reset('c1', 1, oldGraph, 'old'))
    await c.flush()
    const newGraph = poolGraph({ poolIndex: 2, hosts: 4, vms: 1500, vmBytes: 3000 })
    c.write(reset('c1', 2, newGraph, 'new'))
    const seen = new Set<string>()
    let sawHiddenChunks = false
    let done = false
    const flushed = c.flush().then(() => {
      done = true
    })
    // Poll from a second connection while the writer works through its chunks.
    for (let i = 0; i < 10_000 && !done; i++) {
      const state = peek(dir, (db) =>
        db
          .prepare<[], { token: string; n: number; all: number }>(
            `SELECT p.token AS token, (SELECT count(*) FROM objects o WHERE o.connection_id = p.connection_id AND o.gen = p.gen) AS n,
                    (SELECT count(*) FROM objects o WHERE o.connection_id = p.connection_id) AS "all" FROM pools p WHERE p.connection_id = 'c1'`,
          )
          .get(),
      )
      if (state) seen.add(`${state.token}:${state.n}`)
      // part of the new graph already in the file, still invisible
      if (state && state.token === 'old' && state.all > oldGraph.length && state.all < oldGraph.length + newGraph.length) sawHiddenChunks = true
      await new Promise((r) => setTimeout(r, 5))
    }
    await flushed
    expect(sawHiddenChunks, 'the poll should catch the reset between two of its chunks').toBe(true)
    expect([...seen].every((s) => s === `old:${oldGraph.length}` || s === `new:${newGraph.length}`), [...seen].join(' ')).toBe(true)
    expect(seen.has(`new:${newGraph.length}`) || peek(dir, (db) => db.prepare("SELECT token FROM pools WHERE connection_id='c1'").pluck().get()) === 'new').toBe(true)
    await c.close()
    const d = open().load('c1')
    expect(d?.diff.upserts.length).toBe(newGraph.length)
    expect(d?.diff.token).toBe('new')
    // the old generation is collected: no row outside the visible generation remains
    expect(peek(dir, (db) => db.prepare('SELECT count(*) FROM objects o JOIN pools p USING (connection_id) WHERE o.gen <> p.gen').pluck().get())).toBe(0)
  })

  it('applies changes that arrive while a large reset is still being written and indexed', async () => {
    const { open } = setup()
    const c = open()
    const graph = Array.from({ length: 4000 }, (_, i) => vm(`OpaqueRef:${i}`, `vm-${i}`, { pad: 'q'.repeat(300) }))
    c.write(reset('c1', 1, graph))
    const expected: Record<string, unknown> = {}
    for (const u of graph) expected[`VM ${u.ref}`] = u.record.name_label
    for (let round = 0; round < 5; round++) {
      await new Promise((r) => setTimeout(r, 3)) // let some chunks go out
      const renamed = vm(`OpaqueRef:${round * 7}`, `renamed-${round}`)
      c.write(batch('c1', 2 + round, [renamed, vm(`OpaqueRef:new-${round}`, `new-${round}`)], [{ cls: 'VM', ref: `OpaqueRef:${round * 11 + 1}` }]))
      expected[`VM OpaqueRef:${round * 7}`] = `renamed-${round}`
      expected[`VM OpaqueRef:new-${round}`] = `new-${round}`
      delete expected[`VM OpaqueRef:${round * 11 + 1}`]
    }
    await c.flush()
    expect(namesOf(c.load('c1')?.diff.upserts ?? [])).toEqual(expected) // from memory
    await c.close()
    const d = open().load('c1')
    expect(namesOf(d?.diff.upserts ?? [])).toEqual(expected) // from the file
    expect(d?.diff.seq).toBe(6)
  })

  it('writes a burst of more changes than one transaction should hold as a chunked rewrite, ending equal', async () => {
    const { open } = setup()
    const c = open()
    const graph = Array.from({ length: 5000 }, (_, i) => vm(`OpaqueRef:${i}`, `vm-${i}`))
    c.write(reset('c1', 1, graph))
    await c.flush()
    c.write(batch('c1', 2, graph.map((u) => vm(u.ref, `${String(u.record.name_label)}-b`)), [{ cls: 'VM', ref: 'OpaqueRef:0' }]))
    await c.close()
    const d = open().load('c1')
    expect(d?.diff.upserts.length).toBe(4999)
    expect(d?.diff.upserts.every((u) => String(u.record.name_label).endsWith('-b'))).toBe(true)
    expect(d?.diff.seq).toBe(2)
  })

  it('never stores credentials or session ids', async () => {
    const { dir, open } = setup()
    const password = 'Sup3r-Secret-Pa55word'
    const sessionId = 'OpaqueRef:5e55-10n1-d000-feed-cafe00000001'
    const c = open()
    c.write(
      reset('c1', 1, [
        vm('OpaqueRef:1', 'web'),
        { cls: 'session', ref: sessionId, record: { uuid: 'su', this_user: null, other_config: {} } },
        { cls: 'secret', ref: 'OpaqueRef:secret1', record: { uuid: 'secret-uuid', value: password } },
        { cls: 'PBD', ref: 'OpaqueRef:pbd', record: { uuid: 'pbd', device_config: { server: '10.0.0.9', username: 'cifsuser', password, chappassword: password } } },
        { cls: 'pool', ref: 'OpaqueRef:pool', record: { uuid: 'pu', name_label: 'P', other_config: { 'xenpilot.session_id': sessionId } } },
      ]),
      { poolName: 'P', memberAddresses: ['10.0.0.1'] },
    )
    c.write(batch('c1', 2, [{ cls: 'task', ref: 'OpaqueRef:task', record: { uuid: 't', name_label: 'Async.VM.start', status: 'pending', other_config: {} } }]))
    c.history.append({ at: new Date().toISOString(), connectionId: 'c1', cls: 'VM', ref: 'OpaqueRef:1', objectName: 'web', action: 'start', params: { password, nested: { session_id: sessionId } }, ok: true, durationMs: 10, user: 'root' })
    await c.flush()
    const bytes = fileBytes(dir)
    expect(bytes.includes('cifsuser')).toBe(true) // the scan does see record contents…
    expect(bytes.includes(password)).toBe(false) // …but never the password
    expect(bytes.includes(sessionId.slice('OpaqueRef:'.length))).toBe(false)
    const loaded = c.load('c1')
    expect(loaded?.diff.upserts.map((u) => u.cls).sort()).toEqual(['PBD', 'VM', 'pool', 'task'])
  })

  it('keeps only pending tasks and a bounded number of recent messages', async () => {
    const { open } = setup({ messageMaxPerPool: 5, messageMaxAgeDays: 7 })
    const c = open()
    const msg = (i: number, daysAgo: number): { cls: string; ref: string; record: Record<string, unknown> } => ({
      cls: 'message',
      ref: `OpaqueRef:m${i}`,
      record: { uuid: `m${i}`, name: 'VM_STARTED', timestamp: new Date(Date.now() - daysAgo * 86_400_000).toISOString() },
    })
    c.write(reset('c1', 1, [msg(0, 30), msg(1, 6), ...Array.from({ length: 8 }, (_, i) => msg(10 + i, i / 24))]))
    c.write(batch('c1', 2, [{ cls: 'task', ref: 'OpaqueRef:t1', record: { uuid: 't1', status: 'pending' } }, { cls: 'task', ref: 'OpaqueRef:t2', record: { uuid: 't2', status: 'pending' } }]))
    await c.flush()
    c.write(batch('c1', 3, [{ cls: 'task', ref: 'OpaqueRef:t1', record: { uuid: 't1', status: 'success' } }, msg(99, 0)]))
    await c.close()
    const d = open().load('c1')
    const refs = (d?.diff.upserts ?? []).map((u) => u.ref).sort()
    // newest 5 messages (m99 and m10..m13), nothing older than 7 days; the finished task is gone
    expect(refs).toEqual(['OpaqueRef:m10', 'OpaqueRef:m11', 'OpaqueRef:m12', 'OpaqueRef:m13', 'OpaqueRef:m99', 'OpaqueRef:t2'])
  })

  it('clears one connection, all connections, and forgets a connection with its history', async () => {
    const { dir, open } = setup()
    const c = open()
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'alpha-unique-name')]))
    c.write(reset('c2', 1, [vm('OpaqueRef:2', 'beta')]))
    c.write(reset('c3', 1, [vm('OpaqueRef:3', 'gamma')]))
    const entry = { at: new Date().toISOString(), cls: 'VM', ref: 'OpaqueRef:1', objectName: 'x', action: 'start', params: {}, ok: true, durationMs: 1, user: 'root' }
    c.history.append({ ...entry, connectionId: 'c1' })
    c.history.append({ ...entry, connectionId: 'c2' })
    await c.flush()
    c.clear('c1')
    await c.flush()
    expect(c.load('c1')).toBeUndefined()
    expect(c.load('c2')).toBeDefined()
    expect(fileBytes(dir).includes('alpha-unique-name'), 'alpha-unique-name').toBe(false)
    expect(c.history.list({ connectionId: 'c1' })).toHaveLength(1) // clearing the cache keeps the action history
    c.forget('c2')
    await c.flush()
    expect(c.load('c2')).toBeUndefined()
    expect(c.history.list({ connectionId: 'c2' })).toHaveLength(0)
    expect(c.load('c3')).toBeDefined()
    c.clearAll()
    await c.close()
    const d = open()
    expect(d.load('c3')).toBeUndefined()
    expect(d.cachedConnections()).toEqual([])
  })

  it('honours "do not cache": existing rows go, writes are ignored, across restarts', async () => {
    const { dir, open } = setup()
    const c = open()
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'private-vm-name')]), { memberAddresses: ['10.9.9.9'] })
    await c.flush()
    c.setDoNotCache('c1', true)
    c.write(batch('c1', 2, [vm('OpaqueRef:2', 'still-private')]))
    await c.close()
    expect(fileBytes(dir).includes('private-vm-name'), 'private-vm-name').toBe(false)
    expect(fileBytes(dir).includes('still-private'), 'still-private').toBe(false)
    expect(fileBytes(dir).includes('10.9.9.9'), '10.9.9.9').toBe(false)
    const d = open()
    expect(d.isDoNotCache('c1')).toBe(true)
    d.write(reset('c1', 3, [vm('OpaqueRef:3', 'x')]))
    await d.flush()
    expect(d.load('c1')).toBeUndefined()
    d.setDoNotCache('c1', false)
    d.write(reset('c1', 4, [vm('OpaqueRef:4', 'now cached')]))
    await d.flush()
    expect(namesOf(d.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:4': 'now cached' })
  })

  it('keeps the action history across restarts, newest first, per object and globally, paged', async () => {
    const { open } = setup()
    const c = open()
    c.write(reset('c1', 1, [vm('OpaqueRef:a', 'a'), vm('OpaqueRef:b', 'b')]))
    await c.flush()
    const ids: number[] = []
    for (let i = 0; i < 25; i++) {
      const e = c.history.append({
        at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        connectionId: 'c1',
        cls: 'VM',
        ref: i % 2 ? 'OpaqueRef:a' : 'OpaqueRef:b',
        objectName: i % 2 ? 'a' : 'b',
        action: i === 3 ? 'clean_shutdown' : 'start',
        params: { n: i },
        ok: i !== 3,
        ...(i === 3 ? { errorCode: 'VM_BAD_POWER_STATE', errorMessage: 'VM a is not running.' } : {}),
        durationMs: 100 + i,
        user: 'root',
      })
      ids.push(e?.id ?? -1)
    }
    await c.close()
    const d = open()
    const page1 = d.history.list({ limit: 10 })
    expect(page1.map((e) => e.id)).toEqual(ids.slice(15).reverse())
    const page2 = d.history.list({ limit: 10, beforeId: page1.at(-1)?.id })
    expect(page2.map((e) => e.id)).toEqual(ids.slice(5, 15).reverse())
    const ofA = d.history.list({ connectionId: 'c1', ref: 'OpaqueRef:a' })
    expect(ofA).toHaveLength(12)
    expect(d.history.list({ uuid: 'uuid-OpaqueRef:a' })).toHaveLength(12)
    expect(ofA.find((e) => !e.ok)).toMatchObject({ action: 'clean_shutdown', errorCode: 'VM_BAD_POWER_STATE', errorMessage: 'VM a is not running.', params: { n: 3 }, durationMs: 103, user: 'root' })
  })
})

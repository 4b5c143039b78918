/**
 * kill -9 in the middle of heavy writes: the file opens, and holds exactly one complete batch
 * (every object of the same batch, with that batch's token, seq and metadata), never less than
 * the last batch reported committed. Three kills per writer mode, each restart continuing on the
 * same file (so a leftover WAL and an abandoned half-written reset are part of the test).
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openInventoryCache } from '../../../main/cache'
import { peek, tempDir } from './helpers'

const OBJECTS_PER_BATCH = 400
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

/** runs the writer until it reported `minBatches` more commits, then SIGKILLs it mid-stream */
function runAndKill(dir: string, mode: string, minBatches: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'kill-writer.ts'), dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
    cleanups.push(() => child.kill('SIGKILL'))
    let last = 0
    let count = 0
    let stderr = ''
    let killed = false
    let buf = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n')
      buf = lines.pop() ?? ''
      for (const l of lines) {
        const m = /^committed (\d+)$/.exec(l)
        if (!m) continue
        last = Number(m[1])
        count++
        if (count === minBatches && !killed) {
          killed = true
          // land somewhere inside the next batches, not right at a boundary
          setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 25))
        }
      }
    })
    // 'close', not 'exit': every line the child wrote before dying has been read by then
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last)
      else reject(new Error(`writer exited by itself (code ${code}): ${stderr}`))
    })
  })
}

describe.each(['worker', 'inline'] as const)('kill -9 while writing (%s writer)', (mode) => {
  it('reopens at a complete batch every time', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    for (let round = 0; round < 3; round++) {
      const lastCommitted = await runAndKill(t.dir, mode, 15)
      const cache = openInventoryCache({ dataDir: t.dir, mode: 'inline' })
      try {
        expect(cache.status()).toMatchObject({ state: 'ok', problems: [] })
        const loaded = cache.load('pool')
        expect(loaded).toBeDefined()
        const seq = loaded?.diff.seq ?? -1
        expect(seq).toBeGreaterThanOrEqual(lastCommitted)
        // at most one batch committed but not yet reported when the kill landed
        expect(seq).toBeLessThanOrEqual(lastCommitted + 1)
        const batches = new Set(loaded?.diff.upserts.map((u) => u.record.batch))
        expect([...batches]).toEqual([seq])
        expect(loaded?.diff.upserts).toHaveLength(OBJECTS_PER_BATCH)
        expect(loaded?.diff.token).toBe(`t${seq}`)
        expect(loaded?.meta.poolName).toBe(`batch ${seq}`)
      } finally {
        await cache.close()
      }
      expect(peek(t.dir, (db) => db.pragma('integrity_check', { simple: true }))).toBe('ok')
    }
  }, 240_000)
})

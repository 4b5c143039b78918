/**
 * A cache file cut to 0 bytes (a full disk, a power cut) lost the offline inventory: the user is
 * told so and why, instead of the cache silently starting empty.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openInventoryCache } from '../../../main/cache'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('a cache file truncated to 0 bytes', () => {
  it('is said: the offline inventory was lost, and why; the empty file is kept aside', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-cache-empty-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'cache.sqlite'), '')
    const cache = openInventoryCache({ dataDir: dir })
    try {
      const problems = cache.status().problems
      expect(problems.map((p) => p.kind)).toEqual(['corrupt-recovered'])
      expect(problems[0]?.message).toMatch(/the file was empty \(0 bytes\): the offline inventory it held was lost/)
      expect(readdirSync(dir).filter((n) => !/^cache\.sqlite(-wal|-shm)?$/.test(n))).toHaveLength(1)
    } finally {
      await cache.close()
    }
  })
})

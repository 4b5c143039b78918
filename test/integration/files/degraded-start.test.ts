/**
 * A data folder XenPilot cannot write at start (read-only, or its disk full) no longer stops the
 * app: it starts, says why in app.info's notices, shows the saved servers and their offline
 * inventory from the cache, and refuses changes with the reason.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ConnectionState } from '../../../shared/contract'
import { startApp, type AppHarness } from '../../e2e/harness'
import { mountSmallDisk, smallDiskSkipReason, type SmallDisk } from '../../helpers/small-disk'

const disks: SmallDisk[] = []
const apps: AppHarness[] = []
afterEach(async () => {
  for (const a of apps.splice(0).reverse()) await a.close()
  for (const d of disks.splice(0)) d.unmount()
})

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p
  } catch (e) {
    return e as { code: string; message: string }
  }
  throw new Error('the call was not refused')
}

describe.skipIf(smallDiskSkipReason !== undefined)(`a data folder XenPilot cannot write at start${smallDiskSkipReason ? ` (skipped: ${smallDiskSkipReason})` : ''}`, () => {
  it('read-only, then full: the app starts, says so, shows the cached inventory and refuses changes with the reason', async () => {
    const disk = mountSmallDisk(16 * 1024 * 1024)
    disks.push(disk)
    const dataDir = join(disk.dir, 'data')
    mkdirSync(dataDir)
    const first = await startApp({ fleet: 'tiny', trustPools: true, page: false, dataDir })
    apps.push(first)
    const ids = (await first.api.call('connections.list', {})).map((c: ConnectionState) => c.id)
    for (const id of ids) await first.api.waitForEvent('connection.state', (s) => s.id === id && s.status === 'connected')
    // the cache has the inventory once the write-behind ran
    await new Promise((r) => setTimeout(r, 1500))
    await first.close()
    apps.splice(0)

    for (const how of ['read-only', 'full'] as const) {
      if (how === 'read-only') disk.readOnly(true)
      else {
        disk.readOnly(false)
        disk.fill()
      }
      const app = await startApp({ sim: first.sim, page: false, dataDir })
      apps.push(app)
      const info = await app.api.call('app.info', {})
      const reason = how === 'read-only' ? /read-only file system/ : /is full/
      expect((info.notices ?? []).map((n) => n.message).join('\n')).toMatch(how === 'read-only' ? /^XenPilot cannot save anything in .*data: .*read-only file system\. It started anyway/ : /^XenPilot cannot save anything in .*data: the disk holding .* is full\. It started anyway/)
      const listed = await app.api.call('connections.list', {})
      expect(listed.map((c: ConnectionState) => c.id).sort()).toEqual([...ids].sort())
      // the offline inventory is there (from the cache, or live once connected)
      const status = await app.api.call('cache.status', {})
      expect(status.state === 'ok' || status.state === 'memory-only').toBe(true)
      await app.api.call('objects.subscribe', {})
      await app.api.waitForEvent('pool.diff', (d) => d.connectionId === ids[0] && d.reset && d.more !== true, 30_000)
      const add = await refusal(app.api.call('connections.add', { address: '127.0.0.9:9', username: 'root', password: 'x', rememberPassword: false }))
      expect(add.message).toMatch(reason)
      expect((await refusal(app.api.call('settings.update', { treeMode: 'objects' }))).message).toMatch(reason)
      expect((await app.api.call('connections.list', {})).length).toBe(ids.length)
      await app.close()
      apps.splice(0)
    }
    disk.unfill()
  })
})

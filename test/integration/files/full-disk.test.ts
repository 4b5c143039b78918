/**
 * A full data folder (a small tmpfs this test mounts; needs root): adding, forgetting and editing a
 * server and changing a setting are refused with a sentence naming the folder, nothing is applied
 * (in memory or on disk, checked after a restart of the services), no temp file is left behind, and
 * a retry once there is room again makes no duplicate.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ConnectionState } from '../../../shared/contract'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { startRuntime, type Runtime } from '../../../main/services/runtime'
import { mountSmallDisk, smallDiskSkipReason, tempFilesIn, type SmallDisk } from '../../helpers/small-disk'

const disks: SmallDisk[] = []
const runtimes: Runtime[] = []
afterEach(async () => {
  for (const r of runtimes.splice(0)) await r.close()
  for (const d of disks.splice(0)) d.unmount()
})

async function start(dataDir: string): Promise<{ call: (method: string, args: unknown) => Promise<unknown>; runtime: Runtime }> {
  const runtime = await startRuntime({
    dataDir,
    mode: 'browser',
    keychain: new MemoryKeychain(),
    keychainStatus: memoryKeychainStatus(),
    appVersion: 'test',
    versions: {},
    log: () => undefined,
    cache: false,
    connectOnStart: false,
  })
  runtimes.push(runtime)
  const session = runtime.services.openSession(() => undefined)
  return { call: (m, a) => session.call(m, a), runtime }
}

async function stop(runtime: Runtime): Promise<void> {
  await runtime.close()
  runtimes.splice(runtimes.indexOf(runtime), 1)
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p
  } catch (e) {
    return e as { code: string; message: string }
  }
  throw new Error('the call was not refused')
}

const addresses = async (call: (m: string, a: unknown) => Promise<unknown>): Promise<string[]> => ((await call('connections.list', {})) as ConnectionState[]).map((c) => c.address).sort()

describe.skipIf(smallDiskSkipReason !== undefined)(`a full data folder${smallDiskSkipReason ? ` (skipped: ${smallDiskSkipReason})` : ''}`, () => {
  it('refuses add, forget, edit and settings with a sentence, applies nothing (also after a restart), leaves no temp file; a retry makes no duplicate', async () => {
    const disk = mountSmallDisk(1024 * 1024)
    disks.push(disk)
    const dataDir = join(disk.dir, 'data')
    mkdirSync(dataDir)
    // a port nothing listens on: the connection attempts fail quietly, the files are what matters
    const a = await start(dataDir)
    const kept = (await a.call('connections.add', { address: '127.0.0.1:9', username: 'root', password: 'x', rememberPassword: false })) as ConnectionState
    await a.call('settings.update', { treeMode: 'objects' })

    disk.fill()
    const full = /^XenPilot could not save .*: the disk holding .*\/data is full\. Nothing was changed\.$/
    const add = await refusal(a.call('connections.add', { address: '127.0.0.2:9', username: 'root', password: 'x', rememberPassword: false }))
    expect(add.message).toMatch(full)
    expect(add.message).toContain('connections.json')
    expect(add.code).toBe('failed')
    // a retry while still full: refused again, still no second server
    expect((await refusal(a.call('connections.add', { address: '127.0.0.2:9', username: 'root', password: 'x', rememberPassword: false }))).message).toMatch(full)
    expect(await addresses(a.call)).toEqual(['127.0.0.1:9'])

    const forget = await refusal(a.call('connections.forget', { id: kept.id }))
    expect(forget.message).toMatch(full)
    expect(await addresses(a.call)).toEqual(['127.0.0.1:9'])

    const edit = await refusal(a.call('connections.edit', { id: kept.id, address: '127.0.0.3:9' }))
    expect(edit.message).toMatch(full)
    expect(await addresses(a.call)).toEqual(['127.0.0.1:9'])

    const settings = await refusal(a.call('settings.update', { treeMode: 'infrastructure' }))
    expect(settings.message).toMatch(full)
    expect(settings.message).toContain('settings.json')
    expect(((await a.call('settings.get', {})) as { treeMode: string }).treeMode).toBe('objects')
    expect(tempFilesIn(disk.dir)).toEqual([])

    // room again in the same run: the next accepted change writes only what was accepted — none of
    // the refused ones (two adds, a forget, an edit) come back with it
    disk.unfill()
    await a.call('connections.add', { address: '127.0.0.4:9', username: 'root', password: 'x', rememberPassword: false })
    expect(await addresses(a.call)).toEqual(['127.0.0.1:9', '127.0.0.4:9'])
    disk.fill()

    // restart on the full disk again: what is on disk is what was shown
    await stop(a.runtime)
    const b = await start(dataDir)
    expect(await addresses(b.call)).toEqual(['127.0.0.1:9', '127.0.0.4:9'])
    expect(((await b.call('settings.get', {})) as { treeMode: string }).treeMode).toBe('objects')

    // room again: the retry adds exactly one server, forget and settings work
    disk.unfill()
    await b.call('connections.add', { address: '127.0.0.2:9', username: 'root', password: 'x', rememberPassword: false })
    expect(await addresses(b.call)).toEqual(['127.0.0.1:9', '127.0.0.2:9', '127.0.0.4:9'])
    await b.call('connections.forget', { id: kept.id })
    await b.call('settings.update', { treeMode: 'infrastructure' })
    await stop(b.runtime)
    const c = await start(dataDir)
    expect(await addresses(c.call)).toEqual(['127.0.0.2:9', '127.0.0.4:9'])
    expect(((await c.call('settings.get', {})) as { treeMode: string }).treeMode).toBe('infrastructure')
    expect(tempFilesIn(disk.dir)).toEqual([])
  })
})

/**
 * A start that never finished (the process died during start-up, e.g. a pool's answer killed it)
 * is found at the next start: automatic connection is paused and the app says so; a start that
 * settles clears the marker, so the one after connects as usual.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ConnectionState } from '../../../shared/contract'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { startRuntime, type Runtime } from '../../../main/services/runtime'
import { startBrowserMode } from '../../../main/web/cli'

const dirs: string[] = []
const runtimes: Runtime[] = []
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const r of runtimes.splice(0)) await r.close()
  for (const c of closers.splice(0)) await c()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function start(dataDir: string): Promise<Runtime> {
  const r = await startRuntime({ dataDir, mode: 'browser', keychain: new MemoryKeychain(), keychainStatus: memoryKeychainStatus(), appVersion: 't', versions: {}, log: () => undefined, cache: false })
  runtimes.push(r)
  return r
}

const marker = (dir: string): { startingSince: string | null } => JSON.parse(readFileSync(join(dir, 'startup.json'), 'utf8')) as { startingSince: string | null }

describe('the start-up marker', () => {
  it('a start that did not finish pauses the next start’s automatic connection and says so; a settled start clears it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-startup-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'connections.json'), JSON.stringify({ version: 1, connections: [{ id: 'c1', address: '127.0.0.1:9', username: 'root', rememberPassword: false, forceXmlRpc: false, doNotCache: false, memberAddresses: [] }] }))
    writeFileSync(join(dir, 'startup.json'), JSON.stringify({ version: 1, startingSince: '2026-12-07T10:00:00.000Z', pid: 4242 }))

    const r = await start(dir)
    const states: ConnectionState[] = []
    r.pools.onState((s) => states.push(s))
    const info = await r.services.handlers['app.info']({}, { emit: () => undefined, subscribeObjects: () => undefined })
    // the time goes apart (`at`): the window writes it as a local time ({at} in the sentence)
    expect(info.notices).toEqual([{ kind: 'startup', at: '2026-12-07T10:00:00.000Z', message: expect.stringMatching(/^The previous run of XenPilot stopped during start-up \(it started at \{at\} and never finished starting\)\. Automatic connection is paused for this start/) }])
    await new Promise((resolve) => setTimeout(resolve, 300))
    // nothing was dialled: the saved server stays disconnected
    expect(states).toEqual([])
    expect(r.pools.get('c1')?.status).toBe('disconnected')
    // this start settled (nothing to connect): the marker is cleared at once
    await r.close()
    runtimes.splice(0)
    expect(marker(dir).startingSince).toBeNull()

    const again = await start(dir)
    const info2 = await again.services.handlers['app.info']({}, { emit: () => undefined, subscribeObjects: () => undefined })
    expect(info2.notices ?? []).toEqual([])
    await again.close()
    runtimes.splice(0)
    expect(marker(dir).startingSince).toBeNull()
  })
})

describe('a damaged keychain.enc', () => {
  it('is set aside and said among the start’s notices (the keychain is read before they are built)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-startup-keychain-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'keychain.enc'), '{"version":1,"kdf":{"name":"scrypt","salt":"AA==","N":3,"r":8,"p":1},"data":"AA=="}')
    // browser mode as the CLI starts it (its keychain, its wiring)
    const app = await startBrowserMode({ dataDir: dir, staticDir: dir, env: { XENPILOT_PASSPHRASE: 'notice spec' }, connectOnStart: false })
    closers.push(() => app.close())
    const info = await app.runtime.services.handlers['app.info']({}, { emit: () => undefined, subscribeObjects: () => undefined })
    expect(info.notices).toEqual([
      { kind: 'file', message: expect.stringMatching(/^The remembered passwords \(.*keychain\.enc\) could not be read: .*kdf\.N.*The file was kept as keychain\.enc\.damaged-.* and XenPilot started without them\. Remembered passwords must be entered again\.$/) },
    ])
    // the keychain itself starts empty and works
    expect((await app.keychain.state()).status).toBe('ready')
  })
})

describe('damaged files of the host terminal', () => {
  it('ssh-known-hosts.json and ssh-logins.json set aside are said among the start’s notices, with what it means', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-startup-ssh-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'ssh-known-hosts.json'), '{"version":1,"keys":{"127.0.0.1:22":{"fingerprint":"MD5:nope"}}}')
    writeFileSync(join(dir, 'ssh-logins.json'), 'not json at all')
    const r = await start(dir)
    const info = await r.services.handlers['app.info']({}, { emit: () => undefined, subscribeObjects: () => undefined })
    expect(info.notices).toEqual([
      { kind: 'file', message: expect.stringMatching(/^The SSH host keys \(.*ssh-known-hosts\.json\) could not be read: .*The file was kept as ssh-known-hosts\.json\.damaged-.* each host’s key is shown again for you to compare and trust/) },
      { kind: 'file', message: expect.stringMatching(/^The remembered SSH ports and users \(.*ssh-logins\.json\) could not be read: .*starts again from port 22 and user root\.$/) },
    ])
  })
})

/**
 * Host terminals on the whole main process (runtime: PoolManager, services, terminal module) against the
 * simulator's dom0 sshd, through the contract as a window calls it:
 *  - a host key is pinned on first use only after the user trusts the fingerprint shown; a changed key is refused
 *    with both fingerprints and replaced only by an explicit re-trust naming the old key (the pin comparison);
 *  - `xl info` runs and its output arrives as terminal.data; resize reaches the host (stty size);
 *  - a refused password is never remembered, an accepted one is when asked;
 *  - bad key files are refused with a sentence naming what is wrong;
 *  - a host that writes forever (`yes`) while the window acknowledges nothing costs main a bounded number of bytes;
 *  - "enable SSH for N minutes" through XAPI on a current pool; not offered on 7.2;
 *  - a window that goes away takes its terminals with it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventName, EventPayload } from '../../../shared/contract'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { startRuntime, type ConnectionSeed, type Runtime } from '../../../main/services/runtime'
import { HIGH_WATER } from '../../../main/terminal/session'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { waitFor } from '../pools/helpers'

let sim: SimControl
let current: SimPoolHandle
let legacy: SimPoolHandle
let dataDir: string
let runtime: Runtime
const keychain = new MemoryKeychain()
const ids: Record<string, string> = {}

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.93', opDurationMs: 0 }), sshPort: 0 })
  current = sim.pool('tiny-current')
  legacy = sim.pool('tiny-legacy')
  dataDir = mkdtempSync(join(tmpdir(), 'xp-terminal-'))
  const seed: ConnectionSeed = {
    pools: [current, legacy].map((pool) => ({
      address: new URL(pool.masterUrl).host,
      username: pool.username,
      password: pool.password,
      hosts: pool.hosts.map((h) => ({ host: new URL(h.url).hostname, port: Number(new URL(h.url).port), certPem: h.certPem })),
    })),
  }
  runtime = await startRuntime({ dataDir, mode: 'browser', keychain, keychainStatus: memoryKeychainStatus(), appVersion: '0.0.0-test', versions: {}, log: () => undefined, seed })
  for (const pool of [current, legacy]) {
    const address = new URL(pool.masterUrl).host
    ids[pool.name] = await waitFor(`${pool.name} connected`, () => runtime.pools.list().find((c) => c.address === address && c.status === 'connected')?.id, 60_000)
  }
}, 120_000)
afterAll(async () => {
  await runtime?.close()
  await sim?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

interface Window {
  call(method: string, args: unknown): Promise<unknown>
  events: { event: EventName; payload: unknown }[]
  output(terminalId: string): string
  bytes(terminalId: string): number
  close(): void
}

function openWindow(): Window {
  const events: { event: EventName; payload: unknown }[] = []
  const session = runtime.services.openSession(<E extends EventName>(event: E, payload: EventPayload<E>) => {
    // through JSON, as through a door
    events.push({ event, payload: JSON.parse(JSON.stringify(payload)) as unknown })
  })
  const data = (id: string): EventPayload<'terminal.data'>[] => events.filter((e) => e.event === 'terminal.data').map((e) => e.payload as EventPayload<'terminal.data'>).filter((p) => p.terminalId === id)
  return {
    call: (m, a) => session.call(m, a),
    events,
    output: (id) => data(id).map((p) => p.data).join(''),
    bytes: (id) => data(id).reduce((n, p) => n + p.bytes, 0),
    close: () => session.close(),
  }
}

const target = (pool: SimPoolHandle, host = 0): { connectionId: string; hostRef: string } => ({ connectionId: ids[pool.name] ?? '', hostRef: pool.hosts[host]?.ref ?? '' })
const open = (w: Window, pool: SimPoolHandle, host: number, auth: unknown, extra: Record<string, unknown> = {}): Promise<{ terminalId: string; fingerprint: string }> =>
  w.call('terminal.open', { ...target(pool, host), port: sim.sshPort, auth, cols: 100, rows: 30, ...extra }) as Promise<{ terminalId: string; fingerprint: string }>
const password = (pool: SimPoolHandle, remember = false): unknown => ({ kind: 'password', password: pool.password, remember })

/** the first terminal.open of a host: refused until trusted; trusts what the user was shown */
async function trustFirst(w: Window, pool: SimPoolHandle, host: number): Promise<void> {
  const err = (await open(w, pool, host, password(pool)).catch((e: unknown) => e)) as { code: string; params: string[] }
  expect(err.code).toBe('hostkey-unknown')
  expect(err.params[0]).toBe(pool.hosts[host]?.sshFingerprint)
  await w.call('terminal.trustHostKey', { ...target(pool, host), port: sim.sshPort, fingerprint: err.params[0] })
}

describe('host terminal', () => {
  it('pins the host key only once trusted, runs xl info, passes a resize, ends on exit', async () => {
    const w = openWindow()
    const info = (await w.call('terminal.info', target(current, 0))) as { pinned: unknown; sshControl: string; sshEnabled: boolean | null; address: string }
    expect(info).toMatchObject({ pinned: null, sshControl: 'timeout', sshEnabled: true, address: current.hosts[0]?.address })
    await trustFirst(w, current, 0)
    const t = await open(w, current, 0, password(current))
    expect(t.fingerprint).toBe(current.hosts[0]?.sshFingerprint)
    await waitFor('prompt', () => /\]# $/.test(w.output(t.terminalId)) || undefined)
    await w.call('terminal.input', { terminalId: t.terminalId, data: 'xl info\r' })
    await waitFor('xl info', () => /xend_config_format\s+: 4/.test(w.output(t.terminalId)) || undefined)
    expect(w.output(t.terminalId)).toMatch(/nr_nodes\s+: \d+/)
    await w.call('terminal.ack', { terminalId: t.terminalId, bytes: w.bytes(t.terminalId) })
    await w.call('terminal.resize', { terminalId: t.terminalId, cols: 132, rows: 43 })
    await w.call('terminal.input', { terminalId: t.terminalId, data: 'stty size\r' })
    await waitFor('stty size', () => /43 132/.test(w.output(t.terminalId)) || undefined)
    await w.call('terminal.input', { terminalId: t.terminalId, data: 'exit\r' })
    const ended = await waitFor('ended', () => w.events.find((e) => e.event === 'terminal.ended')?.payload as EventPayload<'terminal.ended'> | undefined)
    expect(ended.reason).toMatch(/exit status 0/)
    const pinned = (await w.call('terminal.info', target(current, 0))) as { pinned: { fingerprint: string; source: string } | null }
    expect(pinned.pinned).toMatchObject({ fingerprint: current.hosts[0]?.sshFingerprint, source: 'user' })
    w.close()
  })

  it('a changed host key is refused with both fingerprints; only a re-trust naming the old key replaces the pin', async () => {
    const w = openWindow()
    const host = current.hosts[1]
    if (!host) throw new Error('no host')
    await trustFirst(w, current, 1)
    const old = host.sshFingerprint
    const t = await open(w, current, 1, password(current))
    await w.call('terminal.close', { terminalId: t.terminalId })
    const now = current.rotateHostKey(host.address)
    const err = (await open(w, current, 1, password(current)).catch((e: unknown) => e)) as { code: string; params: string[]; message: string }
    expect(err.code).toBe('hostkey-changed')
    expect(err.params.slice(0, 2)).toEqual([now, old])
    expect(err.message).toContain(now)
    expect(err.message).toContain(old)
    // no terminal was opened, nothing was typed into the host
    expect(w.events.filter((e) => e.event === 'terminal.data' && (e.payload as { terminalId: string }).terminalId !== t.terminalId)).toEqual([])
    // trusting without naming the key it replaces is refused; the old pin stays
    await expect(w.call('terminal.trustHostKey', { ...target(current, 1), port: sim.sshPort, fingerprint: now })).rejects.toMatchObject({ code: 'refused' })
    await expect(open(w, current, 1, password(current))).rejects.toMatchObject({ code: 'hostkey-changed' })
    // a fingerprint the host did not present cannot be trusted
    await expect(w.call('terminal.trustHostKey', { ...target(current, 1), port: sim.sshPort, fingerprint: old, replaces: old })).rejects.toMatchObject({ code: 'refused' })
    await w.call('terminal.trustHostKey', { ...target(current, 1), port: sim.sshPort, fingerprint: now, replaces: old })
    const again = await open(w, current, 1, password(current))
    expect(again.fingerprint).toBe(now)
    await w.call('terminal.close', { terminalId: again.terminalId })
    w.close()
  })

  it('a refused password is not remembered; an accepted one is when asked, and logs in again from the keychain', async () => {
    const w = openWindow()
    await expect(open(w, current, 0, { kind: 'password', password: 'wrong', remember: true })).rejects.toMatchObject({ code: 'auth-failed' })
    expect(((await w.call('terminal.info', target(current, 0))) as { savedPassword: boolean }).savedPassword).toBe(false)
    await expect(open(w, current, 0, { kind: 'saved' })).rejects.toMatchObject({ code: 'no-password' })
    const t = await open(w, current, 0, password(current, true))
    await w.call('terminal.close', { terminalId: t.terminalId })
    expect(((await w.call('terminal.info', target(current, 0))) as { savedPassword: boolean }).savedPassword).toBe(true)
    const t2 = await open(w, current, 0, { kind: 'saved' })
    await w.call('terminal.close', { terminalId: t2.terminalId })
    await w.call('terminal.forgetPassword', target(current, 0))
    expect(((await w.call('terminal.info', target(current, 0))) as { savedPassword: boolean }).savedPassword).toBe(false)
    w.close()
  })

  it('key files: a good one logs in; missing, garbage, public, encrypted without passphrase and huge ones are refused with a sentence', async () => {
    const w = openWindow()
    const pair = ssh2.utils.generateKeyPairSync('ed25519')
    current.authorizeSshKey(pair.public)
    const good = join(dataDir, 'id_ed25519')
    writeFileSync(good, pair.private, { mode: 0o600 })
    const t = await open(w, current, 0, { kind: 'key', path: good })
    await w.call('terminal.close', { terminalId: t.terminalId })
    const cases: [string, string | Buffer, RegExp][] = [
      ['garbage', 'this is not a key\n', /not an SSH private key/],
      ['id.pub', pair.public, /public key/],
      ['huge', Buffer.alloc(200 * 1024, 65), /too large/],
      ['empty', '', /empty/],
    ]
    for (const [name, content, re] of cases) {
      const file = join(dataDir, name)
      writeFileSync(file, content)
      const e = (await open(w, current, 0, { kind: 'key', path: file }).catch((x: unknown) => x)) as { code: string; message: string }
      expect(e.code, name).toBe('key-file')
      expect(e.message, name).toMatch(re)
      expect(e.message, name).toContain(file)
    }
    await expect(open(w, current, 0, { kind: 'key', path: join(dataDir, 'nope') })).rejects.toMatchObject({ code: 'key-file', message: expect.stringMatching(/no such file/) })
    const enc = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'secret', cipher: 'aes256-ctr', rounds: 16 })
    const encFile = join(dataDir, 'id_enc')
    writeFileSync(encFile, enc.private)
    await expect(open(w, current, 0, { kind: 'key', path: encFile })).rejects.toMatchObject({ code: 'key-file', message: expect.stringMatching(/encrypted/) })
    await expect(open(w, current, 0, { kind: 'key', path: encFile, passphrase: 'wrong' })).rejects.toMatchObject({ code: 'key-file' })
    w.close()
  })

  it('a host writing forever to a window that acknowledges nothing: main stops reading at the high-water mark, and goes on once the window catches up', async () => {
    const w = openWindow()
    const t = await open(w, current, 0, password(current))
    await waitFor('prompt', () => /\]# $/.test(w.output(t.terminalId)) || undefined)
    await w.call('terminal.ack', { terminalId: t.terminalId, bytes: w.bytes(t.terminalId) })
    const before = w.bytes(t.terminalId)
    await w.call('terminal.input', { terminalId: t.terminalId, data: 'yes\r' })
    await waitFor('paused', () => w.bytes(t.terminalId) - before >= HIGH_WATER || undefined)
    // the host keeps trying; nothing more reaches the window while it acknowledges nothing
    const atPause = w.bytes(t.terminalId)
    await new Promise((r) => setTimeout(r, 1500))
    const unacked = w.bytes(t.terminalId) - before
    expect(w.bytes(t.terminalId)).toBe(atPause)
    expect(unacked).toBeLessThanOrEqual(HIGH_WATER + 64 * 1024)
    // the window shows what it had: more follows
    await w.call('terminal.ack', { terminalId: t.terminalId, bytes: w.bytes(t.terminalId) })
    await waitFor('resumed', () => w.bytes(t.terminalId) > atPause || undefined)
    await w.call('terminal.input', { terminalId: t.terminalId, data: '\x03' })
    await w.call('terminal.close', { terminalId: t.terminalId })
    w.close()
  })

  it('enables SSH for N minutes through XAPI on a current pool; says why not on XenServer 7.2', async () => {
    const w = openWindow()
    const hostRef = current.hosts[0]?.ref ?? ''
    await current.call('host.disable_ssh', [hostRef])
    await waitFor('ssh off in main', () => ((runtime.pools.graph(ids['tiny-current'] ?? '')?.get('host', hostRef)?.['ssh_enabled'] as boolean) === false ? true : undefined))
    expect(await w.call('terminal.info', target(current, 0))).toMatchObject({ sshEnabled: false, sshControl: 'timeout' })
    await expect(open(w, current, 0, password(current))).rejects.toMatchObject({ code: 'ssh-refused' })
    const r = (await w.call('terminal.enableSsh', { ...target(current, 0), minutes: 5 })) as { ok: boolean }
    expect(r.ok).toBe(true)
    const rec = current.objects.get('host')?.get(hostRef)
    expect(rec?.['ssh_enabled']).toBe(true)
    expect(rec?.['ssh_enabled_timeout']).toBe(300)
    const info = await waitFor('expiry in main', () => {
      const i = runtime.pools.graph(ids['tiny-current'] ?? '')?.get('host', hostRef)
      return i?.['ssh_enabled'] === true ? i : undefined
    })
    void info
    const shown = (await w.call('terminal.info', target(current, 0))) as { sshExpiry: string | null }
    expect(Math.abs(Date.parse(shown.sshExpiry ?? '') - (Date.now() + 300_000))).toBeLessThan(10_000)
    const t = await open(w, current, 0, password(current))
    await w.call('terminal.close', { terminalId: t.terminalId })
    await current.call('host.set_ssh_enabled_timeout', [hostRef, 0])

    expect(await w.call('terminal.info', target(legacy, 0))).toMatchObject({ sshControl: 'none', sshEnabled: null })
    await expect(w.call('terminal.enableSsh', { ...target(legacy, 0), minutes: 5 })).rejects.toMatchObject({ code: 'not-supported' })
    w.close()
  })

  it('a window that goes away takes its terminals with it', async () => {
    const w = openWindow()
    const t = await open(w, current, 0, password(current))
    await waitFor('prompt', () => /\]# $/.test(w.output(t.terminalId)) || undefined)
    w.close()
    const w2 = openWindow()
    // the terminal is gone: input to it is ignored, nothing arrives anywhere
    await w2.call('terminal.input', { terminalId: t.terminalId, data: 'xl info\r' })
    await new Promise((r) => setTimeout(r, 300))
    expect(w2.events.filter((e) => e.event === 'terminal.data')).toEqual([])
    w2.close()
  })

  it('the port and user a host was reached on are remembered across a restart (ssh-logins.json)', async () => {
    // tiny-host-1 was reached on the simulator's port (not 22) by the specs above
    const w0 = openWindow()
    expect(await w0.call('terminal.info', target(current, 0))).toMatchObject({ port: sim.sshPort, username: 'root' })
    w0.close()
    expect(sim.sshPort).not.toBe(22)
    await runtime.close()
    runtime = await startRuntime({ dataDir, mode: 'browser', keychain, keychainStatus: memoryKeychainStatus(), appVersion: '0.0.0-test', versions: {}, log: () => undefined, connectOnStart: false })
    const w = openWindow()
    // the host is read from the offline cache (not connected): its port and user come from the file
    await waitFor('host in the graph', () => runtime.pools.graph(ids['tiny-current'] ?? '')?.get('host', current.hosts[0]?.ref ?? '') ?? undefined, 30_000)
    expect(await w.call('terminal.info', target(current, 0))).toMatchObject({ port: sim.sshPort, username: 'root', poolOnline: false })
    // a host never reached starts from 22
    expect(await w.call('terminal.info', target(legacy, 0))).toMatchObject({ port: 22 })
    w.close()
  })
})

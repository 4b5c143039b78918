/**
 * The contract as the renderer experiences it, through BOTH doors: the browser-mode WebSocket
 * (real server on loopback) and Electron's IPC door (real routing, fake ipcMain). Same suite,
 * same expectations — a renderer must not be able to tell which door it talks through.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConnectionState, PoolDiffSchema, UiSettings, events as contractEvents, methods as contractMethods, type ContractError } from '../../../shared/contract'
import { openIpcDoorForTest, openWsDoor, type CallOutcome, type DoorUnderTest } from './doors'

const doors: [string, () => Promise<DoorUnderTest>][] = [
  ['browser-mode WebSocket door', openWsDoor],
  ['Electron IPC door', openIpcDoorForTest],
]

function refused(o: CallOutcome): ContractError {
  if (o.ok) throw new Error(`expected a refusal, got result ${JSON.stringify(o.result)}`)
  return o.error
}
function answered(o: CallOutcome): unknown {
  if (!o.ok) throw new Error(`expected a result, got error ${o.error.code}: ${o.error.message}`)
  return o.result
}

const validAdd = { address: 'xcp-pool-a.example.org', username: 'root', password: 'secret', rememberPassword: true }

describe.each(doors)('the contract through the %s', (_name, open) => {
  let door: DoorUnderTest
  beforeEach(async () => {
    door = await open()
  })
  afterEach(async () => {
    await door.close()
  })

  it('answers app.info with the app name, version and mode', async () => {
    const info = answered(await door.call('app.info')) as { name: string; mode: string; versions: Record<string, string> }
    expect(info.name).toBe('XenPilot')
    expect(['browser', 'electron']).toContain(info.mode)
    expect(info.versions['node']).toBe(process.versions.node)
  })

  it('refuses an unknown method by name', async () => {
    const err = refused(await door.call('vm.teleport', {}))
    expect(err.code).toBe('unknown-method')
    expect(err.message).toContain('vm.teleport')
  })

  it('refuses a method inherited from Object.prototype instead of running it', async () => {
    expect(refused(await door.call('toString', {})).code).toBe('unknown-method')
    expect(refused(await door.call('__proto__', {})).code).toBe('unknown-method')
  })

  it('refuses Add Server without a server address, saying which field and why', async () => {
    const err = refused(await door.call('connections.add', { ...validAdd, address: '   ' }))
    expect(err.code).toBe('invalid-args')
    expect(err.message).toContain('connections.add')
    expect(err.message).toContain('address: Server is required')
    expect(door.pools.list()).toHaveLength(0)
  })

  it('refuses a server address that is not a host name, and a missing user name, in one sentence', async () => {
    const err = refused(await door.call('connections.add', { ...validAdd, address: 'pool a; rm -rf /', username: '' }))
    expect(err.code).toBe('invalid-args')
    expect(err.message).toContain('contains a space; a server address is a host name or IP address')
    expect(err.message).toContain('username: User name is required')
  })

  it('refuses arguments of the wrong type and unexpected extra fields', async () => {
    expect(refused(await door.call('connections.add', { ...validAdd, rememberPassword: 'yes' })).message).toContain('rememberPassword')
    const extra = refused(await door.call('connections.add', { ...validAdd, sessionId: 'OpaqueRef:x' }))
    expect(extra.code).toBe('invalid-args')
    expect(extra.message).toContain('sessionId')
    expect(refused(await door.call('connections.list', 'everything')).code).toBe('invalid-args')
    expect(refused(await door.call('connections.list', null)).code).toBe('invalid-args')
  })

  it('adds a server: the call answers its state and every state change arrives as a connection.state event', async () => {
    const state = ConnectionState.parse(answered(await door.call('connections.add', validAdd)))
    expect(state).toMatchObject({ address: 'xcp-pool-a.example.org', username: 'root', status: 'connecting' })
    expect(JSON.stringify(state)).not.toContain('secret')
    const awaiting = await door.waitForEvent((e) => e.event === 'connection.state' && (e.payload as ConnectionState).status === 'awaiting-trust')
    const payload = ConnectionState.parse(awaiting.payload)
    expect(payload.certificate?.fingerprint256).toBe(door.pools.fingerprint)
    const listed = answered(await door.call('connections.list')) as ConnectionState[]
    expect(listed.map((c) => c.id)).toEqual([state.id])
  })

  it('trusting the presented certificate connects; a different fingerprint is refused with XAPI-style code and sentence', async () => {
    const { id } = ConnectionState.parse(answered(await door.call('connections.add', validAdd)))
    await door.waitForEvent((e) => e.event === 'connection.state' && (e.payload as ConnectionState).status === 'awaiting-trust')
    const wrong = refused(await door.call('connections.trust', { id, fingerprint256: '00:11' }))
    expect(wrong).toMatchObject({ code: 'CERTIFICATE_MISMATCH', params: ['00:11'] })
    expect(wrong.message).toContain('xcp-pool-a.example.org')
    expect(answered(await door.call('connections.trust', { id, fingerprint256: door.pools.fingerprint }))).toBeNull()
    await door.waitForEvent((e) => e.event === 'connection.state' && (e.payload as ConnectionState).status === 'connected')
  })

  it('sends no object diffs before objects.subscribe, then every graph as a reset diff, then live diffs', async () => {
    const { id } = ConnectionState.parse(answered(await door.call('connections.add', validAdd)))
    await door.waitForEvent((e) => e.event === 'connection.state' && (e.payload as ConnectionState).status === 'awaiting-trust')
    answered(await door.call('connections.trust', { id, fingerprint256: door.pools.fingerprint }))
    expect(door.events.filter((e) => e.event === 'pool.diff')).toHaveLength(0)

    expect(answered(await door.call('objects.subscribe'))).toBeNull()
    const reset = PoolDiffSchema.parse((await door.waitForEvent((e) => e.event === 'pool.diff')).payload)
    expect(reset).toMatchObject({ connectionId: id, reset: true })
    expect(reset.upserts.map((u) => u.record['name_label'])).toContain('web-01')

    door.pools.powerOn(id, 2)
    const live = PoolDiffSchema.parse((await door.waitForEvent((e) => e.event === 'pool.diff' && (e.payload as { seq: number }).seq === 2)).payload)
    expect(live.reset).toBe(false)
    expect(live.upserts[0]?.record['power_state']).toBe('Running')
  })

  it('forgetting a server announces connection.removed; forgetting an unknown id says there is no such server', async () => {
    const { id } = ConnectionState.parse(answered(await door.call('connections.add', validAdd)))
    expect(answered(await door.call('connections.forget', { id }))).toBeNull()
    await door.waitForEvent((e) => e.event === 'connection.removed' && (e.payload as { id: string }).id === id)
    expect(answered(await door.call('connections.list'))).toEqual([])
    const err = refused(await door.call('connections.forget', { id }))
    expect(err.code).toBe('not-found')
    expect(err.message).toContain(id)
  })

  it('keeps view settings in main and tells every window when they change', async () => {
    expect(UiSettings.parse(answered(await door.call('settings.get'))).treeMode).toBe('infrastructure')
    const next = UiSettings.parse(answered(await door.call('settings.update', { treeMode: 'tags', showTemplates: true })))
    expect(next).toMatchObject({ treeMode: 'tags', showTemplates: true, theme: 'system' })
    const ev = await door.waitForEvent((e) => e.event === 'settings.changed')
    expect(UiSettings.parse(ev.payload).treeMode).toBe('tags')
    const bad = refused(await door.call('settings.update', { theme: 'solarized' }))
    expect(bad.code).toBe('invalid-args')
    expect(bad.message).toContain('theme')
  })

  it('says where remembered passwords go', async () => {
    const k = answered(await door.call('keychain.state')) as { backend: string; persistent: boolean; detail: string }
    expect(k).toMatchObject({ backend: 'memory', persistent: false })
    expect(k.detail).toContain('XENPILOT_PASSPHRASE')
  })

  it('answers every contract method it does not implement yet with not-implemented, never a crash', async () => {
    for (const name of Object.keys(contractMethods)) {
      const outcome = await door.call(name, {})
      if (!outcome.ok) expect(outcome.error.code, name).not.toBe('internal')
    }
  })

  it('only ever emits events the contract declares, with payloads that match it', async () => {
    const { id } = ConnectionState.parse(answered(await door.call('connections.add', validAdd)))
    await door.waitForEvent((e) => e.event === 'connection.state' && (e.payload as ConnectionState).status === 'awaiting-trust')
    answered(await door.call('connections.trust', { id, fingerprint256: door.pools.fingerprint }))
    answered(await door.call('objects.subscribe'))
    await door.waitForEvent((e) => e.event === 'pool.diff')
    expect(door.events.length).toBeGreaterThan(2)
    for (const e of door.events) {
      const schema = (contractEvents as Record<string, { safeParse(v: unknown): { success: boolean } }>)[e.event]
      expect(schema, e.event).toBeDefined()
      expect(schema?.safeParse(e.payload).success, e.event).toBe(true)
    }
  })
})

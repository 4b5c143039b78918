/**
 * A browser-mode instance is its --data-dir: stop it and start it again on the same folder and the
 * saved servers come back, trusted, and reconnect on their own — with passwords remembered in the
 * passphrase keychain. Another data dir sees none of it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConnectionState } from '../../../shared/contract'
import { startApp, type AppHarness } from '../../e2e/harness'

describe('restarting browser mode on the same data dir', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-restart-'))
  const env = { XENPILOT_PASSPHRASE: 'restart spec passphrase' }
  const open: AppHarness[] = []
  afterAll(async () => {
    for (const h of open.reverse()) await h.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('reconnects every saved server without a prompt; a fresh data dir has none', async () => {
    const first = await startApp({ fleet: 'tiny', trustPools: true, page: false, dataDir, env })
    open.push(first)
    const ids = (await first.api.call('connections.list', {})).map((c: ConnectionState) => c.id).sort()
    for (const id of ids) await first.api.waitForEvent('connection.state', (s) => s.id === id && s.status === 'connected')
    await first.api.call('settings.update', { treeMode: 'objects' })
    await first.app.close()
    // the seeded certificates say where they came from: the demo seed, not a user's confirmation
    const pins = JSON.parse(readFileSync(join(dataDir, 'pins.json'), 'utf8')) as { pins: Record<string, { source: string }> }
    const sources = new Set(Object.values(pins.pins).map((p) => p.source))
    expect(sources.has('demo')).toBe(true)
    expect(sources.has('user')).toBe(false)

    // same simulator (same certificates), same folder, no seed: everything must come from disk
    const second = await startApp({ sim: first.sim, page: false, dataDir, env })
    open.push(second)
    const listed = await second.api.call('connections.list', {})
    expect(listed.map((c: ConnectionState) => c.id).sort()).toEqual(ids)
    for (const id of ids) await second.api.waitForEvent('connection.state', (s) => s.id === id && s.status === 'connected')
    // the passwords came from the passphrase keychain file: nothing was typed in this run
    expect((await second.api.call('connections.list', {})).every((c: ConnectionState) => c.hasPassword && c.rememberPassword)).toBe(true)
    expect(second.api.events.some((e) => e.event === 'connection.state' && (e.payload as ConnectionState).status === 'awaiting-trust')).toBe(false)
    expect((await second.api.call('settings.get', {})).treeMode).toBe('objects')

    const other = await startApp({ sim: first.sim, page: false, env })
    open.push(other)
    expect(await other.api.call('connections.list', {})).toEqual([])
  })
})

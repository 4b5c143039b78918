/**
 * The alert calls XenPilot makes (issue 15 item 11: message.get_all_records to read them,
 * message.destroy to dismiss one) behave for clients written by others as they do against XAPI
 * (xapi_message.ml): an unknown or already dismissed message is HANDLE_INVALID [message, ref];
 * destroy_many stops at the first unknown ref. Official XenAPI Python client (XML-RPC) and Xen
 * Orchestra's `xen-api` (JSON-RPC, which sees the dismissal as an event).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl } from '../../sim/model'
import { tinyFleet } from '../../unit/sim/tiny-pool'
import { runPython } from '../../helpers/python'

let sim: SimControl
let tmp: string

beforeAll(async () => {
  const tiny = buildFleet('tiny', { addressBase: '127.97', opDurationMs: 0 })
  sim = await startSimulator({ fleet: tinyFleet(tiny.pools, 0) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-sim-message-clients-'))
}, 60_000)
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('official XenAPI Python client (os_xenapi, XML-RPC): alerts', () => {
  it('reads the alerts, dismisses one, gets HANDLE_INVALID for it the second time; destroy_many stops at an unknown ref', async () => {
    const pool = sim.pool('tiny-current')
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const cafile = join(tmp, `${pool.name}.pem`)
    await writeFile(cafile, master.certPem)
    const script = fileURLToPath(new URL('./xenapi_messages.py', import.meta.url))
    const out = JSON.parse(await runPython(script, [pool.masterUrl, cafile, pool.username, pool.password])) as Record<string, unknown>
    expect(out['count']).toBeGreaterThan(0)
    expect(out['fields']).toEqual(['body', 'cls', 'name', 'obj_uuid', 'priority', 'timestamp', 'uuid'])
    expect(out).toMatchObject({ created_in_list: true, record_name: 'XENPILOT_TEST_0', destroy: 'succeeded' })
    const again = out['destroy_again'] as string[]
    expect(again[0]).toBe('HANDLE_INVALID')
    expect(again[1]).toBe('message')
    expect(out['get_record_gone']).toEqual(again)
    expect(out['destroy_many_unknown']).toEqual(again)
    expect(out).toMatchObject({ b_left: false, c_left: true, destroy_many: 'succeeded', c_d_left: [], count_after: out['count'] })
  }, 120_000)
})

describe("Xen Orchestra's xen-api client (JSON-RPC): alerts", () => {
  let x: Xapi | undefined
  afterAll(async () => {
    await x?.disconnect().catch(() => undefined)
  })

  it('sees the alerts as objects, message.destroy removes one from its objects (event), a second destroy is HANDLE_INVALID', async () => {
    const pool = sim.pool('tiny-current')
    x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true, debounce: 50 })
    await x.connect()
    const client = x
    const messages = (): string[] => Object.values(client.objects.all).filter((o) => o.$type === 'message').map((o) => o.$ref)
    const deadline = Date.now() + 20_000
    while (messages().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const first = messages()[0]
    expect(first).toBeDefined()
    if (!first) return
    await x.call('message.destroy', first)
    while (messages().includes(first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(messages()).not.toContain(first)
    await expect(x.call('message.destroy', first)).rejects.toMatchObject({ code: 'HANDLE_INVALID', params: ['message', first] })
  }, 60_000)
})

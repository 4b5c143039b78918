import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import type { SimControl, SimHostHandle, SimPoolHandle } from '../../sim/model'
import { tinyFleet, tinyPool, type TinyPool } from '../../unit/sim/tiny-pool'
import { httpsRequest, jsonCall, jsonResult, xmlCall } from './client'
import { request } from 'node:https'
import { DEEP_VALUE_KEY } from '../../sim/server/faults'

let sim: SimControl
let tiny: TinyPool
let p: SimPoolHandle

beforeAll(async () => {
  tiny = tinyPool({ name: 'faulty', addressBase: '127.79.3', hostCount: 3 })
  sim = await startSimulator({ fleet: tinyFleet([tiny.spec]) })
  p = sim.pool('faulty')
})
afterAll(async () => {
  await sim?.stop()
})

function host(i: number): SimHostHandle {
  const h = p.hosts[i]
  if (!h) throw new Error(`no host ${i}`)
  return h
}
const master = (): SimHostHandle => {
  const h = p.hosts.find((x) => x.url === p.masterUrl)
  if (!h) throw new Error('no master')
  return h
}
const loginBody = xmlCall('session.login_with_password', ['root', 'secret'])

describe('injected faults on RPC responses', () => {
  it('delays a response, then answers normally', async () => {
    p.injectFault({ kind: 'delay', ms: 300 }, { once: true })
    const t0 = Date.now()
    const r = await httpsRequest(master(), { body: loginBody })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
    expect(r.body.toString()).toContain('<value>Success</value>')
  })

  it('sends a 502 HTML page, an HTTP 500, a truncated body, invalid UTF-8 — each only for the targeted method', async () => {
    p.injectFault({ kind: 'html-502', method: 'session.login_with_password' }, { once: true })
    const r502 = await httpsRequest(master(), { body: loginBody })
    expect(r502.status).toBe(502)
    expect(r502.headers['content-type']).toBe('text/html')
    expect(r502.body.toString()).toContain('502 Bad Gateway')

    p.injectFault({ kind: 'http-500' }, { once: true })
    expect((await httpsRequest(master(), { body: loginBody })).status).toBe(500)

    p.injectFault({ kind: 'truncated-xml' }, { once: true })
    const cut = await httpsRequest(master(), { body: loginBody })
    expect(cut.status).toBe(200)
    expect(cut.body.toString()).not.toContain('</methodResponse>')
    expect(cut.body.length).toBe(Number(cut.headers['content-length']))

    p.injectFault({ kind: 'invalid-utf8' }, { once: true })
    const bad = await httpsRequest(master(), { body: loginBody })
    expect(bad.body.includes(Buffer.from([0xff, 0xfe]))).toBe(true)

    p.injectFault({ kind: 'http-500', method: 'VM.get_all' })
    expect((await httpsRequest(master(), { body: loginBody })).status).toBe(200)
    p.clearFaults()
  })

  it('drops the connection in the middle of a response', async () => {
    p.injectFault({ kind: 'drop-mid-response' }, { once: true })
    await expect(httpsRequest(master(), { body: loginBody })).rejects.toThrow(/aborted|hang up|ECONNRESET|closed/i)
  })

  it('streams a response of hundreds of MB without building it first', async () => {
    p.injectFault({ kind: 'huge-response', bytes: 300 * 1024 * 1024 }, { once: true })
    const m = master()
    const u = new URL(m.url)
    const first = await new Promise<{ length: string | undefined; head: string }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: Number(u.port), method: 'POST', path: '/', ca: m.certPem, agent: false }, (res) => {
        res.once('data', (c: Buffer) => {
          resolve({ length: res.headers['content-length'], head: c.subarray(0, 60).toString() })
          res.destroy()
        })
      })
      req.on('error', reject)
      req.end(loginBody)
    })
    expect(Number(first.length)).toBe(300 * 1024 * 1024)
    expect(first.head).toMatch(/^<\?xml version="1.0"\?><methodResponse>/)
    // the server is still fine afterwards
    expect((await httpsRequest(master(), { body: loginBody })).body.toString()).toContain('Success')
  })

  it('deep-value: the real answer with a value 12,000 levels deep in its first other_config (XML-RPC get_all_records, JSON-RPC event.from)', async () => {
    const depthOf = (v: unknown): number => {
      let d = 0
      for (let x = v; Array.isArray(x); x = x[0] as unknown) d++
      return d
    }
    const sess = String(await jsonResult(master(), 'session.login_with_password', ['root', 'secret']))
    p.injectFault({ kind: 'deep-value', levels: 12_000, method: 'VM.get_all_records' }, { once: true })
    const xml = (await httpsRequest(master(), { body: xmlCall('VM.get_all_records', [sess]) })).body.toString()
    expect(xml).toContain(`<member><name>${DEEP_VALUE_KEY}</name>${'<value><array><data>'.repeat(12_000)}<value>x</value>`)
    expect(xml.endsWith('</methodResponse>')).toBe(true)
    // the fault was used up: the next answer is the real one
    expect((await httpsRequest(master(), { body: xmlCall('VM.get_all_records', [sess]) })).body.toString()).not.toContain(DEEP_VALUE_KEY)

    // event.from: a VM changes while the fault is on; its mod event carries the deep value (JSON.parse takes any depth)
    const { token } = (await jsonResult(master(), 'event.from', [sess, ['vm'], '', 0])) as { token: string }
    const vm = [...(p.objects.get('VM')?.entries() ?? [])].find(([, r]) => r['is_a_template'] === false && r['is_control_domain'] === false)
    if (!vm) throw new Error('no VM')
    p.injectFault({ kind: 'deep-value', levels: 12_000, method: 'event.from' })
    await p.call('VM.add_to_other_config', [vm[0], 'touched', 'yes'])
    const batch = (await jsonResult(master(), 'event.from', [sess, ['vm'], token, 5])) as { events: { ref: string; snapshot: { other_config: Record<string, unknown> } }[] }
    const ev = batch.events.find((e) => e.ref === vm[0])
    expect(ev?.snapshot.other_config['touched']).toBe('yes')
    expect(depthOf(ev?.snapshot.other_config[DEEP_VALUE_KEY])).toBe(12_000)
    p.clearFaults()
  })
})

describe('pool-level failures', () => {
  it('expires every session', async () => {
    const sess = String(await jsonResult(master(), 'session.login_with_password', ['root', 'secret']))
    p.expireAllSessions()
    expect((await jsonCall(master(), 'VM.get_all', [sess])).error).toEqual({ code: 1, message: 'SESSION_INVALID', data: [sess] })
  })

  it('restarts the toolstack: sessions, event tokens and task refs from before stop working', async () => {
    const sess = String(await jsonResult(master(), 'session.login_with_password', ['root', 'secret']))
    const batch = (await jsonResult(master(), 'event.from', [sess, ['vm'], '', 0])) as { token: string }
    const task = String(await jsonResult(master(), 'task.create', [sess, 'mine', '']))
    await p.restartToolstack()
    expect((await jsonCall(master(), 'VM.get_all', [sess])).error?.message).toBe('SESSION_INVALID')
    const sess2 = String(await jsonResult(master(), 'session.login_with_password', ['root', 'secret']))
    expect((await jsonCall(master(), 'event.from', [sess2, ['vm'], batch.token, 0])).error).toEqual({ code: 1, message: 'EVENT_FROM_TOKEN_PARSE_FAILURE', data: [batch.token] })
    expect((await jsonCall(master(), 'task.get_status', [sess2, task])).error).toEqual({ code: 1, message: 'HANDLE_INVALID', data: ['task', task] })
  })

  it('rotates a host certificate: new connections see the new fingerprint', async () => {
    const h = host(1)
    const before = h.fingerprint256
    const after = await p.rotateCertificate(h.address)
    expect(after).not.toBe(before)
    expect(h.fingerprint256).toBe(after)
    const r = await httpsRequest(h, { body: loginBody })
    expect(r.peerFingerprint256).toBe(after)
    const sess = String(await jsonResult(master(), 'session.login_with_password', ['root', 'secret']))
    expect(await jsonResult(master(), 'host.get_server_certificate', [sess, h.ref])).toBe(h.certPem)
  })

  it('fails the master: it stops answering, a member is promoted, others point to the new master', async () => {
    const oldMaster = master()
    const newAddress = await p.failMaster()
    expect(newAddress).toBe(host(1).address)
    expect(p.masterUrl).toBe(host(1).url)
    await expect(httpsRequest(oldMaster, { body: loginBody })).rejects.toThrow(/ECONNREFUSED/)
    const slave = await jsonCall(host(2), 'session.login_with_password', ['root', 'secret'])
    expect(slave.error).toEqual({ code: 1, message: 'HOST_IS_SLAVE', data: [newAddress] })
    const sess = String(await jsonResult(host(1), 'session.login_with_password', ['root', 'secret']))
    expect(await jsonResult(host(1), 'pool.get_master', [sess, tiny.refs.pool])).toBe(host(1).ref)
  })
})

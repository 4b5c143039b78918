import { X509Certificate } from 'node:crypto'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { tinyFleet, tinyPool, type TinyPool } from '../../unit/sim/tiny-pool'
import { httpsRequest, jsonCall, jsonResult, rawTls, readUntil, xmlCall } from './client'

let sim: SimControl
let current: TinyPool
let legacy: TinyPool
let cur: SimPoolHandle
let old: SimPoolHandle

beforeAll(async () => {
  current = tinyPool({ name: 'current', addressBase: '127.79.1' })
  legacy = tinyPool({ name: 'legacy', release: 'falcon', jsonRpc: false, addressBase: '127.79.2' })
  sim = await startSimulator({ fleet: tinyFleet([current.spec, legacy.spec]) })
  cur = sim.pool('current')
  old = sim.pool('legacy')
})
afterAll(async () => {
  await sim?.stop()
})

function master(p: SimPoolHandle) {
  const h = p.hosts.find((x) => p.masterUrl === x.url)
  if (!h) throw new Error('no master handle')
  return h
}

async function login(p: SimPoolHandle): Promise<string> {
  return String(await jsonResult(master(p), 'session.login_with_password', ['root', 'secret']))
}

describe('listeners', () => {
  it('puts every host on its own loopback address, all on one port, each with its own certificate', () => {
    const all = [...cur.hosts, ...old.hosts]
    expect(new Set(all.map((h) => new URL(h.url).port)).size).toBe(1)
    expect(all.map((h) => h.address)).toEqual(['127.79.1.1', '127.79.1.2', '127.79.2.1', '127.79.2.2'])
    expect(new Set(all.map((h) => h.fingerprint256)).size).toBe(4)
    for (const h of all) {
      const x = new X509Certificate(h.certPem)
      expect(x.subjectAltName).toBe(`IP Address:${h.address}`)
      expect(x.fingerprint256).toBe(h.fingerprint256)
      expect(h.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    }
  })

  it('serves XML-RPC on any POST path as text/xml and JSON-RPC on /jsonrpc as exactly application/json', async () => {
    const m = master(cur)
    for (const path of ['/', '/RPC2', '/xmlrpc']) {
      const r = await httpsRequest(m, { path, body: xmlCall('session.login_with_password', ['root', 'secret']) })
      expect(r.status).toBe(200)
      expect(r.headers['content-type']).toBe('text/xml')
      expect(r.body.toString()).toContain('<value>Success</value>')
      expect(r.peerFingerprint256).toBe(m.fingerprint256)
    }
    const j = await httpsRequest(m, { path: '/jsonrpc', body: JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: ['root', 'secret'], id: 1 }) })
    expect(j.headers['content-type']).toBe('application/json')
    expect(j.headers['access-control-allow-origin']).toBe('*')
    expect(JSON.parse(j.body.toString())).toMatchObject({ jsonrpc: '2.0', id: 1 })
  })

  it('has no JSON-RPC on a legacy host: /jsonrpc falls to the XML-RPC handler (text/xml), as on an old XenServer', async () => {
    const r = await httpsRequest(master(old), { path: '/jsonrpc', body: '{"jsonrpc":"2.0","method":"system.listMethods","params":[],"id":1}' })
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe('text/xml')
    expect(r.body.toString()).toContain('<value>XMLRPC_UNMARSHAL_FAILURE</value>')
  })

  it('answers garbage with XAPI-style errors and keeps serving', async () => {
    const m = master(cur)
    const empty = await httpsRequest(m, { body: '' })
    expect(empty.status).toBe(200)
    expect(empty.body.toString()).toContain('<value>XMLRPC_UNMARSHAL_FAILURE</value>')
    const notXml = await httpsRequest(m, { body: '\u0000\u0001 hello <<<' })
    expect(notXml.body.toString()).toContain('<value>Failure</value>')
    const badJson = await httpsRequest(m, { path: '/jsonrpc', body: '{"jsonrpc":"2.0","method":' })
    expect(badJson.headers['content-type']).toBe('application/json')
    expect(JSON.parse(badJson.body.toString())).toMatchObject({ error: { code: 1, message: 'JSONRPC_UNMARSHAL_FAILURE' } })
    const arity = await jsonCall(m, 'VM.get_record', [])
    expect(arity.error?.message).toBe('MESSAGE_PARAMETER_COUNT_MISMATCH')
    const sess = await login(cur)
    expect((await jsonCall(m, 'VM.get_record', [sess, 'OpaqueRef:00000000-0000-0000-0000-000000000000'])).error?.data).toEqual(['VM', 'OpaqueRef:00000000-0000-0000-0000-000000000000'])
    expect((await jsonCall(m, 'VM.start', [sess, current.refs.halted, 'yes', false])).error).toEqual({ code: 1, message: 'FIELD_TYPE_ERROR', data: ['start_paused'] })
    expect(await jsonResult(m, 'pool.get_all', [sess])).toEqual([current.refs.pool])
  })

  it('accepts a session made over XML-RPC on JSON-RPC', async () => {
    const r = await httpsRequest(master(cur), { body: xmlCall('session.login_with_password', ['root', 'secret']) })
    const sess = /<name>Value<\/name><value>(OpaqueRef:[^<]+)</.exec(r.body.toString())?.[1]
    expect(await jsonResult(master(cur), 'pool.get_all', [sess])).toEqual([current.refs.pool])
  })

  it('answers a member with HOST_IS_SLAVE [master address]', async () => {
    const member = cur.hosts[1]
    if (!member) throw new Error('no member')
    const r = await jsonCall(member, 'session.login_with_password', ['root', 'secret'])
    expect(r.error).toEqual({ code: 1, message: 'HOST_IS_SLAVE', data: ['127.79.1.1'] })
  })
})

describe('console and rrd handlers', () => {
  it('refuses a console for a halted VM and for a VM on another host, with a reason', async () => {
    const sess = await login(cur)
    const haltedUuid = String(await jsonResult(master(cur), 'VM.get_uuid', [sess, current.refs.halted]))
    const s = await rawTls(master(cur))
    s.write(`CONNECT /console?uuid=${haltedUuid} HTTP/1.0\r\nHost: x\r\nCookie: session_id=${sess}\r\n\r\n`)
    const reply = (await readUntil(s, (b) => b.includes('\n', b.indexOf('\r\n\r\n') + 4))).toString()
    expect(reply).toMatch(/^HTTP\/1\.1 404/)
    expect(reply).toContain('halted')
    s.destroy()

    const bad = await rawTls(master(cur))
    bad.write(`CONNECT /console?uuid=${haltedUuid}&session_id=OpaqueRef:nope HTTP/1.0\r\nHost: x\r\n\r\n`)
    expect((await readUntil(bad, (b) => b.includes('\r\n\r\n'))).toString()).toMatch(/^HTTP\/1\.1 403/)
    bad.destroy()
  })

  it('connects a running VM console on its resident host: 200 then RFB from the VM', async () => {
    const sess = await login(cur)
    await jsonResult(master(cur), 'VM.start_on', [sess, current.refs.halted, current.refs.hosts[1], false, false])
    const consoles = (await jsonResult(master(cur), 'VM.get_consoles', [sess, current.refs.halted])) as string[]
    expect(consoles).toHaveLength(1)
    const location = String(await jsonResult(master(cur), 'console.get_location', [sess, consoles[0]]))
    expect(location).toMatch(/^https:\/\/127\.79\.1\.2\/console\?uuid=[0-9a-f-]{36}$/)
    const member = cur.hosts[1]
    if (!member) throw new Error('no member')

    const wrong = await rawTls(master(cur))
    wrong.write(`CONNECT /console?ref=${current.refs.halted}&session_id=${sess} HTTP/1.0\r\n\r\n`)
    const wrongReply = (await readUntil(wrong, (b) => b.includes('\r\n\r\n'))).toString()
    expect(wrongReply).toMatch(/^HTTP\/1\.1 404/)
    wrong.destroy()

    const s = await rawTls(member)
    s.write(`CONNECT /console?${new URL(location).searchParams.toString()} HTTP/1.0\r\nHost: ${member.address}\r\nCookie: session_id=${sess}\r\n\r\n`)
    const got = await readUntil(s, (b) => b.length >= b.indexOf('\r\n\r\n') + 4 + 12 && b.includes('\r\n\r\n'))
    const head = got.subarray(0, got.indexOf('\r\n\r\n') + 4).toString()
    expect(head).toBe('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nCache-Control: no-cache, no-store\r\n\r\n')
    expect(got.subarray(head.length, head.length + 12).toString()).toBe('RFB 003.008\n')
    s.destroy()
    await jsonResult(master(cur), 'VM.hard_shutdown', [sess, current.refs.halted])
  })

  it('serves /rrd_updates for this host: XML by default, JSON with json=true, rows newest first', async () => {
    const sess = await login(cur)
    const start = Math.floor(Date.now() / 1000) - 60
    const x = await httpsRequest(master(cur), { method: 'GET', path: `/rrd_updates?session_id=${sess}&start=${start}&host=true`, headers: { accept: 'text/xml' } })
    expect(x.status).toBe(200)
    expect(x.body.toString()).toMatch(/<xport>[\s\S]*<legend>[\s\S]*AVERAGE:host:/)
    // xcp-rrdd: an Accept header that decides wins over the json query parameter
    const xmlWins = await httpsRequest(master(cur), { method: 'GET', path: `/rrd_updates?session_id=${sess}&start=${start}&host=true&json=true`, headers: { accept: 'text/xml' } })
    expect(xmlWins.body.toString()).toMatch(/^<\?xml/)
    const j = await httpsRequest(master(cur), { method: 'GET', path: `/rrd_updates?session_id=${sess}&start=${start}&host=true&json=true` })
    const parsed = JSON.parse(j.body.toString()) as { meta: { legend: string[] }; data: { t: number; values: string[] }[] }
    expect(parsed.meta.legend.some((l) => l.startsWith('AVERAGE:host:'))).toBe(true)
    expect(typeof parsed.data[0]?.values[0]).toBe('string')
    const ts = parsed.data.map((r) => r.t)
    expect(ts).toEqual([...ts].sort((a, b) => b - a))
  })

  it('carries the console over a WebSocket upgrade of GET /console (subprotocol binary), and refuses a halted VM', async () => {
    const sess = await login(cur)
    await jsonResult(master(cur), 'VM.start_on', [sess, current.refs.halted, current.refs.hosts[0], false, false])
    const uuid = String(await jsonResult(master(cur), 'VM.get_uuid', [sess, current.refs.halted]))
    const m = master(cur)
    const ws = new WebSocket(`wss://${m.address}:${new URL(m.url).port}/console?uuid=${uuid}`, 'binary', { ca: m.certPem, headers: { cookie: `session_id=${sess}` } })
    const first = await new Promise<Buffer>((resolve, reject) => {
      ws.once('message', (d: Buffer) => resolve(d))
      ws.once('error', reject)
    })
    expect(ws.protocol).toBe('binary')
    expect(first.subarray(0, 12).toString()).toBe('RFB 003.008\n')
    ws.close()
    await jsonResult(master(cur), 'VM.hard_shutdown', [sess, current.refs.halted])
    const refused = new WebSocket(`wss://${m.address}:${new URL(m.url).port}/console?uuid=${uuid}&session_id=${sess}`, 'binary', { ca: m.certPem })
    refused.on('error', () => undefined)
    const status = await new Promise<number>((resolve) => {
      refused.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0)
        refused.terminate()
      })
      refused.once('open', () => resolve(200))
    })
    expect(status).toBe(404)
  })

  it('requires start on /rrd_updates (400) and a session (401)', async () => {
    const sess = await login(cur)
    const noStart = await httpsRequest(master(cur), { method: 'GET', path: `/rrd_updates?session_id=${sess}` })
    expect(noStart.status).toBe(400)
    const noSession = await httpsRequest(master(cur), { method: 'GET', path: '/rrd_updates?start=0' })
    expect(noSession.status).toBe(401)
  })
})

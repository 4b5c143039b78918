import { describe, expect, it } from 'vitest'
import { CLASSES, RELEASES } from '../../../shared/xapi/datamodel.generated'
import { PoolState } from '../../sim/server/pool'
import { handleJsonRpc, handleXmlRpc } from '../../sim/server/rpc'
import { formatG16 } from '../../sim/server/out'
import type { SimRecord } from '../../sim/model'
import { tinyPool } from './tiny-pool'

function setup(opts: Parameters<typeof tinyPool>[0] = {}) {
  const t = tinyPool(opts)
  const pool = new PoolState(t.spec, 0)
  const master = { hostRef: t.refs.hosts[0] ?? '' }
  const member = { hostRef: t.refs.hosts[1] ?? '' }
  return { t, pool, master, member }
}

function xmlCall(method: string, params: string[]): string {
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${p}</param>`).join('')}</params></methodCall>`
}
const s = (v: string): string => `<value>${v}</value>`
const str = (v: string): string => `<value><string>${v}</string></value>`

async function xml(pool: PoolState, site: { hostRef: string }, method: string, params: string[]): Promise<string> {
  const r = await handleXmlRpc(pool, site, xmlCall(method, params))
  return Buffer.concat(r.body).toString('utf8')
}

async function json(pool: PoolState, site: { hostRef: string }, body: unknown): Promise<unknown> {
  const r = await handleJsonRpc(pool, site, typeof body === 'string' ? body : JSON.stringify(body))
  return JSON.parse(Buffer.concat(r.body).toString('utf8'))
}

async function login(pool: PoolState, site: { hostRef: string }): Promise<string> {
  const out = await xml(pool, site, 'session.login_with_password', [str('root'), str('secret')])
  const m = /<name>Value<\/name><value>(OpaqueRef:[^<]+)<\/value>/.exec(out)
  if (!m?.[1]) throw new Error(`login failed: ${out}`)
  return m[1]
}

describe('XML-RPC envelope and encodings', () => {
  it('answers Status/Value with untyped strings and int64, <double>, <boolean> and hyphen-less dates', async () => {
    const { t, pool, master } = setup()
    const sess = await login(pool, master)
    const rec = await xml(pool, master, 'VM.get_record', [s(sess), s(t.refs.halted)])
    expect(rec).toMatch(/^<\?xml version="1.0"\?><methodResponse><params><param><value><struct><member><name>Status<\/name><value>Success<\/value><\/member><member><name>Value<\/name>/)
    expect(rec).toContain('<member><name>memory_static_max</name><value>2147483648</value></member>')
    expect(rec).toContain('<member><name>name_label</name><value>db-01</value></member>')
    expect(rec).toContain('<member><name>is_a_template</name><value><boolean>0</boolean></value></member>')
    expect(rec).toMatch(/<member><name>HVM_shadow_multiplier<\/name><value><double>1<\/double><\/value><\/member>/)
    expect(rec).toContain('<member><name>snapshot_time</name><value><dateTime.iso8601>19700101T00:00:00Z</dateTime.iso8601></value></member>')
    expect(rec).not.toContain('<fault>')
  })

  it('reports failures as Status=Failure with ErrorDescription [code, params…], never <fault>', async () => {
    const { pool, master } = setup()
    const out = await xml(pool, master, 'VM.get_all', [s('OpaqueRef:nope')])
    expect(out).toContain('<member><name>Status</name><value>Failure</value></member>')
    expect(out).toContain('<member><name>ErrorDescription</name><value><array><data><value>SESSION_INVALID</value><value>OpaqueRef:nope</value></data></array></value></member>')
    expect(out).not.toContain('fault')
  })

  it('answers system.listMethods with a bare array of every wire name, Async.* included', async () => {
    const { pool, master } = setup()
    const out = await xml(pool, master, 'system.listMethods', [])
    expect(out).not.toContain('Status')
    expect(out).toContain('<value>VM.get_all_records</value>')
    expect(out).toContain('<value>Async.VM.start</value>')
    expect(out).toContain('<value>session.login_with_password</value>')
    expect(out).not.toContain('<value>Async.VM.get_name_label</value>')
  })

  it('turns malformed XML into an XAPI failure, not a crash', async () => {
    const { pool, master } = setup()
    const r = await handleXmlRpc(pool, master, '<methodCall><methodName>VM.get_all</methodName><params><param><value>')
    const out = Buffer.concat(r.body).toString()
    expect(out).toContain('<value>XMLRPC_UNMARSHAL_FAILURE</value>')
  })

  it('formats floats like OCaml %.16g', () => {
    expect(formatG16(1)).toBe('1')
    expect(formatG16(0.1)).toBe('0.1')
    expect(formatG16(0.0123)).toBe('0.0123')
    expect(formatG16(1e-7)).toBe('1e-07')
    expect(formatG16(NaN)).toBe('nan')
  })
})

describe('sessions', () => {
  it('accepts login with 2, 3 or 4 arguments and rejects 1 or 5', async () => {
    const { pool, master } = setup()
    for (const n of [2, 3, 4]) {
      const args = [str('root'), str('secret'), str('1.1'), str('test')].slice(0, n)
      expect(await xml(pool, master, 'session.login_with_password', args)).toContain('<value>Success</value>')
    }
    const one = await xml(pool, master, 'session.login_with_password', [str('root')])
    expect(one).toContain('<value>MESSAGE_PARAMETER_COUNT_MISMATCH</value><value>session.login_with_password</value><value>4</value><value>1</value>')
  })

  it('fails a bad password with SESSION_AUTHENTICATION_FAILED [uname, msg]', async () => {
    const { pool, master } = setup()
    const out = await xml(pool, master, 'session.login_with_password', [str('root'), str('wrong')])
    expect(out).toContain('<value>SESSION_AUTHENTICATION_FAILED</value><value>root</value>')
  })

  it('answers login and session calls on a member with HOST_IS_SLAVE [master address]', async () => {
    const { pool, master, member, t } = setup()
    const out = await xml(pool, member, 'session.login_with_password', [str('root'), str('secret')])
    expect(out).toContain(`<value>HOST_IS_SLAVE</value><value>${t.spec.hosts[0]?.address}</value>`)
    const sess = await login(pool, master)
    expect(await xml(pool, member, 'VM.get_all', [s(sess)])).toContain('<value>HOST_IS_SLAVE</value>')
  })

  it('shares sessions between XML-RPC and JSON-RPC, and logout ends them', async () => {
    const { pool, master } = setup()
    const sess = await login(pool, master)
    const r = (await json(pool, master, { jsonrpc: '2.0', method: 'VM.get_all', params: [sess], id: 7 })) as { result: string[]; id: number }
    expect(r.id).toBe(7)
    expect(r.result.length).toBeGreaterThan(3)
    await json(pool, master, { jsonrpc: '2.0', method: 'session.logout', params: [sess], id: 8 })
    const after = (await json(pool, master, { jsonrpc: '2.0', method: 'VM.get_all', params: [sess], id: 9 })) as { error: unknown }
    expect(after.error).toEqual({ code: 1, message: 'SESSION_INVALID', data: [sess] })
  })
})

describe('JSON-RPC', () => {
  it('answers v2 and v1 in their own shapes, ints as numbers', async () => {
    const { t, pool, master } = setup()
    const sess = await login(pool, master)
    const v2 = (await json(pool, master, { jsonrpc: '2.0', method: 'VM.get_memory_static_max', params: [sess, t.refs.halted], id: 'a' })) as Record<string, unknown>
    expect(v2).toEqual({ jsonrpc: '2.0', result: 2147483648, id: 'a' })
    const v1 = (await json(pool, master, { method: 'VM.get_name_label', params: [sess, t.refs.halted], id: 1 })) as Record<string, unknown>
    expect(v1).toEqual({ result: 'db-01', error: null, id: 1 })
    const v1err = (await json(pool, master, { method: 'VM.get_name_label', params: [sess, 'OpaqueRef:x'], id: 2 })) as Record<string, unknown>
    expect(v1err).toEqual({ result: null, error: ['HANDLE_INVALID', 'VM', 'OpaqueRef:x'], id: 2 })
  })

  it('writes non-finite floats as NaN/Infinity tokens', async () => {
    const { t, pool, master } = setup()
    pool.db.update('VM', t.refs.halted, { HVM_shadow_multiplier: NaN })
    const sess = await login(pool, master)
    const r = await handleJsonRpc(pool, master, JSON.stringify({ jsonrpc: '2.0', method: 'VM.get_HVM_shadow_multiplier', params: [sess, t.refs.halted], id: 1 }))
    expect(Buffer.concat(r.body).toString()).toBe('{"jsonrpc":"2.0","result":NaN,"id":1}')
  })

  it('turns malformed JSON or a missing id into an error object', async () => {
    const { pool, master } = setup()
    const bad = (await json(pool, master, '{"method": "VM.get_all", ')) as { error: { message: string } }
    expect(bad.error.message).toBe('JSONRPC_UNMARSHAL_FAILURE')
    const noId = (await json(pool, master, { jsonrpc: '2.0', method: 'VM.get_all', params: [] })) as { error: { message: string } }
    expect(noId.error.message).toBe('JSONRPC_UNMARSHAL_FAILURE')
  })
})

describe('generated methods', () => {
  it('exist for every class of the release', async () => {
    const { pool } = setup()
    const names = new Set(pool.schema.listMethods())
    for (const c of CLASSES) {
      if (!pool.schema.classes.has(c.name) || c.name === 'session' || c.name === 'event') continue
      if (c.messages.some((m) => m[0] === 'get_all_records')) expect(names.has(`${c.name}.get_all_records`)).toBe(true)
    }
  })

  it('reads, writes, edits maps and sets, and validates refs and uuids', async () => {
    const { t, pool, master } = setup()
    const sess = await login(pool, master)
    const call = async (method: string, params: unknown[]) => (await json(pool, master, { jsonrpc: '2.0', method, params: [sess, ...params], id: 1 })) as { result?: unknown; error?: { message: string; data: unknown[] } }
    await call('VM.set_name_label', [t.refs.halted, 'db-02'])
    expect((await call('VM.get_name_label', [t.refs.halted])).result).toBe('db-02')
    expect((await call('VM.get_by_name_label', ['db-02'])).result).toEqual([t.refs.halted])
    await call('VM.add_to_other_config', [t.refs.halted, 'k', 'v'])
    expect((await call('VM.add_to_other_config', [t.refs.halted, 'k', 'v'])).error?.message).toBe('MAP_DUPLICATE_KEY')
    expect((await call('VM.get_other_config', [t.refs.halted])).result).toEqual({ k: 'v' })
    await call('VM.remove_from_other_config', [t.refs.halted, 'k'])
    expect((await call('VM.get_other_config', [t.refs.halted])).result).toEqual({})
    await call('VM.add_tags', [t.refs.halted, 'prod'])
    expect((await call('VM.get_tags', [t.refs.halted])).result).toEqual(['prod'])
    await call('VM.remove_tags', [t.refs.halted, 'prod'])
    expect((await call('VM.get_tags', [t.refs.halted])).result).toEqual([])
    const uuid = (await call('VM.get_uuid', [t.refs.halted])).result
    expect((await call('VM.get_by_uuid', [uuid])).result).toBe(t.refs.halted)
    expect((await call('VM.get_by_uuid', ['00000000-0000-0000-0000-000000000000'])).error?.data).toEqual(['VM', '00000000-0000-0000-0000-000000000000'])
    expect((await call('VM.get_record', ['OpaqueRef:bad'])).error).toEqual({ code: 1, message: 'HANDLE_INVALID', data: ['VM', 'OpaqueRef:bad'] })
    expect((await call('VM.get_all_records', [])).result).toHaveProperty(t.refs.halted)
  })

  it('rejects wrong arity, accepts omitted defaulted trailing params, and knows no unknown methods', async () => {
    const { t, pool, master } = setup()
    const sess = await login(pool, master)
    const mismatch = await xml(pool, master, 'VM.get_name_label', [s(sess)])
    expect(mismatch).toContain('<value>MESSAGE_PARAMETER_COUNT_MISMATCH</value><value>VM.get_name_label</value><value>2</value><value>1</value>')
    const snap = await xml(pool, master, 'VM.snapshot', [s(sess), s(t.refs.halted), s('snap')])
    expect(snap).toContain('<value>Success</value>')
    expect(await xml(pool, master, 'VM.frobnicate', [s(sess)])).toContain('<value>MESSAGE_METHOD_UNKNOWN</value><value>VM.frobnicate</value>')
    expect(await xml(pool, master, 'Async.VM.get_name_label', [s(sess), s(t.refs.halted)])).toContain('<value>Fault</value>')
  })

  it('hides fields and methods newer than the emulated release', async () => {
    const falcon = RELEASES.indexOf('falcon')
    const newer = CLASSES.find((c) => c.name === 'VM')?.fields.find((f) => f[4] > falcon)
    expect(newer).toBeDefined()
    const { t, pool, master } = setup({ release: 'falcon' })
    const sess = await login(pool, master)
    const rec = await xml(pool, master, 'VM.get_record', [s(sess), s(t.refs.halted)])
    expect(rec).not.toContain(`<name>${newer?.[0]}</name>`)
    expect(await xml(pool, master, `VM.get_${newer?.[0]}`, [s(sess), s(t.refs.halted)])).toContain('MESSAGE_METHOD_UNKNOWN')
  })
})

describe('compiled record encoders', () => {
  it('write exactly what the generic type-directed encoder writes, odd values included', async () => {
    const { XmlEncoder } = await import('../../sim/server/xmlrpc')
    const { JsonEncoder } = await import('../../sim/server/jsonrpc')
    const { pool, t } = setup()
    const xmlEnc = new XmlEncoder(pool.schema)
    const jsonEnc = new JsonEncoder(pool.schema)
    const odd: SimRecord = { ...pool.db.must('VM', t.refs.halted), name_label: 'a <b> & "c"', other_config: { 'k&': 'v<', n: 'x' }, is_a_template: 'true', memory_static_max: '123', HVM_shadow_multiplier: Infinity }
    delete odd['tags']
    for (const [cls, rec] of [...[...pool.db.tables].flatMap(([c, tb]) => [...tb.values()].map((r) => [c, r] as const)), ['VM', odd] as const]) {
      const c = pool.schema.classes.get(cls)
      if (!c) continue
      const generic = `<value><struct>${c.fields.map((f) => `<member><name>${f.name}</name>${xmlEnc.str(f.type, rec[f.name])}</member>`).join('')}</struct></value>`
      expect(xmlEnc.record(cls, rec).toString()).toBe(generic)
      const json = JSON.parse(jsonEnc.record(cls, rec).toString().replace(/\bInfinity\b/g, '"Infinity"')) as Record<string, unknown>
      expect(Object.keys(json).sort()).toEqual(c.fields.map((f) => f.name).sort())
    }
    expect(xmlEnc.record('VM', odd).toString()).toContain('<member><name>name_label</name><value>a &lt;b&gt; &amp; &quot;c&quot;</value></member>')
    expect(jsonEnc.record('VM', odd).toString()).toContain('"HVM_shadow_multiplier":Infinity')
    expect(jsonEnc.record('VM', odd).toString()).toContain('"memory_static_max":123')
  })
})

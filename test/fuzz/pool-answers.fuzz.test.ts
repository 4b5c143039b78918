/**
 * Fuzz suite (issue 12): seeded, mutated XML-RPC and JSON-RPC pool answers — whole and split into
 * random chunks, as the socket delivers them — through the parser, the normaliser and the cache's
 * row encoding, the path every pool answer takes. Each body must end in a result or in one of the
 * documented errors (XmlRpcParseError, JsonParseError, Utf8StreamError, UnstorableRecordError);
 * never anything else, never an uncaught exception; whole and split must agree (the same result, or
 * both an error); and the work per
 * body is bounded in bytes: what comes out (the result's JSON, the cache rows) is at most a fixed
 * multiple of what went in, and walking it takes at most one step per input byte (no entity or
 * nesting blow-up). A failure names the seed and the body's index: FUZZ_SEED=<seed> reproduces it.
 */
import { describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import { rng } from '../unit/xapi/rng'
import { JsonParseError } from '../../main/xapi/json-safe'
import { JsonRpcResponseParser } from '../../main/xapi/json-stream'
import { normaliseResult, streamedNormalisation } from '../../main/xapi/normalise'
import { Utf8StreamError, StrictUtf8Stream } from '../../main/xapi/utf8'
import type { WireValue } from '../../main/xapi/wire'
import { XmlRpcParseError, XmlRpcResponseParser } from '../../main/xapi/xmlrpc'
import { toRow, UnstorableRecordError } from '../../main/cache/serialize'

const SEED = Number(process.env.FUZZ_SEED ?? 20261207)
const BODIES_PER_PROTOCOL = 5_000
const DOCUMENTED = [XmlRpcParseError, JsonParseError, Utf8StreamError, UnstorableRecordError] as const
const METHODS = ['VM.get_all_records', 'event.from', 'VM.get_record', 'host.get_name_label', 'pool.get_all', 'VM.get_VBDs'] as const
type Method = (typeof METHODS)[number]

// ---- seed corpus: real-shaped records from the simulator's tiny fleet ----------------------------
const fleet = buildFleet('tiny', { addressBase: '127.95', opDurationMs: 0 })
const simPool = fleet.pools[0]
if (!simPool) throw new Error('tiny fleet has no pool')
const vms = [...(simPool.objects.get('VM') ?? new Map())].slice(0, 4)
const hostRec = [...(simPool.objects.get('host') ?? new Map())][0]

function wireOf(method: Method): WireValue {
  const clone = (v: unknown): WireValue => JSON.parse(JSON.stringify(v)) as WireValue
  switch (method) {
    case 'VM.get_all_records':
      return Object.fromEntries(vms.map(([ref, r]) => [ref, clone(r)]))
    case 'VM.get_record':
      return clone(vms[0]?.[1] ?? {})
    case 'event.from':
      return {
        events: vms.map(([ref, r], i) => ({ id: String(i + 1), timestamp: '20261207T12:00:00Z', class: 'vm', operation: 'mod', ref, snapshot: clone(r) })),
        valid_ref_counts: { VM: vms.length },
        token: '00000000000000000042,00000000000000000001',
      }
    case 'host.get_name_label':
      return String(hostRec?.[1]?.name_label ?? 'host')
    case 'pool.get_all':
      return ['OpaqueRef:pool']
    case 'VM.get_VBDs':
      return ['OpaqueRef:a', 'OpaqueRef:b']
  }
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
function xmlValue(v: WireValue): string {
  if (v === null) return '<value><nil/></value>'
  if (typeof v === 'string') return `<value>${esc(v)}</value>`
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`
  if (typeof v === 'number') return Number.isInteger(v) ? `<value><string>${v}</string></value>` : `<value><double>${v}</double></value>`
  if (Array.isArray(v)) return `<value><array><data>${v.map(xmlValue).join('')}</data></array></value>`
  return `<value><struct>${Object.entries(v)
    .map(([k, x]) => `<member><name>${esc(k)}</name>${xmlValue(x)}</member>`)
    .join('')}</struct></value>`
}
const xmlBody = (v: WireValue): string =>
  `<?xml version="1.0"?>\n<methodResponse><params><param>${xmlValue({ Status: 'Success', Value: v })}</param></params></methodResponse>`
const jsonBody = (v: WireValue): string => JSON.stringify({ jsonrpc: '2.0', result: v, id: 1 })

// ---- mutations ------------------------------------------------------------------------------------
const XML_BITS = ['<value>', '</value>', '<struct>', '</struct>', '<member>', '<name>', '</name>', '<array><data>', '</data></array>', '<int>', '<double>', '<![CDATA[', ']]>', '&amp;', '&#x0;', '&#99999999;', '&lt;', '<!--', '-->', '<?xml', '<nil/>', '<dateTime.iso8601>', '\u0000', '\uFFFF', '"', "'", '>']
const JSON_BITS = ['{', '}', '[', ']', ',', ':', '"', '\\', '\\u', '\\ud800', 'NaN', '-Infinity', 'null', 'true', '1e309', '-0', '12345678901234567890123', '"OpaqueRef:', '\u0000', '\u2028']

function mutate(body: string, xml: boolean, rand: () => number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const at = (): number => Math.floor(rand() * (s.length + 1))
  let s = body
  const n = 1 + Math.floor(rand() * 4)
  for (let i = 0; i < n; i++) {
    switch (Math.floor(rand() * 9)) {
      case 0: {
        const p = at()
        s = s.slice(0, p) + pick(xml ? XML_BITS : JSON_BITS) + s.slice(p)
        break
      }
      case 1: {
        const p = at()
        s = s.slice(0, p) + s.slice(p + 1 + Math.floor(rand() * 40))
        break
      }
      case 2: {
        const p = at()
        const len = Math.floor(rand() * 200)
        s = s.slice(0, p) + s.slice(p, p + len).repeat(1 + Math.floor(rand() * 3)) + s.slice(p)
        break
      }
      case 3:
        s = s.slice(0, at())
        break
      case 4: {
        // deep nesting, past MAX_NESTING or just under it
        const depth = rand() < 0.5 ? 200 + Math.floor(rand() * 100) : 1000 + Math.floor(rand() * 4000)
        const open = xml ? '<value><array><data>' : '['
        const close = xml ? '</data></array></value>' : ']'
        const inner = xml ? '<value>x</value>' : '"x"'
        const nest = open.repeat(depth) + inner + close.repeat(rand() < 0.8 ? depth : Math.floor(depth / 2))
        const anchor = xml ? s.indexOf('<value>', Math.floor(rand() * s.length)) : s.indexOf(':', Math.floor(rand() * s.length))
        if (anchor > 0) s = xml ? s.slice(0, anchor) + nest + s.slice(anchor) : s.slice(0, anchor + 1) + nest + ',' + s.slice(anchor + 1)
        break
      }
      case 5: {
        const p = at()
        s = s.slice(0, p) + String.fromCharCode(Math.floor(rand() * 0x2fff)) + s.slice(p)
        break
      }
      case 6: {
        const a = at()
        const b = at()
        const [x, y] = a < b ? [a, b] : [b, a]
        s = s.slice(0, x) + s.slice(y) + s.slice(x, y)
        break
      }
      case 7: {
        // a number where a string was, or the reverse
        s = xml ? s.replace(/<value>([^<]{1,20})<\/value>/, rand() < 0.5 ? '<value><int>$1</int></value>' : '<value><double>$1</double></value>') : s.replace(/"([0-9]{1,12})"/, '$1')
        break
      }
      default:
        break
    }
  }
  const buf = Buffer.from(s, 'utf8')
  // raw byte damage: invalid UTF-8, a NUL, a cut sequence
  if (rand() < 0.15 && buf.length > 0) {
    const p = Math.floor(rand() * buf.length)
    buf[p] = pick([0xff, 0xc3, 0x80, 0x00, 0xed, 0xf4])
  }
  return buf
}

function chunks(buf: Buffer, rand: () => number): Buffer[] {
  const out: Buffer[] = []
  let i = 0
  while (i < buf.length) {
    const len = rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 1 + Math.floor(rand() * 2048)
    out.push(buf.subarray(i, i + len))
    i += len
  }
  return out
}

// ---- the path every answer takes ----------------------------------------------------------------
interface Outcome {
  ok: boolean
  error?: string
  /** JSON of the normalised result plus the cache rows made of it */
  out?: string
  steps: number
}

/** values walked, to bound the work done on what the parser returned */
function walk(v: unknown, budget: { steps: number }): void {
  const stack: unknown[] = [v]
  while (stack.length) {
    const x = stack.pop()
    budget.steps++
    if (Array.isArray(x)) for (const y of x) stack.push(y)
    else if (typeof x === 'object' && x !== null) for (const y of Object.values(x)) stack.push(y)
  }
}

function run(method: Method, body: Buffer, xml: boolean, parts: Buffer[] | undefined): Outcome {
  const budget = { steps: 0 }
  try {
    const entries: [string, unknown][] = []
    const streamed = streamedNormalisation(method, (k, v) => entries.push([k, v]))
    let wire: WireValue
    if (xml) {
      const decoder = new StrictUtf8Stream()
      const parser = new XmlRpcResponseParser(streamed?.hooks)
      for (const c of parts ?? [body]) parser.write(decoder.write(c))
      parser.write(decoder.end())
      const env = parser.end()
      wire = typeof env === 'object' && env !== null && !Array.isArray(env) && env.Status === 'Success' ? (env.Value ?? '') : env
    } else {
      const parser = new JsonRpcResponseParser(streamed?.hooks)
      for (const c of parts ?? [body]) parser.write(c)
      const env = parser.end()
      wire = typeof env === 'object' && env !== null && !Array.isArray(env) && 'result' in env ? (env.result ?? '') : env
    }
    const result = streamed ? streamed.finish(wire) : normaliseResult(method, wire)
    walk(result, budget)
    // cache row encoding of every record the answer carried
    const rows: string[] = []
    const records: [string, unknown][] = method === 'VM.get_all_records' ? entries : method === 'VM.get_record' ? [['OpaqueRef:x', result]] : []
    if (method === 'event.from' && typeof result === 'object' && result !== null && 'events' in result && Array.isArray(result.events)) {
      for (const e of result.events as unknown[]) if (typeof e === 'object' && e !== null && 'snapshot' in e) records.push([String((e as { ref?: unknown }).ref ?? ''), (e as { snapshot: unknown }).snapshot])
    }
    for (const [ref, rec] of records) {
      walk(rec, budget)
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) continue
      try {
        rows.push(toRow({ cls: 'VM', ref, record: rec as Record<string, unknown> }).json)
      } catch (e) {
        // a record the cache cannot store is left out (and said); the rest go on
        if (!(e instanceof UnstorableRecordError)) throw e
      }
    }
    return { ok: true, out: JSON.stringify(result) + rows.join(''), steps: budget.steps }
  } catch (e) {
    if (DOCUMENTED.some((C) => e instanceof C)) return { ok: false, error: (e as Error).constructor.name, steps: budget.steps }
    throw e
  }
}

describe.each([
  ['XML-RPC', true],
  ['JSON-RPC', false],
] as const)('%s answers, mutated', (_name, xml) => {
  it(`${BODIES_PER_PROTOCOL} bodies, whole and in random chunks: a result or a documented error, the same either way, bounded output`, { timeout: 180_000 }, () => {
    const rand = rng(SEED + (xml ? 1 : 2))
    const seen = { ok: 0, errors: new Map<string, number>() }
    for (let i = 0; i < BODIES_PER_PROTOCOL; i++) {
      const method = METHODS[Math.floor(rand() * METHODS.length)] ?? 'VM.get_record'
      const clean = xml ? xmlBody(wireOf(method)) : jsonBody(wireOf(method))
      const body = i % 10 === 0 ? Buffer.from(clean) : mutate(clean, xml, rand)
      const where = `seed ${SEED}, ${xml ? 'XML-RPC' : 'JSON-RPC'} body ${i} (${method}), starting ${JSON.stringify(body.subarray(0, 80).toString('latin1'))}`
      let whole: Outcome
      let split: Outcome
      try {
        whole = run(method, body, xml, undefined)
        split = run(method, body, xml, chunks(body, rand))
      } catch (e) {
        throw new Error(`${where}: an undocumented ${(e as Error)?.constructor?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`)
      }
      expect(split.ok, `${where}: whole ${whole.error ?? 'ok'}, split ${split.error ?? 'ok'}`).toBe(whole.ok)
      if (whole.ok) {
        expect(split.out, where).toBe(whole.out)
        // bounded work: output at most 3× the input (+ envelope), one walk step per input byte at most
        expect((whole.out ?? '').length, where).toBeLessThanOrEqual(3 * body.length + 1024)
        expect(whole.steps, where).toBeLessThanOrEqual(body.length)
        seen.ok++
      } else {
        // which of a body's problems is met first may depend on where it was cut (a parse error before
        // the invalid byte): both are documented errors
        seen.errors.set(whole.error ?? '', (seen.errors.get(whole.error ?? '') ?? 0) + 1)
      }
    }
    // the corpus exercises both outcomes
    expect(seen.ok).toBeGreaterThan(BODIES_PER_PROTOCOL / 20)
    expect([...seen.errors.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(BODIES_PER_PROTOCOL / 4)
  })
})

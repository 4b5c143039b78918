/**
 * Codec choices measured against the packages they were chosen over (`npm run bench codecs`); each
 * BENCH line's baseline is the package, measured in the same run (min CPU of up to 4–5 runs, fewer when a
 * loaded machine makes them slow: each part stops repeating after 20 s, so the bench ends in bounded time):
 *  - codecs.xmlrpc.serialize: main/xapi/xmlrpc-serialize.ts serializeMethodCall against the `xmlrpc`
 *    package's serializer (xmlbuilder underneath) on the method calls XenPilot sends most (login,
 *    event.from, get_all_records, VM.start, a VM.set_memory_limits with int64 sizes). The package is
 *    not used for a second reason besides its cost: it writes integers as <int> (XML-RPC's 32-bit
 *    int), while XAPI takes int64 parameters as decimal strings, so memory sizes past 2 GiB would
 *    need converting first anyway (printed as `int_mismatch`: calls whose body differs).
 *  - codecs.json.get-all-records: main/xapi/json-safe.ts parseJsonSafe against lossless-json's parse
 *    (numbers beyond 2^53 kept as strings, like parseJsonSafe) on bench-10k's VM.get_all_records
 *    JSON-RPC body, with one int64 beyond 2^53 so both take their 64-bit-safe path.
 *  - codecs.xmlrpc.parse: main/xapi/xmlrpc.ts XmlRpcResponseParser against the saxes-based parser it
 *    replaced (test/unit/xapi/xmlrpc-saxes-reference.ts) on 2,000 of bench-10k's VM records as the
 *    simulator encodes them for XML-RPC, whole text.
 */
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { isSafeNumber, parse as losslessParse } from 'lossless-json'
import { parseJsonSafe } from '../../main/xapi/json-safe'
import { XmlRpcDouble, serializeMethodCall, type XmlRpcParam } from '../../main/xapi/xmlrpc-serialize'
import { XmlRpcResponseParser } from '../../main/xapi/xmlrpc'
import { buildFleet } from '../sim/fleet'
import { schemaFor } from '../sim/server/schema'
import { XmlEncoder } from '../sim/server/xmlrpc'
import { saxesParseXmlRpcResponse } from '../unit/xapi/xmlrpc-saxes-reference'

const require = createRequire(import.meta.url)
const pkg = require('xmlrpc/lib/serializer.js') as { serializeMethodCall(method: string, params: unknown[], encoding?: string): string }

function bench(name: string, value: number, unit: string, baseline: number, extra: Record<string, unknown> = {}): void {
  const load1 = Math.round((loadavg()[0] ?? 0) * 10) / 10
  console.log(`BENCH ${JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, baseline: Math.round(baseline * 100) / 100, ...extra, ratio: Math.round((value / baseline) * 1000) / 1000, load1 })}`)
}
const gc = (): void => (globalThis as { gc?: () => void }).gc?.()

/**
 * min CPU ms of up to `runs` runs of fn, in bounded time: after the first two runs it stops once
 * `budgetMs` of wall time went by (a loaded machine gets fewer runs, not a longer wait; the number
 * of runs each figure took is printed as `runs`/`baselineRuns`)
 */
function minCpu(runs: number, fn: () => void, budgetMs = 20_000): { ms: number; runs: number } {
  let best = Infinity
  const start = Date.now()
  let r = 0
  while (r < runs && (r < 2 || Date.now() - start < budgetMs)) {
    gc()
    const c0 = process.cpuUsage()
    fn()
    const c = process.cpuUsage(c0)
    best = Math.min(best, (c.user + c.system) / 1000)
    r++
  }
  return { ms: best, runs: r }
}

// --- XML-RPC method calls ------------------------------------------------------------------------
const session = 'OpaqueRef:4f2c3a7e-1b9d-4c5e-8a6f-0d2e9b7c1a33'
const vm = 'OpaqueRef:9d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a'
const calls: [string, XmlRpcParam[], unknown[]][] = [
  ['session.login_with_password', ['root', 'secret & <pass>', '1.0', 'XenPilot'], ['root', 'secret & <pass>', '1.0', 'XenPilot']],
  ['event.from', [session, ['*'], '1764000000.123,0', new XmlRpcDouble(30.5)], [session, ['*'], '1764000000.123,0', 30.5]],
  ['VM.get_all_records', [session], [session]],
  ['VM.start', [session, vm, false, false], [session, vm, false, false]],
  ['VM.set_memory_limits', [session, vm, 4294967296, 4294967296, 8589934592, 8589934592], [session, vm, 4294967296, 4294967296, 8589934592, 8589934592]],
]
const N = 20_000
let mismatch = 0
for (const [m, ours, theirs] of calls) if (serializeMethodCall(m, ours).replace('<?xml version="1.0"?>', '') !== pkg.serializeMethodCall(m, theirs).replace(/<\?xml[^>]*\?>/, '')) mismatch++
const ours = minCpu(5, () => {
  for (let i = 0; i < N; i++) for (const [m, p] of calls) serializeMethodCall(m, p)
})
const theirs = minCpu(5, () => {
  for (let i = 0; i < N; i++) for (const [m, , p] of calls) pkg.serializeMethodCall(m, p)
})
const perCall = (ms: number): number => (ms * 1000) / (N * calls.length)
bench('codecs.xmlrpc.serialize: serializeMethodCall vs the xmlrpc package, per method call', perCall(ours.ms), 'µs CPU', perCall(theirs.ms), { baselineName: 'xmlrpc package serializeMethodCall', calls: calls.length, int_mismatch: mismatch, runs: ours.runs, baselineRuns: theirs.runs })

// --- JSON-RPC get_all_records --------------------------------------------------------------------
const pool = buildFleet('bench-10k').pools[0]
if (!pool) throw new Error('bench-10k has no pool')
const records: Record<string, unknown> = {}
for (const [ref, rec] of pool.objects.get('VM') ?? new Map()) records[ref] = rec
const text = JSON.stringify({ jsonrpc: '2.0', result: records, id: 1 }).replace('{"jsonrpc":"2.0"', '{"big":18446744073709551615,"jsonrpc":"2.0"')
const safe = minCpu(4, () => void parseJsonSafe(text))
const lossless = minCpu(4, () => void losslessParse(text, null, (s: string) => (isSafeNumber(s) ? Number(s) : s)))
bench('codecs.json.get-all-records: parseJsonSafe vs lossless-json parse (bench-10k VM.get_all_records)', safe.ms, 'ms CPU', lossless.ms, { baselineName: 'lossless-json parse', MB: Math.round(text.length / 1e5) / 10, runs: safe.runs, baselineRuns: lossless.runs })

// --- XML-RPC get_all_records ---------------------------------------------------------------------
const enc = new XmlEncoder(schemaFor(pool.xapiRelease))
const parts: string[] = ['<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value><struct>']
let n = 0
for (const [ref, rec] of pool.objects.get('VM') ?? new Map()) {
  if (n++ >= 2000) break
  parts.push(`<member><name>${ref}</name>${enc.record('VM', rec)}</member>`)
}
parts.push('</struct></value></member></struct></value></param></params></methodResponse>')
const xml = parts.join('')
const xmlOurs = minCpu(4, () => {
  const p = new XmlRpcResponseParser()
  p.write(xml)
  p.end()
})
const xmlSaxes = minCpu(4, () => void saxesParseXmlRpcResponse(xml))
bench('codecs.xmlrpc.parse: XmlRpcResponseParser vs the saxes-based parser it replaced (2,000 VM records)', xmlOurs.ms, 'ms CPU', xmlSaxes.ms, { baselineName: 'saxes-based reference parser', MB: Math.round(xml.length / 1e5) / 10, runs: xmlOurs.runs, baselineRuns: xmlSaxes.runs })

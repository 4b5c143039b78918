/**
 * Response-body parsing in main, without a network (`npm run bench parse`). Prints BENCH lines, each
 * with its baseline measured in the same run (min CPU of several runs, fresh heap per run):
 *  - parse.json.event-backlog: an event.from answer carrying a `mod` event for each of bench-10k's
 *    10,000 VMs (≈45 MB, as P2's backlog), fed to JsonRpcResponseParser in 64 kB chunks. Baselines:
 *    the same events written with ", " between them — no "},{" cut candidate, so the exact byte scan
 *    runs over everything (what every body took before the cuts) — and one-shot parseJsonSafe of the
 *    whole text (one block of the main thread, no streaming);
 *  - parse.utf8.vm-records-xmlrpc: strict UTF-8 decoding of bench-10k's VM.get_all_records as the
 *    simulator encodes it for XML-RPC (≈110 MB) in 16 kB chunks, StrictUtf8Stream vs
 *    TextDecoder('utf-8', { fatal: true }) in stream mode.
 */
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseJsonSafe } from '../../main/xapi/json-safe'
import { JsonRpcResponseParser } from '../../main/xapi/json-stream'
import { StrictUtf8Stream } from '../../main/xapi/utf8'
import { buildFleet } from '../sim/fleet'
import { schemaFor } from '../sim/server/schema'
import { XmlEncoder } from '../sim/server/xmlrpc'

function bench(name: string, value: number, unit: string, baseline: number, extra: Record<string, unknown> = {}): void {
  const load1 = Math.round((loadavg()[0] ?? 0) * 10) / 10
  console.log(`BENCH ${JSON.stringify({ name, value: Math.round(value * 10) / 10, unit, ...extra, ratio: Math.round((value / baseline) * 1000) / 1000, load1 })}`)
}
const gc = (): void => (globalThis as { gc?: () => void }).gc?.()

/** min CPU ms of `runs` runs of fn */
function minCpu(runs: number, fn: () => void): number {
  let best = Infinity
  for (let r = 0; r < runs; r++) {
    gc()
    const c0 = process.cpuUsage()
    fn()
    const c = process.cpuUsage(c0)
    best = Math.min(best, (c.user + c.system) / 1000)
  }
  return best
}

function chunks(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < b.length; i += size) out.push(Buffer.from(b.subarray(i, i + size)))
  return out
}

const pool = buildFleet('bench-10k').pools[0]
if (!pool) throw new Error('bench-10k has no pool')
const vms = [...(pool.objects.get('VM') ?? new Map())].filter(([, r]) => r.is_a_template !== true && r.is_control_domain !== true).slice(0, 10_000)
const events = vms.map(([ref, rec], i) => JSON.stringify({ id: String(i + 1), timestamp: '1764000000.0', class: 'vm', operation: 'mod', ref, snapshot: rec }))
const body = (sep: string): string => `{"jsonrpc":"2.0","result":{"events":[${events.join(sep)}],"valid_ref_counts":{"vm":${events.length}},"token":"42,0"},"id":1}`

const cutText = body(',')
const scanText = body(', ')
const cutChunks = chunks(Buffer.from(cutText), 65536)
const scanChunks = chunks(Buffer.from(scanText), 65536)
const stats = { cuts: 0, rewinds: 0 }
const feed = (cs: Buffer[]): void => {
  const p = new JsonRpcResponseParser({ item: (_c, v) => v })
  for (const c of cs) p.write(c)
  p.end()
  Object.assign(stats, p.cutStats)
}
const cutMs = minCpu(6, () => feed(cutChunks))
const cutStats = { ...stats }
const scanMs = minCpu(6, () => feed(scanChunks))
const scanStats = { ...stats }
const wholeMs = minCpu(6, () => void parseJsonSafe(cutText))
const mb = Math.round(cutText.length / 1e5) / 10
bench('parse.json.event-backlog: cut at "},{" vs exact byte scan (same events, ", " between them)', cutMs, 'ms CPU', scanMs, { events: events.length, MB: mb, baselineMs: Math.round(scanMs), cuts: cutStats.cuts, rewinds: cutStats.rewinds, baselineCuts: scanStats.cuts })
bench('parse.json.event-backlog: cut at "},{" vs one-shot parseJsonSafe of the whole text', cutMs, 'ms CPU', wholeMs, { baselineMs: Math.round(wholeMs) })

const enc = new XmlEncoder(schemaFor(pool.xapiRelease))
const parts: string[] = ['<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value><struct>']
for (const [ref, rec] of pool.objects.get('VM') ?? new Map()) parts.push(`<member><name>${ref}</name>${enc.record('VM', rec)}</member>`)
parts.push('</struct></value></member></struct></value></param></params></methodResponse>')
const xml = chunks(Buffer.from(parts.join('')), 16384)
let chars = 0
const ours = minCpu(6, () => {
  const d = new StrictUtf8Stream()
  chars = 0
  for (const c of xml) chars += d.write(c).length
  d.end()
})
let refChars = 0
const reference = minCpu(6, () => {
  const d = new TextDecoder('utf-8', { fatal: true })
  refChars = 0
  for (const c of xml) refChars += d.decode(c, { stream: true }).length
  d.decode()
})
if (chars !== refChars) throw new Error(`decoders disagree: ${chars} vs ${refChars} characters`)
const xmlMB = Math.round(xml.reduce((n, c) => n + c.length, 0) / 1e5) / 10
bench('parse.utf8.vm-records-xmlrpc: StrictUtf8Stream vs TextDecoder fatal/stream', ours, 'ms CPU', reference, { MB: xmlMB, baselineMs: Math.round(reference) })

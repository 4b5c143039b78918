/**
 * Parsers of what xcp-rrdd sends (the formats in our words):
 *
 * - GET /rrd_updates: an "xport" of the host's RRD plus its resident VMs, in XML or JSON.
 *   JSON has three spellings in the wild, all accepted:
 *     · before XAPI 23.31: bare keys and bare numbers, NaN/Infinity unquoted
 *       (`{meta: {start: 1,step: 5,…,legend: ["AVERAGE:host:…:cpu0"]},data: [{t: 5,values: [0.1000,NaN]}]}`)
 *     · 23.31 … 24.10: valid JSON, values as strings, but `data` inside `meta` (yojson port bug)
 *     · 24.11 on: valid JSON, values as strings ("%0.15g", "NaN", "Infinity"), `data` beside `meta`
 *   Rows come newest first. The answer's `step` is the truth: XAPI silently answers from a coarser
 *   archive when `start` is older than the finer one keeps.
 * - GET /host_rrd, /vm_rrd?uuid=: a whole RRD (rrdtool dump), XML or JSON (values as strings):
 *   every archive (5 s × 120, 60 s × 120, 1 h × 168, 1 day × 366 by default) and CF, rows oldest first.
 *
 * Hostile input: sizes are bounded by the caller (main/xapi/http.ts maxBytes); nesting is bounded
 * here; a malformed answer throws RrdParseError with a sentence saying what is wrong. A value that
 * is not a number is a gap (NaN), never a guess.
 */

export class RrdParseError extends Error {
  override name = 'RrdParseError'
}

export type RrdCf = 'AVERAGE' | 'MIN' | 'MAX' | 'LAST'
export type RrdObjectKind = 'host' | 'vm' | 'sr'

/** `CF:kind:uuid:ds`, or null for an entry of a shape this client does not know */
export interface RrdLegendEntry {
  cf: RrdCf
  kind: RrdObjectKind
  uuid: string
  ds: string
}

export interface RrdUpdates {
  /** seconds, as the host's clock says */
  start: number
  step: number
  end: number
  rows: number
  columns: number
  /**
   * the legend's entries; the same array as the `previous` answer's given to parseRrdUpdates when the legend's
   * text is the same (a host's 60 s answers name the same columns while its resident VMs stay): a caller may key
   * what it worked out per column on this array
   */
  legend: readonly (RrdLegendEntry | null)[]
  /** the legend as sent */
  legendText: readonly string[]
  /** row times, newest first (as sent) */
  times: number[]
  /** rows × columns, row-major; NaN = no value */
  data: Float64Array
  value(row: number, col: number): number
}

const LEGEND = /^(AVERAGE|MIN|MAX|LAST):(host|vm|sr):([^:]+):(.+)$/

export function parseLegendEntry(s: string): RrdLegendEntry | null {
  const m = LEGEND.exec(s)
  if (!m) return null
  return { cf: m[1] as RrdCf, kind: m[2] as RrdObjectKind, uuid: m[3] ?? '', ds: m[4] ?? '' }
}

/** "%0.15g", "0.0", "NaN", "Infinity", "-Infinity", a legacy bare number; anything else → NaN */
export function rrdNumber(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v !== 'string') return Number.NaN
  // the usual case first ("%0.15g"): Number() reads it as below; 0 may also be an empty or blank string, NaN may be "inf"
  const fast = Number(v)
  if (fast !== 0 && !Number.isNaN(fast)) return fast
  const s = v.trim()
  if (s === '') return Number.NaN
  if (s === 'NaN' || s === 'nan' || s === '-nan') return Number.NaN
  if (s === 'Infinity' || s === 'inf' || s === '+Infinity') return Number.POSITIVE_INFINITY
  if (s === '-Infinity' || s === '-inf') return Number.NEGATIVE_INFINITY
  const n = Number(s)
  return Number.isNaN(n) ? Number.NaN : n
}

function intField(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN
  if (!Number.isFinite(n) || !Number.isInteger(n)) throw new RrdParseError(`the RRD answer's ${what} is not a whole number (${JSON.stringify(v)?.slice(0, 40) ?? String(v)})`)
  return n
}

/** the legend of an earlier answer of the same host, reused when this answer's legend reads the same */
export type PreviousLegend = Pick<RrdUpdates, 'legend' | 'legendText'>

function sameText(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function makeUpdates(start: number, step: number, end: number, legendText: string[], times: number[], data: Float64Array, previous: PreviousLegend | undefined): RrdUpdates {
  if (step <= 0) throw new RrdParseError(`the RRD answer's step is ${step} s; it must be positive`)
  const columns = legendText.length
  const same = previous !== undefined && sameText(previous.legendText, legendText)
  return {
    start,
    step,
    end,
    rows: times.length,
    columns,
    legend: same ? previous.legend : legendText.map(parseLegendEntry),
    legendText: same ? previous.legendText : legendText,
    times,
    data,
    value: (row, col) => data[row * columns + col] ?? Number.NaN,
  }
}

// -------------------------------------------------------------------------------------------------
// /rrd_updates

/**
 * An /rrd_updates answer in any format XAPI has sent (detected from the first character). `previous`: an earlier
 * answer of the same host — its `legend` array is handed back when the legend's text is the same.
 */
export function parseRrdUpdates(input: string | Buffer, previous?: PreviousLegend): RrdUpdates {
  const text = typeof input === 'string' ? input : input.toString('utf8')
  const first = text.trimStart()[0]
  if (first === '<') return parseUpdatesXml(text, previous)
  if (first === '{') return parseUpdatesJson(text, previous)
  throw new RrdParseError(`the RRD answer is neither XML nor JSON (it starts with ${JSON.stringify(text.trimStart().slice(0, 20))})`)
}

function parseUpdatesJson(text: string, previous: PreviousLegend | undefined): RrdUpdates {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    doc = parseLooseJson(text) // before XAPI 23.31: bare keys, bare NaN
  }
  if (!isObj(doc)) throw new RrdParseError('the RRD answer is JSON but not an object')
  const meta = doc['meta']
  if (!isObj(meta)) throw new RrdParseError('the RRD answer has no "meta" object')
  // 23.31 … 24.10 put "data" inside "meta"
  const data = Array.isArray(doc['data']) ? doc['data'] : Array.isArray(meta['data']) ? meta['data'] : undefined
  const legend = meta['legend']
  if (!Array.isArray(legend)) throw new RrdParseError('the RRD answer has no legend')
  if (!data) throw new RrdParseError('the RRD answer has no data rows')
  const legendText = legend.map((l, i) => {
    if (typeof l !== 'string') throw new RrdParseError(`legend entry ${i} of the RRD answer is not a string`)
    return l
  })
  const columns = legendText.length
  const declared = meta['columns']
  if (declared !== undefined && intField(declared, 'column count') !== columns) throw new RrdParseError(`the RRD answer declares ${String(declared)} columns but its legend names ${columns}`)
  const times: number[] = []
  const values = new Float64Array(data.length * columns)
  data.forEach((row, r) => {
    if (!isObj(row)) throw new RrdParseError(`row ${r} of the RRD answer is not an object`)
    times.push(intField(row['t'], `time of row ${r}`))
    const vs = row['values']
    if (!Array.isArray(vs)) throw new RrdParseError(`row ${r} of the RRD answer has no values`)
    if (vs.length !== columns) throw new RrdParseError(`row ${r} of the RRD answer has ${vs.length} values but the legend names ${columns}`)
    for (let c = 0; c < columns; c++) values[r * columns + c] = rrdNumber(vs[c])
  })
  return makeUpdates(intField(meta['start'], 'start'), intField(meta['step'], 'step'), intField(meta['end'], 'end'), legendText, times, values, previous)
}

function parseUpdatesXml(text: string, previous: PreviousLegend | undefined): RrdUpdates {
  const x = new XmlScan(text)
  x.open('xport')
  x.open('meta')
  const start = intField(x.leaf('start'), 'start')
  const step = intField(x.leaf('step'), 'step')
  const end = intField(x.leaf('end'), 'end')
  x.leaf('rows')
  const declared = intField(x.leaf('columns'), 'column count')
  const legendText: string[] = []
  x.open('legend')
  while (x.peekOpen('entry')) legendText.push(x.leaf('entry'))
  x.close('legend')
  x.close('meta')
  if (declared !== legendText.length) throw new RrdParseError(`the RRD answer declares ${declared} columns but its legend names ${legendText.length}`)
  const columns = legendText.length
  const times: number[] = []
  const vals: number[] = []
  x.open('data')
  while (x.peekOpen('row')) {
    x.open('row')
    const r = times.length
    times.push(intField(x.leaf('t'), `time of row ${r}`))
    let n = 0
    while (x.peekOpen('v')) {
      vals.push(rrdNumber(x.leaf('v')))
      n++
    }
    if (n !== columns) throw new RrdParseError(`row ${r} of the RRD answer has ${n} values but the legend names ${columns}`)
    x.close('row')
  }
  x.close('data')
  x.close('xport')
  return makeUpdates(start, step, end, legendText, times, Float64Array.from(vals), previous)
}

// -------------------------------------------------------------------------------------------------
// full dumps: /host_rrd, /vm_rrd

export interface RrdArchive {
  cf: RrdCf
  /** seconds per row = step × pdp_per_row */
  resolution: number
  rows: number
  /** time of each row (oldest first), seconds */
  times: number[]
  /** rows × ds, row-major, oldest first */
  data: Float64Array
}

export interface RrdDump {
  step: number
  lastUpdate: number
  ds: { name: string; type: string; min: number; max: number }[]
  archives: RrdArchive[]
}

export function parseRrdDump(input: string | Buffer): RrdDump {
  const text = typeof input === 'string' ? input : input.toString('utf8')
  const first = text.trimStart()[0]
  if (first === '<') return parseDumpXml(text)
  if (first === '{') return parseDumpJson(text)
  throw new RrdParseError(`the RRD dump is neither XML nor JSON (it starts with ${JSON.stringify(text.trimStart().slice(0, 20))})`)
}

function archiveOf(cf: string, pdp: number, step: number, lastUpdate: number, rows: number[][], dsCount: number, index: number): RrdArchive {
  if (cf !== 'AVERAGE' && cf !== 'MIN' && cf !== 'MAX' && cf !== 'LAST') throw new RrdParseError(`archive ${index} of the RRD dump has an unknown consolidation "${cf.slice(0, 20)}"`)
  if (pdp <= 0) throw new RrdParseError(`archive ${index} of the RRD dump has pdp_per_row ${pdp}`)
  const resolution = step * pdp
  const last = Math.floor(lastUpdate / resolution) * resolution
  const n = rows.length
  const data = new Float64Array(n * dsCount)
  const times: number[] = []
  rows.forEach((row, i) => {
    if (row.length !== dsCount) throw new RrdParseError(`row ${i} of archive ${index} of the RRD dump has ${row.length} values for ${dsCount} data sources`)
    times.push(last - (n - 1 - i) * resolution)
    for (let c = 0; c < dsCount; c++) data[i * dsCount + c] = row[c] ?? Number.NaN
  })
  return { cf, resolution, rows: n, times, data }
}

function parseDumpXml(text: string): RrdDump {
  const x = new XmlScan(text)
  x.open('rrd')
  x.leaf('version')
  const step = intField(x.leaf('step'), 'step')
  if (step <= 0) throw new RrdParseError(`the RRD dump's step is ${step} s; it must be positive`)
  const lastUpdate = rrdNumber(x.leaf('lastupdate'))
  if (!Number.isFinite(lastUpdate)) throw new RrdParseError('the RRD dump has no valid lastupdate')
  const ds: RrdDump['ds'] = []
  while (x.peekOpen('ds')) {
    x.open('ds')
    const fields = x.leaves('ds')
    ds.push({ name: fields.get('name') ?? '', type: fields.get('type') ?? '', min: rrdNumber(fields.get('min')), max: rrdNumber(fields.get('max')) })
  }
  const archives: RrdArchive[] = []
  while (x.peekOpen('rra')) {
    x.open('rra')
    const cf = x.leaf('cf')
    const pdp = intField(x.leaf('pdp_per_row'), 'pdp_per_row')
    x.skip('params')
    x.skip('cdp_prep')
    const rows: number[][] = []
    x.open('database')
    while (x.peekOpen('row')) {
      x.open('row')
      const row: number[] = []
      while (x.peekOpen('v')) row.push(rrdNumber(x.leaf('v')))
      x.close('row')
      rows.push(row)
    }
    x.close('database')
    x.close('rra')
    archives.push(archiveOf(cf, pdp, step, lastUpdate, rows, ds.length, archives.length))
  }
  x.close('rrd')
  return { step, lastUpdate, ds, archives }
}

function parseDumpJson(text: string): RrdDump {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    doc = parseLooseJson(text)
  }
  if (!isObj(doc)) throw new RrdParseError('the RRD dump is JSON but not an object')
  const step = intField(doc['step'], 'step')
  if (step <= 0) throw new RrdParseError(`the RRD dump's step is ${step} s; it must be positive`)
  const lastUpdate = rrdNumber(doc['lastupdate'])
  if (!Number.isFinite(lastUpdate)) throw new RrdParseError('the RRD dump has no valid lastupdate')
  const dsList = doc['ds']
  const rraList = doc['rra']
  if (!Array.isArray(dsList) || !Array.isArray(rraList)) throw new RrdParseError('the RRD dump has no "ds" or "rra" list')
  const ds = dsList.map((d, i) => {
    if (!isObj(d) || typeof d['name'] !== 'string') throw new RrdParseError(`data source ${i} of the RRD dump has no name`)
    return { name: d['name'], type: typeof d['type'] === 'string' ? d['type'] : '', min: rrdNumber(d['min']), max: rrdNumber(d['max']) }
  })
  const archives = rraList.map((a, i) => {
    if (!isObj(a)) throw new RrdParseError(`archive ${i} of the RRD dump is not an object`)
    const db = a['database']
    if (!Array.isArray(db)) throw new RrdParseError(`archive ${i} of the RRD dump has no database`)
    const rows = db.map((r, j) => {
      if (!Array.isArray(r)) throw new RrdParseError(`row ${j} of archive ${i} of the RRD dump is not a list`)
      return r.map(rrdNumber)
    })
    return archiveOf(String(a['cf']), intField(a['pdp_per_row'], `pdp_per_row of archive ${i}`), step, lastUpdate, rows, ds.length, i)
  })
  return { step, lastUpdate, ds, archives }
}

// -------------------------------------------------------------------------------------------------
// helpers

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const MAX_DEPTH = 16

/**
 * The JSON of xcp-rrdd before XAPI 23.31: object keys may be bare identifiers and numbers may be
 * NaN, Infinity or -Infinity. Otherwise JSON. Recursive descent with a depth limit.
 */
export function parseLooseJson(text: string): unknown {
  let i = 0
  const n = text.length
  const fail = (what: string): never => {
    throw new RrdParseError(`the RRD answer is not valid JSON: ${what} at offset ${i}`)
  }
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 32 || c === 9 || c === 10 || c === 13) i++
      else break
    }
  }
  const str = (): string => {
    i++ // opening quote
    let out = ''
    let from = i
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 34) {
        out += text.slice(from, i)
        i++
        return out
      }
      if (c === 92) {
        out += text.slice(from, i)
        const e = text[i + 1]
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6)
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('a bad \\u escape')
          out += String.fromCharCode(parseInt(hex, 16))
          i += 6
        } else {
          const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
          const m = e !== undefined ? map[e] : undefined
          if (m === undefined) fail('a bad escape')
          out += m
          i += 2
        }
        from = i
        continue
      }
      if (c < 32) fail('a control character in a string')
      i++
    }
    return fail('an unterminated string')
  }
  const ident = (): string => {
    const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i, i + 128))
    if (!m) fail('an unexpected character')
    i += m?.[0].length ?? 0
    return m?.[0] ?? ''
  }
  const num = (): number => {
    const m = /^-?(?:Infinity|NaN|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64))
    if (!m) return fail('a malformed number')
    i += m[0].length
    return rrdNumber(m[0])
  }
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail('nesting deeper than 16 levels')
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const o: Record<string, unknown> = {}
      ws()
      if (text[i] === '}') {
        i++
        return o
      }
      for (;;) {
        ws()
        const k = text[i] === '"' ? str() : ident()
        ws()
        if (text[i] !== ':') fail('a missing ":"')
        i++
        o[k] = value(depth + 1)
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === '}') {
          i++
          return o
        }
        fail('a missing "," or "}"')
      }
    }
    if (c === '[') {
      i++
      const a: unknown[] = []
      ws()
      if (text[i] === ']') {
        i++
        return a
      }
      for (;;) {
        a.push(value(depth + 1))
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === ']') {
          i++
          return a
        }
        fail('a missing "," or "]"')
      }
    }
    if (c === '"') return str()
    if (c === '-' || c === 'N' || c === 'I' || (c !== undefined && c >= '0' && c <= '9')) return num()
    if (text.startsWith('true', i)) {
      i += 4
      return true
    }
    if (text.startsWith('false', i)) {
      i += 5
      return false
    }
    if (text.startsWith('null', i)) {
      i += 4
      return null
    }
    return fail(i >= n ? 'the end of the text' : 'an unexpected character')
  }
  const v = value(0)
  ws()
  if (i < n) fail('text after the end')
  return v
}

/**
 * A forward-only scanner for the fixed XML shapes of xcp-rrdd (no attributes, no mixed content):
 * skips the declaration and DOCTYPE, decodes the five predefined entities in leaf text.
 */
class XmlScan {
  private i = 0
  constructor(private readonly s: string) {
    this.ws()
    if (this.s.startsWith('<?xml', this.i)) this.skipPast('?>')
    this.ws()
    if (this.s.startsWith('<!DOCTYPE', this.i)) this.skipPast('>')
  }
  private ws(): void {
    const s = this.s
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i)
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++
      else if (s.startsWith('<!--', this.i)) this.skipPast('-->')
      else break
    }
  }
  private skipPast(end: string): void {
    const j = this.s.indexOf(end, this.i)
    if (j < 0) throw new RrdParseError(`the RRD XML ends inside a "${end}" construct`)
    this.i = j + end.length
  }
  private where(): string {
    return this.i >= this.s.length ? 'the end of the document' : `offset ${this.i} (“${this.s.slice(this.i, this.i + 24)}…”)`
  }
  peekOpen(tag: string): boolean {
    this.ws()
    return this.s.startsWith(`<${tag}>`, this.i)
  }
  open(tag: string): void {
    this.ws()
    if (!this.s.startsWith(`<${tag}>`, this.i)) throw new RrdParseError(`the RRD XML should have <${tag}> at ${this.where()}`)
    this.i += tag.length + 2
  }
  close(tag: string): void {
    this.ws()
    if (!this.s.startsWith(`</${tag}>`, this.i)) throw new RrdParseError(`the RRD XML should close </${tag}> at ${this.where()}`)
    this.i += tag.length + 3
  }
  /** `<tag>text</tag>` → text */
  leaf(tag: string): string {
    this.ws()
    const s = this.s
    if (s.startsWith(`<${tag}/>`, this.i)) {
      this.i += tag.length + 3
      return ''
    }
    this.open(tag)
    const end = s.indexOf('<', this.i)
    if (end < 0) throw new RrdParseError(`the RRD XML ends inside <${tag}>`)
    const text = s.slice(this.i, end)
    this.i = end
    this.close(tag)
    return text.includes('&') ? text.replace(/&(lt|gt|amp|quot|apos);/g, (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e] ?? '') : text
  }
  /** leaves until `</parent>` (consumed), by name; nested elements are skipped */
  leaves(parent: string): Map<string, string> {
    const out = new Map<string, string>()
    for (;;) {
      this.ws()
      if (this.s.startsWith(`</${parent}>`, this.i)) {
        this.i += parent.length + 3
        return out
      }
      const m = /^<([A-Za-z_][A-Za-z0-9_]*)>/.exec(this.s.slice(this.i, this.i + 64))
      if (!m?.[1]) throw new RrdParseError(`the RRD XML has an unexpected construct inside <${parent}> at ${this.where()}`)
      const tag = m[1]
      const after = this.s.indexOf('<', this.i + m[0].length)
      if (after >= 0 && this.s.startsWith(`</${tag}>`, after)) out.set(tag, this.leaf(tag))
      else this.skip(tag)
    }
  }
  /** skips `<tag>…</tag>` with whatever is inside (no same-named nesting in these documents) */
  skip(tag: string): void {
    this.ws()
    if (this.s.startsWith(`<${tag}/>`, this.i)) {
      this.i += tag.length + 3
      return
    }
    this.open(tag)
    const j = this.s.indexOf(`</${tag}>`, this.i)
    if (j < 0) throw new RrdParseError(`the RRD XML never closes <${tag}>`)
    this.i = j + tag.length + 3
  }
}

/**
 * Type-directed normalisation of wire values into the client's record form
 * (shared/xapi/records.generated.ts): int64 → number when exact (a string beyond ±2^53, never a
 * rounded number), float tokens → number (NaN/Infinity included), XAPI dates → ISO 8601,
 * OpaqueRef:NULL (and '') → null for refs, everything else as is.
 *
 * A normaliser is compiled once per XAPI type string and per class from the generated datamodel;
 * records are normalised in place (they are freshly parsed and owned by the caller), fields unknown
 * to the datamodel (a newer host) pass through untouched.
 *
 * Depth: a normaliser descends only as far as its declared XAPI type does (a map of maps at most),
 * never into a value's own nesting, so a hostile value cannot make it recurse; values deeper than
 * MAX_NESTING (./wire) never get here — both parsers refuse them, naming the depth, and the
 * transport says it with the method (TransportError 'too-deep': "… sent a value nested more than
 * 256 levels deep in its VM.get_all_records answer …"). Every value the normaliser is given comes from one of those two
 * parsers (transport.ts, client.ts decodeTaskResult, the event loop); test/unit/xapi/nesting.test.ts
 * and the fuzz suite (test/fuzz) keep that so.
 */
import { CLASSES } from '../../shared/xapi/datamodel.generated'
import type { JsonStreamHooks } from './json-stream'
import type { WireValue } from './wire'

export type Normaliser = (v: WireValue) => unknown

const identity: Normaliser = (v) => v

const INT_RE = /^[-+]?\d+$/
export function normaliseInt(v: WireValue): unknown {
  if (typeof v === 'number') return v
  if (typeof v === 'string') {
    if (v.length <= 15 && INT_RE.test(v)) return Number(v)
    if (INT_RE.test(v)) {
      const n = Number(v)
      return Number.isSafeInteger(n) ? n : v
    }
  }
  return v
}

export function normaliseFloat(v: WireValue): unknown {
  if (typeof v === 'number') return v
  if (typeof v === 'string') {
    const s = v.trim()
    if (s === 'NaN' || s === 'nan' || s === '-nan') return NaN
    if (s === 'Infinity' || s === 'inf' || s === '+Infinity') return Infinity
    if (s === '-Infinity' || s === '-inf') return -Infinity
    const n = Number(s)
    return s !== '' && !Number.isNaN(n) ? n : v
  }
  return v
}

export function normaliseBool(v: WireValue): unknown {
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === '1' || v === 1) return true
  if (v === 'false' || v === '0' || v === 0) return false
  return v
}

const XAPI_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/
/** '20250319T04:16:24Z' → '2025-03-19T04:16:24Z'; a date without zone is UTC (XAPI's clock). */
export function normaliseDate(v: WireValue): unknown {
  if (typeof v !== 'string') return v
  const m = XAPI_DATE.exec(v)
  if (m) return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${m[8] ?? 'Z'}`
  if (ISO_DATE.test(v)) return /(Z|[+-]\d{2}:?\d{2})$/.test(v) ? v : `${v}Z`
  return v
}

export function normaliseRef(v: WireValue): unknown {
  return v === 'OpaqueRef:NULL' || v === '' ? null : v
}

const typeCache = new Map<string, Normaliser>()
const recordCache = new Map<string, Normaliser>()
const classByLower = new Map<string, string>()
const classFields = new Map<string, Map<string, string>>()
for (const c of CLASSES) {
  classByLower.set(c.name.toLowerCase(), c.name)
  const m = new Map<string, string>()
  for (const f of c.fields) m.set(f[0], f[1])
  classFields.set(c.name, m)
}

/** API spelling of a class from any case ('vm' → 'VM', 'vm_metrics' → 'VM_metrics') */
export function apiClassName(name: string): string | undefined {
  // events spell classes in lower case: found without allocating a lowered copy
  return classByLower.get(name) ?? classByLower.get(name.toLowerCase())
}

export function fieldType(cls: string, field: string): string | undefined {
  return classFields.get(cls)?.get(field)
}

/** splits '(K -> V)' content at the top-level arrow */
function splitMap(inner: string): [string, string] {
  let depth = 0
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]
    if (c === '(') depth++
    else if (c === ')') depth--
    else if (depth === 0 && inner.startsWith(' -> ', i)) return [inner.slice(0, i), inner.slice(i + 4)]
  }
  return [inner, 'string']
}

export function typeNormaliser(type: string): Normaliser {
  const cached = typeCache.get(type)
  if (cached) return cached
  const n = compileType(type.trim())
  typeCache.set(type, n)
  return n
}

function compileType(t: string): Normaliser {
  if (t === 'int') return normaliseInt
  if (t === 'float') return normaliseFloat
  if (t === 'bool') return normaliseBool
  if (t === 'datetime') return normaliseDate
  if (t === 'string' || t === 'void' || t.startsWith('enum ')) return identity
  if (t === 'an event batch') return normaliseEventBatch
  if (t.endsWith(' option')) return typeNormaliser(t.slice(0, -7))
  if (t.endsWith(' ref')) return normaliseRef
  if (t.endsWith(' set')) {
    const item = typeNormaliser(t.slice(0, -4))
    if (item === identity) return identity
    return (v) => (Array.isArray(v) ? v.map((x) => item(x)) : v)
  }
  if (t.endsWith(' map') && t.startsWith('(')) {
    const [k, val] = splitMap(t.slice(1, -5))
    const valueN = typeNormaliser(val)
    if (valueN === identity) return identity
    void k // keys stay strings: XAPI stringifies them on the wire and JS object keys are strings
    return (v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
      for (const key in v) v[key] = valueN(v[key] as WireValue) as WireValue
      return v
    }
  }
  if (t.endsWith(' record')) return recordNormaliser(t.slice(0, -7))
  return identity
}

/** normaliser of one class's records (in place); unknown classes/fields pass through */
export function recordNormaliser(cls: string): Normaliser {
  const name = apiClassName(cls) ?? cls
  const cached = recordCache.get(name)
  if (cached) return cached
  const fields = classFields.get(name)
  let n: Normaliser = identity
  if (fields) {
    const fns: Record<string, Normaliser> = Object.create(null) as Record<string, Normaliser>
    for (const [f, type] of fields) {
      const fn = typeNormaliser(type)
      if (fn !== identity) fns[f] = fn
    }
    n = (v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
      for (const key in v) {
        const fn = fns[key]
        if (fn) v[key] = fn(v[key] as WireValue) as WireValue
      }
      return v
    }
  }
  recordCache.set(name, n)
  return n
}

/** one event of an event batch: its snapshot normalised by its class (in place) */
export function normaliseEvent(e: WireValue): WireValue {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return e
  const cls = typeof e.class === 'string' ? e.class : ''
  if (e.snapshot !== undefined && e.snapshot !== null && typeof e.snapshot === 'object') recordNormaliser(cls)(e.snapshot)
  return e
}

/** event.from's result: snapshots normalised by their class; counts as numbers */
function normaliseEventBatch(v: WireValue): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
  const events = v.events
  if (Array.isArray(events)) for (const e of events) normaliseEvent(e)
  return normaliseEventCounts(v)
}

/** an event batch's valid_ref_counts as numbers (the events are normalised one by one) */
export function normaliseEventCounts(v: WireValue): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
  const counts = v.valid_ref_counts
  if (typeof counts === 'object' && counts !== null && !Array.isArray(counts)) {
    for (const k in counts) counts[k] = normaliseInt(counts[k] as WireValue) as WireValue
  }
  return v
}

const methodResult = new Map<string, string>()
const methodParams = new Map<string, readonly (readonly [string, string])[]>()
for (const c of CLASSES) {
  for (const m of c.messages) {
    methodResult.set(`${c.name}.${m[0]}`, m[2])
    methodParams.set(`${c.name}.${m[0]}`, m[1])
  }
}

/** XAPI result type of a wire method name ('VM.get_all_records'; Async.* → task ref) */
export function resultType(method: string): string | undefined {
  if (method.startsWith('Async.')) return 'task ref'
  return methodResult.get(method)
}

/** declared params (session included) of a wire method name, when the datamodel knows it */
export function paramTypes(method: string): readonly (readonly [string, string])[] | undefined {
  return methodParams.get(method.startsWith('Async.') ? method.slice(6) : method)
}

/** normalises a call's result by the method's declared result type (unknown methods: as is) */
export function normaliseResult(method: string, v: WireValue): unknown {
  const t = resultType(method)
  return t ? typeNormaliser(t)(v) : v
}

/**
 * Normalisation fused with an incremental parse: `hooks` normalise each entry of the result as
 * the parser completes it (a record of a get_all_records map, an event of event.from's batch, an
 * element of a set), `finish` does what is left once the whole result is there. `entry` (optional)
 * sees every normalised member of a map result as it arrives (the event loop builds its graph
 * from it while the rest is still on the wire).
 */
export interface StreamedNormalisation {
  hooks: JsonStreamHooks
  finish: (v: WireValue) => unknown
}

const identityFinish = (v: WireValue): unknown => v

export function streamedNormalisation(method: string, entry?: (key: string, value: unknown) => void): StreamedNormalisation | undefined {
  const t = resultType(method)?.trim()
  if (!t) return undefined
  if (t === 'an event batch') {
    return { hooks: { item: (container, e) => (container === 'events' ? normaliseEvent(e) : e) }, finish: normaliseEventCounts }
  }
  if (t.endsWith(' map') && t.startsWith('(')) {
    const valueN = typeNormaliser(splitMap(t.slice(1, -5))[1])
    if (!entry) return valueN === identity ? undefined : { hooks: { member: (_k, v) => valueN(v) as WireValue }, finish: identityFinish }
    // members handed to `entry` are not kept in the returned map (its consumer has them)
    return {
      hooks: {
        member: (k, v) => {
          entry(k, valueN(v))
          return undefined
        },
      },
      finish: identityFinish,
    }
  }
  if (t.endsWith(' set')) {
    const itemN = typeNormaliser(t.slice(0, -4))
    if (itemN === identity) return undefined
    return { hooks: { item: (container, v) => (container === '' ? (itemN(v) as WireValue) : v) }, finish: identityFinish }
  }
  return undefined
}

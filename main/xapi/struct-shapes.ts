/**
 * The process-wide struct-shape cache of the XML-RPC response parser (./xmlrpc.ts): wide structs
 * (XAPI records) are built from a per-shape template so they stay in V8's fast mode, and `own`
 * makes flat copies of strings sliced from a decoded chunk.
 */
import type { WireValue } from './wire'

/**
 * A copy of `s` that does not keep the decoded chunk it was sliced from alive: V8 keeps slices
 * (≥ 13 chars) pointing at the whole chunk, so a parsed 10,000-VM answer kept ~4× its own size
 * alive (204 MB vs 48 MB for the same records from JSON). Concatenation + slice makes V8 copy the
 * characters into a new flat string (a de-duplicating Map was tried: 16% of the parse time for
 * little gain), so the result owns only its own characters.
 */
export function own(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1)
}

/**
 * Structs with many members are built from a per-shape template. Filled member by member, a
 * JavaScript object past ~18 properties falls into V8's dictionary mode: a VM record then takes
 * ~6× the memory of the same record in fast mode and is slower to read (normalise, graph, cache).
 * A shape (the member names in order) seen twice gets a template object with those properties
 * (made by JSON.parse, so it is fast mode); later structs of that shape are a spread copy of it
 * with the values stored in. XAPI records of one class always come with the same fields in the
 * same order, so each class is one shape. The cache is bounded: SHAPES_PER_SIZE per member count
 * (a rarely used shape gives its place to a new one) and SHAPE_KEYS names in all (past that it
 * starts over; the records in use are learnt again at their second sighting).
 */
const SHAPE_MIN = 18
/** a struct wider than this is a map (get_all_records: one member per object), not a record */
const SHAPE_MAX = 1000
const SHAPES_PER_SIZE = 8
const SHAPE_KEYS = 50_000
let shapeKeys = 0

interface Shape {
  readonly keys: string[]
  tpl: { [key: string]: WireValue } | undefined
  hits: number
}

const shapes = new Map<number, Shape[]>()

function sameKeys(a: readonly string[], keys: readonly string[], start: number, n: number): boolean {
  if (a[n - 1] !== keys[start + n - 1]) return false
  for (let i = 0; i < n; i++) if (a[i] !== keys[start + i]) return false
  return true
}

export function buildStruct(keys: readonly string[], vals: readonly WireValue[], start: number, end: number): { [key: string]: WireValue } {
  const n = end - start
  if (n >= SHAPE_MIN && n <= SHAPE_MAX) {
    let list = shapes.get(n)
    if (!list) shapes.set(n, (list = []))
    let found = false
    for (const sh of list) {
      if (!sameKeys(sh.keys, keys, start, n)) continue
      found = true
      sh.hits++
      if (!sh.tpl && sh.hits >= 2) sh.tpl = template(sh.keys)
      const tpl = sh.tpl
      if (tpl) {
        const o: { [key: string]: WireValue } = { ...tpl }
        const k = sh.keys
        for (let i = 0; i < n; i++) o[k[i] as string] = vals[start + i] as WireValue
        return o
      }
      break
    }
    if (!found) learn(list, keys, start, end)
  }
  const o: { [key: string]: WireValue } = {}
  for (let i = start; i < end; i++) {
    const key = keys[i] as string
    if (key === '__proto__') Object.defineProperty(o, key, { value: vals[i], writable: true, enumerable: true, configurable: true })
    else o[key] = vals[i] as WireValue
  }
  return o
}

function learn(list0: Shape[], keys: readonly string[], start: number, end: number): void {
  const k: string[] = []
  for (let i = start; i < end; i++) {
    const key = keys[i] as string
    if (key === '__proto__') return
    // flat copies: the names from the response may be slices of a decoded chunk
    k.push(own(key))
  }
  let list = list0
  const sh: Shape = { keys: k, tpl: undefined, hits: 0 }
  if (shapeKeys + k.length > SHAPE_KEYS) {
    shapes.clear()
    shapeKeys = 0
    list = []
    shapes.set(k.length, list)
  }
  shapeKeys += k.length
  if (list.length < SHAPES_PER_SIZE) {
    list.push(sh)
    return
  }
  let least = 0
  for (let i = 1; i < list.length; i++) if ((list[i]?.hits ?? 0) < (list[least]?.hits ?? 0)) least = i
  const old = list[least]
  if ((old?.hits ?? 0) <= 1) {
    shapeKeys -= old?.keys.length ?? 0
    list[least] = sh
  } else {
    shapeKeys -= k.length
    for (const s of list) s.hits >>= 1
  }
}

/** an object with these properties in this order, in V8's fast mode */
function template(keys: readonly string[]): { [key: string]: WireValue } {
  return JSON.parse(`{${keys.map((k) => `${JSON.stringify(k)}:null`).join(',')}}`) as { [key: string]: WireValue }
}

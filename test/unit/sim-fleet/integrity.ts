/**
 * Checks a simulated pool the way a client's object graph would trip over it: typed references
 * that point nowhere, one-sided links, values that do not match their datamodel type.
 */
import { ENUMS } from '../../../shared/xapi/datamodel.generated'
import type { SimPoolSpec, SimValue } from '../../sim/model'
import { fieldsOf } from '../../sim/records'

const NULL_REF = 'OpaqueRef:NULL'
const REF_RE = /^OpaqueRef:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const DATE_RE = /^\d{8}T\d{2}:\d{2}:\d{2}Z$/

/**
 * Typed refs allowed to dangle, as they do on real pools:
 * VM.parent keeps pointing at a snapshot after that snapshot was deleted.
 */
export const DOCUMENTED_DANGLING: ReadonlySet<string> = new Set(['VM.parent'])

/** [class, set field, class, ref field]: every member of the set points back, and every back-pointer is in the set */
export const BIDIRECTIONAL: readonly (readonly [string, string, string, string])[] = [
  ['VM', 'VBDs', 'VBD', 'VM'],
  ['VM', 'VIFs', 'VIF', 'VM'],
  ['VM', 'consoles', 'console', 'VM'],
  ['VM', 'snapshots', 'VM', 'snapshot_of'],
  ['host', 'resident_VMs', 'VM', 'resident_on'],
  ['host', 'host_CPUs', 'host_cpu', 'host'],
  ['host', 'PIFs', 'PIF', 'host'],
  ['host', 'PBDs', 'PBD', 'host'],
  ['SR', 'VDIs', 'VDI', 'SR'],
  ['SR', 'PBDs', 'PBD', 'SR'],
  ['VDI', 'VBDs', 'VBD', 'VDI'],
  ['VDI', 'snapshots', 'VDI', 'snapshot_of'],
  ['network', 'VIFs', 'VIF', 'network'],
  ['network', 'PIFs', 'PIF', 'network'],
  ['PIF', 'VLAN_slave_of', 'VLAN', 'tagged_PIF'],
  ['Bond', 'slaves', 'PIF', 'bond_slave_of'],
  ['PIF', 'bond_master_of', 'Bond', 'master'],
]

function typeProblem(type: string, v: SimValue): string | undefined {
  if (type === 'int') return typeof v === 'number' && Number.isInteger(v) ? undefined : 'not an integer'
  if (type === 'float') return typeof v === 'number' ? undefined : 'not a number'
  if (type === 'bool') return typeof v === 'boolean' ? undefined : 'not a boolean'
  if (type === 'datetime') return typeof v === 'string' && DATE_RE.test(v) ? undefined : `not a XAPI datetime: ${String(v)}`
  if (type.endsWith(' ref')) return typeof v === 'string' && (v === NULL_REF || REF_RE.test(v)) ? undefined : `not a ref: ${String(v)}`
  if (type.endsWith(' set')) {
    if (!Array.isArray(v)) return 'not a set'
    const elem = type.slice(0, -4)
    for (const x of v) {
      const p = typeProblem(elem, x)
      if (p) return `element ${p}`
    }
    return undefined
  }
  if (type.endsWith(' map')) {
    if (typeof v !== 'object' || Array.isArray(v)) return 'not a map'
    const m = /^\((.*) -> (.*)\) map$/.exec(type)
    const valueType = m?.[2] ?? 'string'
    for (const k of Object.keys(v)) {
      const x = v[k]
      const p = x === undefined ? 'undefined' : typeProblem(valueType, x)
      if (p) return `value of '${k}' ${p}`
    }
    return undefined
  }
  if (type.startsWith('enum ')) {
    const values = ENUMS[type.slice(5)] ?? []
    return typeof v === 'string' && values.includes(v) ? undefined : `not a ${type}: ${String(v)}`
  }
  if (type === 'string') return typeof v === 'string' ? undefined : 'not a string'
  return undefined
}

/** Every problem found, as readable lines (empty when the pool is consistent). */
export function checkPool(pool: SimPoolSpec, opts: { maxProblems?: number } = {}): string[] {
  const problems: string[] = []
  const max = opts.maxProblems ?? 50
  const note = (s: string): void => {
    if (problems.length < max) problems.push(`${pool.name}: ${s}`)
  }
  const exists = (cls: string, ref: string): boolean => pool.objects.get(cls)?.has(ref) === true
  const uuids = new Set<string>()

  for (const [cls, table] of pool.objects) {
    const fields = fieldsOf(cls, pool.xapiRelease)
    const names = new Set(fields.map((f) => f[0]))
    for (const [ref, rec] of table) {
      if (!REF_RE.test(ref)) note(`${cls} ${ref}: malformed ref`)
      for (const k of Object.keys(rec)) if (!names.has(k)) note(`${cls} ${ref}: field ${k} does not exist in ${pool.xapiRelease}`)
      for (const [name, type] of fields) {
        const v = rec[name]
        if (v === undefined) {
          note(`${cls} ${ref}: missing field ${name}`)
          continue
        }
        const p = typeProblem(type, v)
        if (p) note(`${cls}.${name} of ${ref}: ${p}`)
        if (name === 'uuid' && typeof v === 'string') {
          if (!UUID_RE.test(v)) note(`${cls} ${ref}: malformed uuid ${v}`)
          if (uuids.has(v)) note(`${cls} ${ref}: duplicate uuid ${v}`)
          uuids.add(v)
        }
        // typed references must resolve
        const refType = /^(\w+) ref( set)?$/.exec(type)
        if (refType?.[1]) {
          const target = refType[1]
          const list = Array.isArray(v) ? v : [v]
          for (const r of list) {
            if (typeof r !== 'string' || r === NULL_REF) continue
            if (!exists(target, r) && !DOCUMENTED_DANGLING.has(`${cls}.${name}`)) note(`${cls}.${name} of ${ref} → missing ${target} ${r}`)
          }
        }
      }
    }
  }

  for (const [cls, setField, otherCls, refField] of BIDIRECTIONAL) {
    const table = pool.objects.get(cls)
    const other = pool.objects.get(otherCls)
    if (!table || !other) continue
    for (const [ref, rec] of table) {
      const set = rec[setField]
      if (!Array.isArray(set)) continue
      for (const member of set) {
        const target = typeof member === 'string' ? other.get(member) : undefined
        if (!target) note(`${cls}.${setField} of ${ref} lists missing ${otherCls} ${String(member)}`)
        else if (target[refField] !== ref) note(`${otherCls}.${refField} of ${String(member)} is ${String(target[refField])}, not ${ref} which lists it in ${setField}`)
      }
    }
    for (const [ref, rec] of other) {
      const back = rec[refField]
      if (typeof back !== 'string' || back === NULL_REF) continue
      const owner = table.get(back)
      const set = owner?.[setField]
      if (owner && Array.isArray(set) && !set.includes(ref)) note(`${otherCls}.${refField} of ${ref} → ${back}, whose ${setField} does not list it`)
    }
  }
  return problems
}

/**
 * The methods XAPI generates for every class (datamodel_utils.ml): readers, field getters and
 * setters, map/set editors, create and destroy. One implementation driven by the schema.
 */
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import { newRef } from './db'
import type { EventBatch } from './events'
import { refreshAllowedOperations } from './vmops'
import { compileWhere } from './where'
import type { PoolState } from './pool'
import { defaultValue, zeroValue, type ClassSchema, type MethodSchema } from './schema'

export type HandlerResult = SimValue | EventBatch
export type Handler = (pool: PoolState, args: SimValue[], call: CallInfo) => HandlerResult | Promise<HandlerResult>

export interface CallInfo {
  /** wire name without Async. */
  wire: string
  hostRef: string
  session: string
  /** the task the operation runs under (Async.* or a sync lifecycle call) */
  taskRef?: string
}

function str(v: SimValue | undefined): string {
  return typeof v === 'string' ? v : String(v ?? '')
}

function field(pool: PoolState, c: ClassSchema, rec: SimRecord, name: string): SimValue {
  const v = rec[name]
  if (v !== undefined) return v
  const f = c.fieldMap.get(name)
  return f ? defaultValue(f.type, f.dflt) : ''
}

/** a handler for a generated method, or undefined when the name is not one of the generated forms */
export function genericHandler(pool: PoolState, m: MethodSchema): Handler | undefined {
  const c = pool.schema.classes.get(m.cls)
  if (!c) return undefined
  const cls = c.name
  const n = m.name
  if (n === 'get_all') return (p) => [...p.db.table(cls).keys()]
  if (n === 'get_all_records') {
    return (p) => {
      const out: Record<string, SimValue> = {}
      for (const [ref, rec] of p.db.table(cls)) out[ref] = rec
      return out
    }
  }
  if (n === 'get_all_records_where') {
    return (p, [expr]) => {
      const keep = compileWhere(str(expr))
      const out: Record<string, SimValue> = {}
      for (const [ref, rec] of p.db.table(cls)) if (keep(rec)) out[ref] = rec
      return out
    }
  }
  if (n === 'get_record' || n === 'get_boot_record') return (p, [ref]) => p.db.must(cls, str(ref))
  if (n === 'get_by_uuid') {
    return (p, [uuid]) => {
      const ref = p.db.byUuid(cls, str(uuid))
      if (!ref) throw new SimXapiError(['UUID_INVALID', cls, str(uuid)])
      return ref
    }
  }
  if (n === 'get_by_name_label') {
    return (p, [label]) => {
      const out: string[] = []
      for (const [ref, rec] of p.db.table(cls)) if (rec['name_label'] === label) out.push(ref)
      return out
    }
  }
  if (n === 'destroy') {
    return (p, [ref]) => {
      const rec = p.db.must(cls, str(ref))
      p.db.remove(cls, str(ref))
      maintainRelations(p, c, str(ref), rec, 'remove')
      return ''
    }
  }
  if (n === 'create' && m.params[1]?.type.k === 'record') {
    return (p, [args]) => {
      const ref = newRef()
      const given = args && typeof args === 'object' && !Array.isArray(args) ? args : {}
      const rec = p.db.blank(cls, {})
      for (const f of c.fields) if (given[f.name] !== undefined) rec[f.name] = given[f.name] as SimValue
      p.db.insert(cls, ref, rec)
      maintainRelations(p, c, ref, rec, 'add')
      return ref
    }
  }
  for (const [prefix, kind] of [
    ['get_', 'get'],
    ['set_', 'set'],
    ['add_to_', 'map_add'],
    ['remove_from_', 'map_remove'],
    ['add_', 'set_add'],
    ['remove_', 'set_remove'],
  ] as const) {
    if (!n.startsWith(prefix)) continue
    const f = c.fieldMap.get(n.slice(prefix.length))
    if (!f) continue
    const name = f.name
    switch (kind) {
      case 'get':
        return (p, [ref]) => field(p, c, p.db.must(cls, str(ref)), name)
      case 'set':
        return (p, [ref, value]) => {
          p.db.must(cls, str(ref))
          p.db.update(cls, str(ref), { [name]: value ?? zeroValue(f.type) })
          afterWrite(p, cls, str(ref))
          return ''
        }
      case 'map_add':
        if (f.type.k !== 'map') continue
        return (p, [ref, key, value]) => {
          const rec = p.db.must(cls, str(ref))
          const cur = field(p, c, rec, name)
          const map = cur && typeof cur === 'object' && !Array.isArray(cur) ? cur : {}
          if (Object.prototype.hasOwnProperty.call(map, str(key))) throw new SimXapiError(['MAP_DUPLICATE_KEY', cls, name, str(ref), str(key)])
          p.db.update(cls, str(ref), { [name]: { ...map, [str(key)]: value ?? '' } })
          afterWrite(p, cls, str(ref))
          return ''
        }
      case 'map_remove':
        if (f.type.k !== 'map') continue
        return (p, [ref, key]) => {
          const rec = p.db.must(cls, str(ref))
          const cur = field(p, c, rec, name)
          const map = cur && typeof cur === 'object' && !Array.isArray(cur) ? { ...cur } : {}
          delete map[str(key)]
          p.db.update(cls, str(ref), { [name]: map })
          afterWrite(p, cls, str(ref))
          return ''
        }
      case 'set_add':
        if (f.type.k !== 'set') continue
        return (p, [ref, value]) => {
          const rec = p.db.must(cls, str(ref))
          const cur = field(p, c, rec, name)
          const arr = Array.isArray(cur) ? cur : []
          if (value !== undefined && !arr.includes(value)) p.db.update(cls, str(ref), { [name]: [...arr, value] })
          afterWrite(p, cls, str(ref))
          return ''
        }
      case 'set_remove':
        if (f.type.k !== 'set') continue
        return (p, [ref, value]) => {
          const rec = p.db.must(cls, str(ref))
          const cur = field(p, c, rec, name)
          const arr = Array.isArray(cur) ? cur : []
          p.db.update(cls, str(ref), { [name]: arr.filter((x) => x !== value) })
          afterWrite(p, cls, str(ref))
          return ''
        }
    }
  }
  return undefined
}

/**
 * XAPI keeps one-to-many relations in step (VBD.VM ↔ VM.VBDs, VDI.SR ↔ SR.VDIs): when an object
 * with a ref field to class X is created or destroyed, X's one set field of refs to this class
 * gains or loses it. Ambiguous cases (X with two such sets) are left to hand-written handlers.
 */
export function maintainRelations(pool: PoolState, c: ClassSchema, ref: string, rec: SimRecord, how: 'add' | 'remove'): void {
  for (const f of c.fields) {
    if (f.type.k !== 'ref') continue
    const target = str(rec[f.name])
    const other = pool.schema.classes.get(f.type.cls)
    if (!other || !target || target === 'OpaqueRef:NULL') continue
    const sets = other.fields.filter((g) => g.type.k === 'set' && g.type.of.k === 'ref' && g.type.of.cls === c.name)
    const set = sets.length === 1 ? sets[0] : undefined
    const owner = set ? pool.db.get(other.name, target) : undefined
    if (!set || !owner) continue
    const cur = Array.isArray(owner[set.name]) ? (owner[set.name] as SimValue[]) : []
    if (how === 'add' && !cur.includes(ref)) pool.db.update(other.name, target, { [set.name]: [...cur, ref] })
    if (how === 'remove' && cur.includes(ref)) pool.db.update(other.name, target, { [set.name]: cur.filter((x) => x !== ref) })
  }
}

/** a VM's allowed_operations follow its blocked_operations, template flag and the like */
function afterWrite(pool: PoolState, cls: string, ref: string): void {
  if (cls === 'VM') refreshAllowedOperations(pool, ref)
}

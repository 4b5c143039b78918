/**
 * A record of a class with every field at its datamodel default, in the client's normalised form
 * (ints → numbers, dates → ISO strings, OpaqueRef:NULL → null). Used to fill fields an older host
 * does not send, so code reading a record never meets `undefined` for a field the type promises.
 */
import { CLASSES, ENUMS } from './datamodel.generated'
import type { XapiClass, XapiRecords } from './records.generated'

function defaultFor(type: string, dflt: string | null): unknown {
  if (/ ref$/.test(type)) return null
  if (/ set$/.test(type)) return []
  if (/ map$/.test(type)) return {}
  if (/ option$/.test(type)) return null
  if (type.startsWith('enum ')) {
    const vals = ENUMS[type.slice(5)] ?? []
    return dflt !== null && vals.includes(dflt) ? dflt : (vals[0] ?? '')
  }
  switch (type) {
    case 'int':
    case 'float': {
      const n = dflt === null ? 0 : Number(dflt)
      return Number.isFinite(n) ? n : 0
    }
    case 'bool':
      return dflt === 'true'
    case 'datetime':
      return '1970-01-01T00:00:00.000Z'
    case 'string':
      return dflt === null ? '' : dflt.replace(/^"(.*)"$/, '$1')
    default:
      return dflt ?? ''
  }
}

const cache = new Map<string, Record<string, unknown>>()

export function emptyRecord<C extends XapiClass>(cls: C): XapiRecords[C] {
  let base = cache.get(cls)
  if (!base) {
    const spec = CLASSES.find((c) => c.name === cls)
    if (!spec) throw new Error(`unknown XAPI class ${cls}`)
    base = {}
    for (const [name, type, , dflt, , removed] of spec.fields) if (removed < 0) base[name] = defaultFor(type, dflt)
    cache.set(cls, base)
  }
  // structuredClone: callers may mutate their copy
  return structuredClone(base) as XapiRecords[C]
}

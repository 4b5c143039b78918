/**
 * XenCenter's saved searches as it stores them in a pool (xenadmin: XenModel/XenSearch/Search.cs,
 * SearchMarshalling.cs, Query.cs, QueryScope.cs, QueryTypes.cs): `pool.gui_config["XenSearch.Search-<uuid>"]`
 * holds one `<Search uuid name major_version minor_version [show_expanded]>` whose first child is a
 * `<Query>` (a `<QueryScope>` of object types, then at most one filter), followed by an optional
 * grouping, `<columns>` and `<sorting>`.
 *
 * XenPilot runs the filters it understands (GroupQuery And/Or/Nor, StringPropertyQuery on the name,
 * description or uuid, CustomFieldQuery, EnumPropertyQuery on the power state). A search with
 * anything else is listed as not understood, with the reason, and is never rewritten or removed by
 * XenPilot: its value stays in the pool as it was.
 *
 * The issue text spells the key "XenCenter.Search-"; XenCenter's source writes and reads
 * "XenSearch.Search-" (Search.SearchPrefix), which is what XenPilot writes. Both are read.
 */
import { customFieldKey, parseCustomDate, type CustomFieldDefinition } from './custom-fields'
import { parseXml, xmlElement, type XmlElement, type XmlLimits, XML_LIMITS } from './xml'

export const SEARCH_PREFIX = 'XenSearch.Search-'
const READ_PREFIXES = [SEARCH_PREFIX, 'XenCenter.Search-']

export const OBJECT_TYPES = ['Pool', 'Server', 'DisconnectedServer', 'VM', 'Snapshot', 'UserTemplate', 'DefaultTemplate', 'RemoteSR', 'LocalSR', 'VDI', 'Network', 'Folder', 'Appliance', 'DockerContainer'] as const
export type ObjectType = (typeof OBJECT_TYPES)[number]

export type MatchType = 'exactmatch' | 'contains' | 'startswith' | 'endswith' | 'notcontain'
const MATCH_TYPES: readonly MatchType[] = ['exactmatch', 'contains', 'startswith', 'endswith', 'notcontain']

export type SearchFilter =
  | { kind: 'group'; op: 'And' | 'Or' | 'Nor'; items: SearchFilter[] }
  | { kind: 'string'; property: 'label' | 'description' | 'uuid'; query: string; match: MatchType; caseSensitive: boolean }
  | { kind: 'custom'; field: CustomFieldDefinition; query: string; match: MatchType }
  | { kind: 'power'; state: string; equals: boolean }

export interface XenCenterSearch {
  uuid: string
  name: string
  scope: ObjectType[]
  filter: SearchFilter | null
}

export type ParsedSearch = { ok: true; search: XenCenterSearch } | { ok: false; name: string | null; problem: string }

/** one saved search found in a pool's gui_config */
export interface PoolSearch {
  key: string
  uuid: string
  parsed: ParsedSearch
}

class NotUnderstood extends Error {}

const STRING_PROPS: Record<string, 'label' | 'description' | 'uuid'> = { label: 'label', description: 'description', uuid: 'uuid' }

function bool(v: string | undefined): boolean {
  return v === 'yes' || v === 'True'
}

function filterOf(el: XmlElement): SearchFilter {
  switch (el.name) {
    case 'GroupQuery': {
      const op = el.attrs['type']
      if (op !== 'And' && op !== 'Or' && op !== 'Nor') throw new NotUnderstood(`a GroupQuery of type “${String(op).slice(0, 40)}”`)
      return { kind: 'group', op, items: el.children.map(filterOf) }
    }
    case 'StringPropertyQuery': {
      const property = STRING_PROPS[el.attrs['property'] ?? '']
      const match = el.attrs['type'] as MatchType
      if (!property) throw new NotUnderstood(`a condition on the property “${String(el.attrs['property']).slice(0, 40)}”`)
      if (!MATCH_TYPES.includes(match)) throw new NotUnderstood(`a text match of type “${String(el.attrs['type']).slice(0, 40)}”`)
      return { kind: 'string', property, query: el.attrs['query'] ?? '', match, caseSensitive: bool(el.attrs['casesensitive']) }
    }
    case 'CustomFieldQuery': {
      const def = el.children[0]
      const match = el.attrs['type'] as MatchType
      const name = def?.attrs['name']
      const type = def?.attrs['type']
      if (!def || def.name !== 'CustomFieldDefinition' || name === undefined || (type !== 'String' && type !== 'Date')) throw new NotUnderstood('a custom field condition without its field')
      if (!MATCH_TYPES.includes(match)) throw new NotUnderstood(`a text match of type “${String(el.attrs['type']).slice(0, 40)}”`)
      return { kind: 'custom', field: { name, type }, query: el.attrs['query'] ?? '', match }
    }
    case 'EnumPropertyQuery': {
      if (el.attrs['property'] !== 'power_state') throw new NotUnderstood(`a condition on the property “${String(el.attrs['property']).slice(0, 40)}”`)
      return { kind: 'power', state: el.attrs['query'] ?? '', equals: bool(el.attrs['equals']) }
    }
    default:
      throw new NotUnderstood(`a ${el.name.slice(0, 60)} condition`)
  }
}

/** one saved search's XML; never throws */
export function parseSearch(xml: string, limits: XmlLimits = XML_LIMITS): ParsedSearch {
  if (xml === 'null') return { ok: false, name: null, problem: 'The value is “null” (an empty search an old XenServer wrote).' }
  const doc = parseXml(xml.trim(), limits)
  if (!doc.ok) return { ok: false, name: null, problem: `Its XML cannot be read: ${doc.error}.` }
  const root = doc.root
  const name = root.attrs['name'] ?? null
  if (root.name !== 'Search' && root.name !== 'search') return { ok: false, name, problem: `It is a <${root.name.slice(0, 40)}>, not a <Search>.` }
  const major = Number(root.attrs['major_version'])
  if (!Number.isInteger(major)) return { ok: false, name, problem: 'It has no major_version.' }
  if (major > 2) return { ok: false, name, problem: `It is a version ${major} search; XenCenter and XenPilot read up to version 2.` }
  const first = root.children[0]
  if (!first) return { ok: false, name, problem: 'It has no query.' }
  try {
    let scope: ObjectType[] = OBJECT_TYPES.filter((t) => t !== 'Folder')
    let filter: SearchFilter | null
    if (major >= 2) {
      if (first.name !== 'Query') return { ok: false, name, problem: `Its first element is <${first.name.slice(0, 40)}>, not <Query>.` }
      const sc = first.children.find((c) => c.name === 'QueryScope')
      if (!sc) return { ok: false, name, problem: 'Its query has no scope (QueryScope).' }
      scope = []
      for (const c of sc.children) {
        if (c.name === 'NONE' || c.name.startsWith('ALL')) continue
        if (!(OBJECT_TYPES as readonly string[]).includes(c.name)) return { ok: false, name, problem: `Its scope names the object type “${c.name.slice(0, 40)}”, which XenCenter does not have.` }
        scope.push(c.name as ObjectType)
      }
      const f = first.children.find((c) => c.name !== 'QueryScope')
      filter = f ? filterOf(f) : null
    } else filter = filterOf(first)
    return { ok: true, search: { uuid: root.attrs['uuid'] ?? '', name: name ?? '', scope, filter } }
  } catch (e) {
    if (e instanceof NotUnderstood) return { ok: false, name, problem: `It uses ${e.message}, which XenPilot cannot run yet.` }
    throw e
  }
}

/** every saved search of a pool's gui_config, in key order; a value that cannot be read is listed with why */
export function readPoolSearches(guiConfig: unknown): PoolSearch[] {
  const gui = guiConfig && typeof guiConfig === 'object' ? (guiConfig as Record<string, unknown>) : {}
  const out: PoolSearch[] = []
  for (const key of Object.keys(gui).sort()) {
    const prefix = READ_PREFIXES.find((p) => key.startsWith(p))
    if (!prefix) continue
    const v = gui[key]
    out.push({ key, uuid: key.slice(prefix.length), parsed: typeof v === 'string' ? parseSearch(v) : { ok: false, name: null, problem: 'Its value is not text.' } })
  }
  return out
}

function filterXml(f: SearchFilter): string {
  switch (f.kind) {
    case 'group':
      return xmlElement('GroupQuery', [['type', f.op]], f.items.map(filterXml))
    case 'string':
      return xmlElement('StringPropertyQuery', [['property', f.property], ['casesensitive', f.caseSensitive ? 'yes' : 'no'], ['query', f.query], ['type', f.match]])
    case 'custom':
      return xmlElement('CustomFieldQuery', [['query', f.query], ['type', f.match]], [xmlElement('CustomFieldDefinition', [['name', f.field.name], ['type', f.field.type], ['defaultValue', '']])])
    case 'power':
      return xmlElement('EnumPropertyQuery', [['property', 'power_state'], ['equals', f.equals ? 'yes' : 'no'], ['query', f.state]])
  }
}

/** the XML XenCenter writes for a search (SearchMarshalling.SearchToXML: version 2.0) */
export function writeSearch(s: XenCenterSearch): string {
  const scope = xmlElement('QueryScope', [], s.scope.map((t) => xmlElement(t, [])))
  const query = xmlElement('Query', [], s.filter ? [scope, filterXml(s.filter)] : [scope])
  return xmlElement('Search', [['uuid', s.uuid], ['name', s.name], ['major_version', '2'], ['minor_version', '0']], [query, xmlElement('sorting', [])])
}

/** the gui_config key of a search */
export function searchKey(uuid: string): string {
  return `${SEARCH_PREFIX}${uuid}`
}

/**
 * XenPilot's search box text as a XenCenter search: every word must be in the name or the
 * description (XenCenter's own full-text filter, Search.FullQueryFor, ORs the words; XenPilot's
 * search box ANDs them, so the saved search does what the box did).
 */
export function searchFromText(uuid: string, name: string, text: string, scope: readonly ObjectType[] = ['Pool', 'Server', 'DisconnectedServer', 'VM', 'UserTemplate', 'RemoteSR']): XenCenterSearch {
  const words = text.split(/\s+/).filter((w) => w !== '')
  const items: SearchFilter[] = words.map((w) => ({
    kind: 'group',
    op: 'Or',
    items: [
      { kind: 'string', property: 'label', query: w, match: 'contains', caseSensitive: false },
      { kind: 'string', property: 'description', query: w, match: 'contains', caseSensitive: false },
    ],
  }))
  return { uuid, name, scope: [...scope], filter: items.length === 0 ? null : items.length === 1 ? (items[0] ?? null) : { kind: 'group', op: 'And', items } }
}

/** what a search looks at of one object */
export interface SearchSubject {
  type: ObjectType
  rec: Record<string, unknown>
}

/** the XenCenter object type of a record, or null for what XenCenter does not list (control domains, …) */
export function objectTypeOf(cls: string, rec: Record<string, unknown>, connected = true): ObjectType | null {
  switch (cls) {
    case 'VM':
      if (rec['is_control_domain'] === true) return null
      if (rec['is_a_snapshot'] === true) return 'Snapshot'
      if (rec['is_a_template'] === true) {
        const oc = rec['other_config']
        return oc && typeof oc === 'object' && (oc as Record<string, unknown>)['default_template'] === 'true' ? 'DefaultTemplate' : 'UserTemplate'
      }
      return 'VM'
    case 'host':
      return connected ? 'Server' : 'DisconnectedServer'
    case 'pool':
      return 'Pool'
    case 'SR':
      return rec['shared'] === true ? 'RemoteSR' : 'LocalSR'
    case 'VDI':
      return 'VDI'
    case 'network':
      return 'Network'
    default:
      return null
  }
}

function matchString(candidate: string, query: string, match: MatchType, caseSensitive: boolean): boolean {
  if (query === '') return true
  const c = caseSensitive ? candidate : candidate.toLowerCase()
  const q = caseSensitive ? query : query.toLowerCase()
  switch (match) {
    case 'contains':
      return c.includes(q)
    case 'startswith':
      return c.startsWith(q)
    case 'endswith':
      return c.endsWith(q)
    case 'exactmatch':
      return c === q
    case 'notcontain':
      return !c.includes(q)
  }
}

const POWER: Record<string, string> = { Halted: 'Halted', Running: 'Running', Paused: 'Paused', Suspended: 'Suspended' }

/** true / false / null (undecided: XenCenter's three-valued match) */
function evalFilter(f: SearchFilter, s: SearchSubject): boolean | null {
  switch (f.kind) {
    case 'group': {
      let result: boolean | null = null
      for (const item of f.items) {
        const b = evalFilter(item, s)
        if (f.op === 'And') {
          if (b === false) return false
          if (b === true) result = true
        } else if (f.op === 'Or') {
          if (b === true) return true
          if (b === false) result = false
        } else {
          if (b === true) return false
          if (b === false) result = true
        }
      }
      return result
    }
    case 'string': {
      const field = f.property === 'label' ? 'name_label' : f.property === 'description' ? 'name_description' : 'uuid'
      const v = s.rec[field]
      return typeof v === 'string' ? matchString(v, f.query, f.match, f.caseSensitive) : false
    }
    case 'custom': {
      const oc = s.rec['other_config']
      const v = oc && typeof oc === 'object' ? (oc as Record<string, unknown>)[customFieldKey(f.field.name)] : undefined
      if (typeof v !== 'string' || v === '') return false
      if (f.field.type === 'Date' && parseCustomDate(v) === null) return false
      return matchString(v, f.query, f.match, false)
    }
    case 'power': {
      const v = s.rec['power_state']
      if (typeof v !== 'string' || s.type !== 'VM') return false
      return (v === (POWER[f.state] ?? f.state)) === f.equals
    }
  }
}

/** does an object match a search (its scope, then its filter; an undecided filter lets it through, as in XenCenter) */
export function searchMatches(search: XenCenterSearch, s: SearchSubject): boolean {
  if (!search.scope.includes(s.type)) return false
  return search.filter === null || evalFilter(search.filter, s) !== false
}

/** a short description of what a search looks for ('VMs whose name contains “web”') */
export function describeSearch(search: XenCenterSearch): string {
  const d = (f: SearchFilter): string => {
    switch (f.kind) {
      case 'group':
        return f.items.length === 0 ? 'anything' : f.items.map(d).join(f.op === 'And' ? ' and ' : ' or ').replace(/^/, f.op === 'Nor' ? 'none of: ' : '')
      case 'string':
        return `${f.property === 'label' ? 'name' : f.property} ${f.match === 'notcontain' ? 'does not contain' : f.match === 'exactmatch' ? 'is' : f.match === 'startswith' ? 'starts with' : f.match === 'endswith' ? 'ends with' : 'contains'} “${f.query}”`
      case 'custom':
        return `${f.field.name} ${f.match === 'notcontain' ? 'does not contain' : f.match === 'exactmatch' ? 'is' : f.match === 'startswith' ? 'starts with' : f.match === 'endswith' ? 'ends with' : 'contains'} “${f.query}”`
      case 'power':
        return `power state ${f.equals ? 'is' : 'is not'} ${f.state}`
    }
  }
  return search.filter ? d(search.filter) : 'everything in scope'
}

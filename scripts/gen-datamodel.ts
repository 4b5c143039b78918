/**
 * Generates the compact XAPI datamodel modules under shared/xapi from the reference datamodel
 * (../shared/xapi/xenapi.json, the post-24.16 additions and xapi_errors.json).
 * Only this script reads ../shared; everything else imports the committed output.
 *
 *   npm run gen            (writes shared/xapi/*.generated.ts)
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const ref = process.env.XENPILOT_SHARED ?? join(root, '..', 'shared')

interface JField { name: string; type: string; qualifier: string; default?: string; lifecycle: JLife }
interface JParam { name: string; type: string }
interface JMessage { name: string; params: JParam[]; result: string[]; implicit: boolean; lifecycle?: JLife }
interface JEnum { name: string; values: { name: string }[] }
interface JClass { name: string; fields: JField[]; messages: JMessage[]; enums: JEnum[]; lifecycle: JLife }
interface JLife { transitions: { transition: string; release: string }[] }
interface Additions {
  classes: { class: string; prototyped_in: string }[]
  fields: { class: string; name: string; prototyped_in: string }[]
  messages: { class: string; name: string; prototyped_in: string }[]
}

const model = JSON.parse(readFileSync(join(ref, 'xapi/xenapi.json'), 'utf8')) as JClass[]
const releaseInfo = JSON.parse(readFileSync(join(ref, 'xapi/xenapi_release_info.json'), 'utf8')) as Record<string, unknown>
const additions = JSON.parse(readFileSync(join(ref, 'xapi/xenapi_post_24.16_additions.json'), 'utf8')) as Additions
const errorsFile = JSON.parse(readFileSync(join(ref, 'xapi/xapi_errors.json'), 'utf8')) as {
  errors: { code: string; params: string[]; doc: string }[]
}

// Release order: release_info.json lists releases chronologically up to 24.16.0; later ones come
// from the additions file (sorted numerically).
const releases: string[] = Object.keys(releaseInfo)
const later = new Set<string>()
for (const x of [...additions.classes, ...additions.fields, ...additions.messages]) later.add(x.prototyped_in)
const num = (v: string) => v.split('.').map(Number)
const cmp = (a: string, b: string) => {
  const x = num(a), y = num(b)
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  return 0
}
for (const r of [...later].sort(cmp)) if (!releases.includes(r)) releases.push(r)
const rel = (r: string | undefined): number => {
  if (!r) return 0
  const i = releases.indexOf(r)
  if (i < 0) throw new Error(`unknown release ${r}`)
  return i
}
const since = (l: JLife | undefined): number => {
  const t = l?.transitions.find((x) => x.transition === 'published' || x.transition === 'prototyped')
  return rel(t?.release)
}
const removedIn = (l: JLife | undefined): number => {
  const t = l?.transitions.find((x) => x.transition === 'removed')
  return t ? rel(t.release) : -1
}

// Parameters XAPI declares with defaults (versioned params) are not marked in xenapi.json; this
// table comes from ocaml/idl/datamodel*.ml (`param_default`). Count = trailing optional params.
const OPTIONAL_TAIL: Record<string, number> = {
  'session.login_with_password': 2,
  'VM.snapshot': 1,
  'VM.checkpoint': 0,
  'VM.migrate_send': 1,
  'VM.assert_can_migrate': 1,
  'host.evacuate': 2,
  'host.disable': 0,
  'VM.create_new_blob': 1,
  'host.create_new_blob': 1,
  'pool.create_new_blob': 1,
  'network.create_new_blob': 1,
  'SR.create_new_blob': 1,
  'VDI.pool_migrate': 0,
  'VDI.copy': 3,
  'pool.join': 0,
}

// Types of fields added after 24.16 (xenapi.json has only names for them), from ocaml/idl.
const ADDED_FIELD_TYPES: Record<string, [string, string]> = {
  'VM_metrics.numa_optimised': ['bool', 'false'],
  'VM_metrics.numa_nodes': ['int', '0'],
  'VM_metrics.numa_node_memory': ['(int -> int) map', '{}'],
  'VM.groups': ['VM_group ref set', '()'],
  'pool.vm_console_idle_timeout': ['int', '0'],
  'pool.limit_console_sessions': ['bool', 'false'],
  'pool.ha_reboot_vm_on_internal_shutdown': ['bool', 'true'],
  'pool.license_server': ['(string -> string) map', '{}'],
  'pool.recommendations': ['(string -> string) map', '{}'],
  'pool.ext_auth_cache_enabled': ['bool', 'false'],
  'pool.ext_auth_cache_size': ['int', '50'],
  'pool.ext_auth_cache_expiry': ['int', '300'],
  'host.ssh_enabled': ['bool', 'true'],
  'host.ssh_enabled_timeout': ['int', '0'],
  'host.ssh_expiry': ['datetime', '19700101T00:00:00Z'],
  'host.console_idle_timeout': ['int', '0'],
  'host.ssh_auto_mode': ['bool', 'false'],
  'host.secure_boot': ['bool', 'false'],
  'host.timezone': ['string', 'UTC'],
  'host.ntp_mode': ['string', 'ntp_mode_dhcp'],
  'host.ntp_custom_servers': ['string set', '()'],
  'host.max_cstate': ['string', ''],
  'VIF.trunks': ['int set', '()'],
  'VM_guest_metrics.netbios_name': ['(string -> string) map', '{}'],
  'VM_guest_metrics.services': ['(string -> string) map', '{}'],
  'Certificate.fingerprint_sha256': ['string', ''],
  'Certificate.fingerprint_sha1': ['string', ''],
}

// Signatures of messages added after 24.16 (xenapi.json has only names for them), from ocaml/idl
// datamodel_host.ml / datamodel_pool.ml (SSH management, XAPI 25.13 / 25.21 / 25.27).
const ADDED_MESSAGE_SIGNATURES: Record<string, { params: [string, string][]; result: string }> = {
  'host.enable_ssh': { params: [['session_id', 'session ref'], ['self', 'host ref']], result: 'void' },
  'host.disable_ssh': { params: [['session_id', 'session ref'], ['self', 'host ref']], result: 'void' },
  'host.set_ssh_enabled_timeout': { params: [['session_id', 'session ref'], ['self', 'host ref'], ['value', 'int']], result: 'void' },
  'host.set_console_idle_timeout': { params: [['session_id', 'session ref'], ['self', 'host ref'], ['value', 'int']], result: 'void' },
  'host.set_ssh_auto_mode': { params: [['session_id', 'session ref'], ['self', 'host ref'], ['value', 'bool']], result: 'void' },
  'pool.enable_ssh': { params: [['session_id', 'session ref'], ['self', 'pool ref']], result: 'void' },
  'pool.disable_ssh': { params: [['session_id', 'session ref'], ['self', 'pool ref']], result: 'void' },
  'pool.set_ssh_enabled_timeout': { params: [['session_id', 'session ref'], ['self', 'pool ref'], ['value', 'int']], result: 'void' },
  'pool.set_console_idle_timeout': { params: [['session_id', 'session ref'], ['self', 'pool ref'], ['value', 'int']], result: 'void' },
  'pool.set_ssh_auto_mode': { params: [['session_id', 'session ref'], ['self', 'pool ref'], ['value', 'bool']], result: 'void' },
}

// Classes XAPI never emits events for (datamodel.ml gen_events=false), and classes without Async.
const NO_EVENTS = ['session', 'user', 'secret', 'event', 'data_source', 'auth', 'sr_stat', 'probe_result', 'vdi_nbd_server_info']
const NO_ASYNC = new Set(['session', 'event', 'task', 'data_source', 'blob'])
const ACCESSOR = /^(get_|set_|add_to_|remove_from_|add_|remove_)/

type FieldTuple = [name: string, type: string, qualifier: 'RW' | 'RO' | 'RC', dflt: string | null, since: number, removed: number]
type MessageTuple = [name: string, params: [string, string][], result: string, flags: string, since: number, optionalTail: number]

const enums: Record<string, string[]> = {}
const classes: { name: string; since: number; fields: FieldTuple[]; messages: MessageTuple[] }[] = []
const qual = (q: string): 'RW' | 'RO' | 'RC' => (q === 'RW' ? 'RW' : q === 'RO/constructor' ? 'RC' : 'RO')

for (const c of model) {
  for (const e of c.enums) enums[e.name] = e.values.map((v) => v.name)
  const fields: FieldTuple[] = c.fields.map((f) => [f.name, f.type, qual(f.qualifier), f.default ?? null, since(f.lifecycle), removedIn(f.lifecycle)])
  for (const a of additions.fields.filter((x) => x.class === c.name)) {
    const t = ADDED_FIELD_TYPES[`${c.name}.${a.name}`]
    if (t && !fields.some((f) => f[0] === a.name)) fields.push([a.name, t[0], 'RO', t[1], rel(a.prototyped_in), -1])
  }
  const messages: MessageTuple[] = c.messages.map((m) => {
    const params: [string, string][] = m.params.map((p) => [p.name, p.type])
    const accessor = m.implicit && ACCESSOR.test(m.name)
    const flags = (m.implicit ? 'i' : '') + (!NO_ASYNC.has(c.name) && !accessor && !m.name.startsWith('get_') ? 'a' : '')
    return [m.name, params, m.result[0] ?? 'void', flags, since(m.lifecycle), OPTIONAL_TAIL[`${c.name}.${m.name}`] ?? 0]
  })
  for (const a of additions.messages.filter((x) => x.class === c.name)) {
    const sig = ADDED_MESSAGE_SIGNATURES[`${c.name}.${a.name}`]
    if (sig && !messages.some((m) => m[0] === a.name)) messages.push([a.name, sig.params, sig.result, NO_ASYNC.has(c.name) ? '' : 'a', rel(a.prototyped_in), 0])
  }
  classes.push({ name: c.name, since: since(c.lifecycle), fields, messages })
}

const header = '// GENERATED by scripts/gen-datamodel.ts from the XAPI datamodel (xapi-project/xen-api doc/data/xenapi.json, 24.16.0,\n// plus names added up to 26.17.0). Do not edit; run `npm run gen`.\n'

writeFileSync(
  join(root, 'shared/xapi/datamodel.generated.ts'),
  header +
    `import type { ClassSpec } from './datamodel-types'\n\n` +
    `export const RELEASES: readonly string[] = ${JSON.stringify(releases)}\n\n` +
    `export const NO_EVENT_CLASSES: readonly string[] = ${JSON.stringify(NO_EVENTS)}\n\n` +
    `export const ENUMS: Readonly<Record<string, readonly string[]>> = ${JSON.stringify(enums)}\n\n` +
    `export const CLASSES: readonly ClassSpec[] = [\n` +
    classes.map((c) => '  ' + JSON.stringify(c)).join(',\n') +
    `\n]\n`,
)

// Record types in the client's normalised form: int -> number, datetime -> ISO string,
// refs -> string | null (OpaqueRef:NULL -> null), sets -> arrays, maps -> Records.
function tsType(t: string): string {
  t = t.trim()
  let m = /^\((.+) -> (.+)\) map$/.exec(t)
  if (m) {
    const k = tsType(m[1] ?? 'string')
    return `Record<${k === 'number' ? 'string' : k.includes('|') || k.startsWith('"') ? 'string' : k}, ${tsType(m[2] ?? 'string')}>`
  }
  m = /^(.+) set$/.exec(t)
  if (m) {
    const inner = tsType(m[1] ?? 'string')
    return inner.includes('|') ? `(${inner})[]` : `${inner}[]`
  }
  m = /^(.+) option$/.exec(t)
  if (m) return `${tsType(m[1] ?? 'string')} | null`
  m = /^enum (.+)$/.exec(t)
  if (m) {
    return enums[m[1] ?? ''] ? `XapiEnums[${JSON.stringify(m[1])}]` : 'string'
  }
  if (/ ref$/.test(t)) return 'string | null'
  if (/ record$/.test(t)) {
    const cls = t.replace(/ record$/, '')
    return classes.some((c) => c.name === cls) ? `XapiRecords[${JSON.stringify(cls)}]` : 'Record<string, unknown>'
  }
  switch (t) {
    case 'string': return 'string'
    case 'int': case 'float': return 'number'
    case 'bool': return 'boolean'
    case 'datetime': return 'string'
    default: return 'unknown'
  }
}
const ident = (s: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : JSON.stringify(s))
let types = header + '/* eslint-disable */\n\nexport interface XapiRecords {\n'
for (const c of classes) {
  types += `  ${ident(c.name)}: {\n`
  for (const f of c.fields) {
    // Fields added after 24.16 are absent on older hosts, and fields the datamodel marks removed
    // are still sent by real hosts (host_metrics.memory_free, VM_metrics.VCPUs_utilisation):
    // both are optional in the type.
    const opt = f[4] > releases.indexOf('24.16.0') || f[5] >= 0 ? '?' : ''
    const ty = tsType(f[1])
    types += `    ${ident(f[0])}${opt}: ${ty}\n`
  }
  types += '  }\n'
}
types += '}\n\nexport interface XapiEnums {\n'
for (const [k, v] of Object.entries(enums)) types += `  ${ident(k)}: ${v.map((x) => JSON.stringify(x)).join(' | ')}\n`
types += '}\n\nexport type XapiClass = keyof XapiRecords\n'
types += `export const XAPI_CLASSES: readonly XapiClass[] = ${JSON.stringify(classes.map((c) => c.name))}\n`
writeFileSync(join(root, 'shared/xapi/records.generated.ts'), types)

const errs: Record<string, [string[], string]> = {}
for (const e of errorsFile.errors) errs[e.code] = [e.params ?? [], e.doc ?? ""]
writeFileSync(
  join(root, 'shared/xapi/errors.generated.ts'),
  header.replace('the XAPI datamodel (xapi-project/xen-api doc/data/xenapi.json, 24.16.0,\n// plus names added up to 26.17.0)', 'xapi_errors.json (api_errors.ml + datamodel_errors.ml)') +
    `/** code -> [parameter names, description] */\nexport const XAPI_ERRORS: Readonly<Record<string, readonly [readonly string[], string]>> = ${JSON.stringify(errs)}\n`,
)
console.log(`datamodel: ${classes.length} classes, ${classes.reduce((n, c) => n + c.messages.length, 0)} messages, ${releases.length} releases; ${Object.keys(errs).length} errors`)

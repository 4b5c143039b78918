/**
 * XenCenter's custom fields, as XenCenter stores them (xenadmin: XenModel/CustomFields/
 * CustomFieldsManager.cs, CustomFieldDefinition.cs, CustomField.cs):
 *  - the definitions of a pool: `pool.gui_config["XenCenter.CustomFields"]` =
 *    `<CustomFieldDefinitions><CustomFieldDefinition name="…" type="String|Date" defaultValue="" />…</CustomFieldDefinitions>`
 *  - a value: `other_config["XenCenter.CustomFields.<name>"]` of a VM, host, pool or SR; a Date value
 *    in .NET's "u" format, UTC ("2026-12-07 18:45:00Z"); an empty value means none.
 * XenCenter skips a definition it cannot read and keeps the others; so does XenPilot, and says so.
 */
import { parseXml, xmlElement, type XmlLimits, XML_LIMITS } from './xml'

export const CUSTOM_FIELDS_KEY = 'XenCenter.CustomFields'
/** the classes XenCenter shows and edits custom fields on */
export const CUSTOM_FIELD_CLASSES = ['VM', 'host', 'pool', 'SR'] as const
export type CustomFieldClass = (typeof CUSTOM_FIELD_CLASSES)[number]

export type CustomFieldType = 'String' | 'Date'

export interface CustomFieldDefinition {
  name: string
  type: CustomFieldType
}

export interface CustomFieldDefinitions {
  fields: CustomFieldDefinition[]
  /** why the value (or part of it) could not be read: shown to the user; null when all was read */
  problem: string | null
}

/** the other_config key of a field's value */
export function customFieldKey(name: string): string {
  return `${CUSTOM_FIELDS_KEY}.${name}`
}

/** a field name XenCenter and XAPI take: not empty, not only spaces, at most 256 characters, no control characters */
export function customFieldNameProblem(name: string): string | null {
  if (name.trim() === '') return 'A custom field needs a name.'
  if (name.length > 256) return 'A custom field name may be at most 256 characters long.'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'A custom field name may not contain control characters.'
  return null
}

/** the definitions of a pool from its gui_config; never throws, a bad value is said in `problem` */
export function readCustomFieldDefinitions(guiConfig: unknown, limits: XmlLimits = XML_LIMITS): CustomFieldDefinitions {
  const gui = guiConfig && typeof guiConfig === 'object' ? (guiConfig as Record<string, unknown>) : {}
  const raw = gui[CUSTOM_FIELDS_KEY]
  if (typeof raw !== 'string' || raw.trim() === '') return { fields: [], problem: null }
  const parsed = parseXml(raw.trim(), limits)
  if (!parsed.ok) return { fields: [], problem: `The pool's custom field definitions (gui_config “${CUSTOM_FIELDS_KEY}”) cannot be read: ${parsed.error}.` }
  const fields: CustomFieldDefinition[] = []
  const seen = new Set<string>()
  let skipped = 0
  for (const node of parsed.root.children) {
    const name = node.attrs['name']
    const type = node.attrs['type']
    if (node.name !== 'CustomFieldDefinition' || name === undefined || (type !== 'String' && type !== 'Date') || customFieldNameProblem(name) !== null) {
      skipped++
      continue
    }
    if (seen.has(name)) continue
    seen.add(name)
    fields.push({ name, type })
  }
  const problem = skipped ? `${skipped} of the pool's custom field definitions could not be read and ${skipped === 1 ? 'is' : 'are'} left out (XenCenter skips ${skipped === 1 ? 'it' : 'them'} too).` : null
  return { fields, problem }
}

/**
 * The gui_config value for these definitions, as XenCenter writes it. Definitions the pool holds
 * that XenPilot could not read are not XenPilot's to drop: a change refuses while there are any
 * (see `definitionsWritable`).
 */
export function writeCustomFieldDefinitions(fields: readonly CustomFieldDefinition[]): string {
  return xmlElement(
    'CustomFieldDefinitions',
    [],
    fields.map((f) => xmlElement('CustomFieldDefinition', [['name', f.name], ['type', f.type], ['defaultValue', '']])),
  )
}

/** null when XenPilot may rewrite the pool's definitions, else why not (a value it cannot read would be lost) */
export function definitionsWritable(defs: CustomFieldDefinitions): string | null {
  return defs.problem ? `${defs.problem} XenPilot does not rewrite them, so nothing is lost; fix or remove the value in XenCenter first.` : null
}

/** a Date value as XenCenter writes it: UTC, .NET "u" format */
export function formatCustomDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`
}

/** a stored Date value (XenCenter's "u" format, or an ISO 8601 date) as a Date; null when it is not a date */
export function parseCustomDate(v: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(v.trim())
  if (!m) return null
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7] ?? 'Z'}`
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? null : d
}

export interface CustomFieldValue {
  field: CustomFieldDefinition
  /** the stored text ('' when not set) */
  raw: string
  /** what to show: the text, or a date as a date ('' when not set; the raw text when a Date field holds no date) */
  text: string
  /** a Date field's value that is not a date (XenCenter then shows nothing) */
  invalid: boolean
}

/** every defined field's value on one object (its other_config) */
export function customFieldValues(defs: readonly CustomFieldDefinition[], otherConfig: unknown): CustomFieldValue[] {
  const oc = otherConfig && typeof otherConfig === 'object' ? (otherConfig as Record<string, unknown>) : {}
  return defs.map((field) => {
    const v = oc[customFieldKey(field.name)]
    const raw = typeof v === 'string' ? v : ''
    if (field.type === 'Date' && raw !== '') {
      const d = parseCustomDate(raw)
      return { field, raw, text: d ? formatCustomDate(d).replace(/ 00:00:00Z$/, '').replace(/Z$/, ' UTC') : raw, invalid: d === null }
    }
    return { field, raw, text: raw, invalid: false }
  })
}

/** the value to store for what the user typed: a String as is, a Date normalised to XenCenter's format; an error sentence when a Date is not one */
export function customFieldStoredValue(field: CustomFieldDefinition, input: string): { ok: true; value: string } | { ok: false; error: string } {
  if (field.type === 'String' || input.trim() === '') return { ok: true, value: field.type === 'String' ? input : '' }
  const d = parseCustomDate(input)
  if (!d) return { ok: false, error: `“${input.slice(0, 60)}” is not a date: write it as 2026-12-31 or 2026-12-31 14:30 (UTC).` }
  return { ok: true, value: formatCustomDate(d) }
}

/**
 * Contract entries for what XenCenter keeps in a pool and XenPilot shares with it (issue 19):
 * custom fields (definitions in pool.gui_config["XenCenter.CustomFields"], values in
 * other_config["XenCenter.CustomFields.<name>"] of a VM, host, pool or SR) and saved searches
 * (pool.gui_config["XenSearch.Search-<uuid>"], and XenPilot's own across pools in
 * <dataDir>/searches.json). Formats: shared/xencenter/. Merged into shared/contract/index.ts.
 */
import { z } from 'zod'
import { OperationResult } from './operations'

const Ref = z.string().regex(/^OpaqueRef:[0-9a-fA-F-]+$/, 'must be an OpaqueRef')
const Conn = z.string().min(1)
const FieldName = z
  .string()
  .max(256, 'A custom field name may be at most 256 characters long.')
  .refine((s) => s.trim() !== '', 'A custom field needs a name.')
  // eslint-disable-next-line no-control-regex
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'A custom field name may not contain control characters.')

export const SavedSearch = z.object({
  id: z.string().uuid(),
  name: z.string().trim().min(1, 'A saved search needs a name').max(200),
  /** the search box's text: every word must match (name, uuid, IP, tag, custom field value) */
  query: z.string().max(1000),
  /** the tree view it was saved in */
  mode: z.enum(['infrastructure', 'objects', 'tags', 'folders']).optional(),
  savedAt: z.string(),
})
export type SavedSearch = z.infer<typeof SavedSearch>

export const xencenterMethods = {
  /** set (or, with '', clear) a custom field's value on an object: other_config remove, then add (XenCenter's SaveCustomFieldsAction) */
  'customField.set': {
    args: z.object({ connectionId: Conn, cls: z.enum(['VM', 'host', 'pool', 'SR']), ref: Ref, name: FieldName, value: z.string().max(65536) }).strict(),
    result: OperationResult,
  },
  /** add a definition to the pool's gui_config, re-read live first; refused when the pool holds definitions XenPilot cannot read (they would be lost) */
  'customField.define': {
    args: z.object({ connectionId: Conn, name: FieldName, type: z.enum(['String', 'Date']) }).strict(),
    result: OperationResult,
  },
  /** XenPilot's own saved searches (every pool), oldest first */
  'searches.list': { args: z.object({}).strict(), result: z.array(SavedSearch) },
  /** add or replace (same id) one of XenPilot's saved searches */
  'searches.save': { args: z.object({ search: SavedSearch }).strict(), result: z.array(SavedSearch) },
  'searches.remove': { args: z.object({ id: z.string().uuid() }).strict(), result: z.array(SavedSearch) },
  /** write a search into a pool's gui_config in XenCenter's format (a new key; never over one XenPilot could not read) */
  'searches.saveToPool': {
    args: z.object({ connectionId: Conn, name: z.string().trim().min(1).max(200), query: z.string().max(1000) }).strict(),
    result: OperationResult,
  },
} as const

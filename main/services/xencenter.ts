/**
 * XenCenter's custom fields and saved searches (issue 19; contract shared/contract/xencenter.ts,
 * formats shared/xencenter/):
 *  - a custom field value is set as XenCenter's SaveCustomFieldsAction does: remove the other_config
 *    key, then add it (XAPI refuses add_to_other_config for a key that exists: MAP_DUPLICATE_KEY);
 *    an empty value only removes it. The field must be defined in the pool; a Date is stored in
 *    XenCenter's format.
 *  - a definition is added to the pool's gui_config read LIVE right before (pool.get_gui_config: another
 *    client may have added one since our last event); when the value holds definitions XenPilot
 *    cannot read, it refuses (rewriting would lose them).
 *  - a search saved to a pool gets a new uuid key "XenSearch.Search-<uuid>" (never an existing key).
 *  - XenPilot's own saved searches (every pool) live in <dataDir>/searches.json (the small-file store).
 * Each pool change is one ActionRunner action: history entry, Activity row, XAPI's refusal as a sentence.
 *
 *   modules: [xencenterModule({ history, dataDir })]
 */
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { z } from 'zod'
import { SavedSearch, type xencenterMethods } from '../../shared/contract/xencenter'
import {
  CUSTOM_FIELDS_KEY,
  customFieldKey,
  customFieldStoredValue,
  definitionsWritable,
  readCustomFieldDefinitions,
  writeCustomFieldDefinitions,
} from '../../shared/xencenter/custom-fields'
import { searchFromText, searchKey, writeSearch } from '../../shared/xencenter/search'
import { ActionRefusal } from '../operations/action'
import type { HistorySink } from '../operations/runner'
import { StoredDocument } from '../storage/small-file'
import { connectedAction, moduleActions } from './guard'
import { ServiceError } from './errors'
import type { ModuleFactory } from './module'

export interface XencenterModuleOptions {
  history: HistorySink
  dataDir: string
  log?: (line: string) => void
}

const SearchesFile = z.object({ version: z.literal(1), searches: z.array(SavedSearch).max(500) })
type SearchesFile = z.infer<typeof SearchesFile>

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

export function xencenterModule(opts: XencenterModuleOptions): ModuleFactory<keyof typeof xencenterMethods> {
  const searches = new StoredDocument<SearchesFile>({
    file: join(opts.dataDir, 'searches.json'),
    what: 'the saved searches',
    version: 1,
    schema: SearchesFile,
    empty: () => ({ version: 1, searches: [] }),
  })
  if (searches.problem) opts.log?.(`searches: ${searches.problem.message}`)
  return (ctx) => {
    const graph = (connectionId: string) => ctx.pools.graph(connectionId)
    const actions = moduleActions(ctx, opts.history, (id, ref) => {
      const rec = graph(id)?.get('VM', ref) ?? graph(id)?.get('host', ref) ?? graph(id)?.get('SR', ref) ?? graph(id)?.get('pool', ref)
      return rec ? `'${str(rec['name_label'])}'` : undefined
    })
    const guarded = connectedAction(ctx.pools, 'its custom fields and saved searches')

    const poolOf = (connectionId: string): { ref: string; rec: Record<string, unknown> } => {
      const all = graph(connectionId)?.all('pool')
      const first = all ? [...all.entries()][0] : undefined
      if (!first) throw new ServiceError('not-found', 'The pool record is not loaded yet.')
      return { ref: first[0], rec: first[1] }
    }

    return {
      handlers: {
        'customField.set': guarded(async (a) => {
          const g = graph(a.connectionId)
          const rec = g?.get(a.cls, a.ref)
          if (!rec) throw new ServiceError('not-found', `There is no ${a.cls} ${a.ref} in this pool (it may have been deleted).`)
          const defs = readCustomFieldDefinitions(poolOf(a.connectionId).rec['gui_config'])
          const field = defs.fields.find((f) => f.name === a.name)
          return actions.run({
            connectionId: a.connectionId,
            cls: a.cls,
            ref: a.ref,
            title: a.value === '' ? `Clear custom field ${a.name}` : `Set custom field ${a.name}`,
            params: { field: a.name, value: a.value },
            steps: 2,
            check: () => {
              if (!field) return `The pool has no custom field “${a.name}” (define it first).`
              const v = customFieldStoredValue(field, a.value)
              return v.ok ? true : v.error
            },
            work: async (x) => {
              const v = field ? customFieldStoredValue(field, a.value) : null
              const key = customFieldKey(a.name)
              await x.call(`${a.cls}.remove_from_other_config`, [a.ref, key])
              if (v?.ok && v.value !== '') await x.call(`${a.cls}.add_to_other_config`, [a.ref, key, v.value])
              return undefined
            },
          })
        }),
        'customField.define': guarded(async (a) => {
          const pool = poolOf(a.connectionId)
          return actions.run({
            connectionId: a.connectionId,
            cls: 'pool',
            ref: pool.ref,
            title: `Add custom field ${a.name}`,
            params: { field: a.name, type: a.type },
            steps: 2,
            work: async (x) => {
              // read live: another client may have added a definition since our last event
              const gui = await x.call('pool.get_gui_config', [pool.ref])
              const defs = readCustomFieldDefinitions(gui)
              const refusal = definitionsWritable(defs)
              // refusals found in the live value: the same 'refused' answer as a rule checked before
              if (refusal) throw new ActionRefusal(refusal)
              if (defs.fields.some((f) => f.name === a.name)) throw new ActionRefusal(`The pool already has a custom field “${a.name}”.`)
              const xml = writeCustomFieldDefinitions([...defs.fields, { name: a.name, type: a.type }])
              const has = gui && typeof gui === 'object' && CUSTOM_FIELDS_KEY in gui
              if (has) await x.call('pool.remove_from_gui_config', [pool.ref, CUSTOM_FIELDS_KEY])
              await x.call('pool.add_to_gui_config', [pool.ref, CUSTOM_FIELDS_KEY, xml])
              return undefined
            },
          })
        }),
        'searches.list': () => searches.value.searches,
        'searches.save': async (a) => {
          const next = await searches.update((cur) => {
            const rest = cur.searches.filter((s) => s.id !== a.search.id)
            if (rest.length >= 500) throw new ServiceError('refused', 'XenPilot keeps at most 500 saved searches; remove one first.')
            return { version: 1, searches: [...rest, a.search] }
          })
          return next.searches
        },
        'searches.remove': async (a) => (await searches.update((cur) => ({ version: 1, searches: cur.searches.filter((s) => s.id !== a.id) }))).searches,
        'searches.saveToPool': guarded(async (a) => {
          const pool = poolOf(a.connectionId)
          const uuid = randomUUID()
          return actions.run({
            connectionId: a.connectionId,
            cls: 'pool',
            ref: pool.ref,
            title: `Save search ${a.name}`,
            params: { name: a.name, query: a.query, key: searchKey(uuid) },
            steps: 1,
            work: async (x) => {
              await x.call('pool.add_to_gui_config', [pool.ref, searchKey(uuid), writeSearch(searchFromText(uuid, a.name, a.query))])
              return undefined
            },
          })
        }),
      },
    }
  }
}

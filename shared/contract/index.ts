/**
 * The typed contract between the renderer and main. One table of methods (zod schemas for the
 * arguments and the result) and one of events. main/services implements every method once;
 * both doors (Electron IPC via preload, browser-mode WebSocket) validate against these schemas.
 *
 * To add a method: add an entry here (or in a capability's file merged below: console.ts, numa.ts,
 * operations.ts, storage.ts, provision.ts), implement it in main/services — core methods in index.ts, a capability's in its
 * ServiceModule registered in main/services/runtime.ts — and call it from the renderer through the
 * `XenPilotApi` client. Nothing changes in the doors. A method without a handler answers
 * 'not-implemented'; results are parsed against their schema, so undeclared fields never leak.
 */
import { z } from 'zod'
import { checkServerAddress } from './address'
import { ConnectionState, HostCertificate } from './connection'
import { consoleMethods, consoleEvents } from './console'
import { numaMethods, numaEvents } from './numa'
import { operationMethods, operationEvents } from './operations'
import { cacheMethods, cacheEvents } from './cache'
import { networkMethods } from './network'
import { objectEvents, objectMethods } from './objects'
import { storageMethods } from './storage'
import { provisionMethods } from './provision'
import { migrateEvents, migrateMethods } from './migrate'
import { perfEvents, perfMethods } from './perf'
import { xencenterMethods } from './xencenter'
import { transferEvents, transferMethods } from './transfer'
import { terminalEvents, terminalMethods } from './terminal'
import { driftMethods } from './drift'

export * from './connection'
export { checkServerAddress, type AddressCheck } from './address'
export { ObjectRecordResult, ObjectRemoveSchema, ObjectUpsertSchema, PoolDiffSchema } from './objects'

const Empty = z.object({}).strict()
const Id = z.object({ id: z.string().min(1) }).strict()

/**
 * Where saved passwords go and whether that is safe. Electron: the OS keychain through
 * safeStorage; on Linux without a keyring (backend 'basic_text') passwords would be "encrypted"
 * with a fixed key, so remembering is refused until the user accepts ('needs-consent').
 * Browser mode: a passphrase-protected file (XENPILOT_PASSPHRASE) or, without a passphrase, memory only.
 */
export const KeychainState = z.object({
  backend: z.enum(['os-keychain', 'basic-text', 'passphrase-file', 'memory']),
  /** remembered passwords survive a restart */
  persistent: z.boolean(),
  /** ready: remembering works · needs-consent: the user must accept an insecure store first · unavailable: cannot remember · locked: the passphrase does not open the keychain file */
  status: z.enum(['ready', 'needs-consent', 'unavailable', 'locked']),
  /** a sentence for the user: what the store is and what to do about it */
  detail: z.string(),
})
export type KeychainState = z.infer<typeof KeychainState>

export const TreeMode = z.enum(['infrastructure', 'objects', 'tags', 'folders'])
export type TreeMode = z.infer<typeof TreeMode>
export const Theme = z.enum(['system', 'light', 'dark'])
export type Theme = z.infer<typeof Theme>

/** What one console remembers (by its console key, renderer/src/views/console/route.ts): scale and the guest's keyboard layout. */
export const ConsolePrefs = z.object({
  scale: z.enum(['fit', '1:1']).optional(),
  /** a keyboard layout id for "Type clipboard" (renderer/src/views/console/layouts.ts) */
  layout: z.string().min(1).max(16).optional(),
})
export type ConsolePrefs = z.infer<typeof ConsolePrefs>
const ConsoleKey = z.string().min(1).max(400)
/** consoles remembered at most; the least recently changed go first */
export const MAX_CONSOLE_PREFS = 200

/**
 * The user's preferences, owned by main (one settings.json per data dir) so every window, the native
 * menu and a restart agree; the renderer's settings store is a mirror. Layout sizes are in CSS px.
 */
export const UiSettings = z.object({
  treeMode: TreeMode,
  showTemplates: z.boolean(),
  showSnapshots: z.boolean(),
  /** control domains and objects with other_config.HideFromXenCenter */
  showHidden: z.boolean(),
  theme: Theme,
  /** width of the navigation pane */
  treeWidth: z.number().int().min(180).max(1200),
  /** height of the bottom (Tasks / History / Alerts) panel when open */
  activityHeight: z.number().int().min(80).max(2000),
  activityOpen: z.boolean(),
  consoles: z.record(ConsoleKey, ConsolePrefs),
  /** the size bound of the performance history in the cache (main/cache/perf.ts maxBytes), MiB */
  perfHistoryMiB: z.number().int().min(256).max(256 * 1024),
  /** the custom fields shown as columns of the overview's object grid (by field name; XenCenter's column chooser) */
  overviewColumns: z.array(z.string().min(1).max(200)).max(64),
})
export type UiSettings = z.infer<typeof UiSettings>
export const DEFAULT_UI_SETTINGS: UiSettings = {
  treeMode: 'infrastructure',
  showTemplates: false,
  showSnapshots: false,
  showHidden: false,
  theme: 'system',
  treeWidth: 320,
  activityHeight: 200,
  activityOpen: true,
  consoles: {},
  perfHistoryMiB: 2048,
  overviewColumns: [],
}
/**
 * A change to some preferences: fields given replace the stored ones, except `consoles`, which is
 * merged per console (a console's prefs merged field by field; null forgets that console).
 */
export const SettingsPatch = UiSettings.omit({ consoles: true })
  .partial()
  .extend({ consoles: z.record(ConsoleKey, ConsolePrefs.nullable()).optional() })
  .strict()
export type SettingsPatch = z.infer<typeof SettingsPatch>

/**
 * Actions the native menu (Electron) asks the renderer to perform. View toggles are not commands:
 * the menu changes UiSettings in main and the renderer follows `settings.changed`.
 */
export const UiCommandName = z.enum(['server.add', 'help.about', 'tree.focusSearch', 'command.run'])
export type UiCommandName = z.infer<typeof UiCommandName>
/** 'command.run' runs a renderer command (e.g. 'vm.start') on the current selection: the native VM/Server menus */
export const UiCommand = z.object({ command: UiCommandName, commandId: z.string().regex(/^[a-z]+\.[A-Za-z]+$/).optional() })
export type UiCommand = z.infer<typeof UiCommand>

/**
 * Something the user must know about this start, said once in a banner (renderer AppNotices):
 * 'data-folder' — nothing can be saved (read-only, full): XenPilot started anyway and refuses changes;
 * 'file' — a file of the data folder was damaged and set aside, or written by a newer XenPilot;
 * 'startup' — the previous run died during start-up: automatic connection is paused for this one.
 */
export const AppNotice = z.object({
  kind: z.enum(['data-folder', 'file', 'startup']),
  /** a sentence: what happened and what XenPilot did; `{at}` in it stands for `at`, written by the window as a local time */
  message: z.string(),
  /** ISO time the sentence speaks of (`{at}`): main does not know the window's time zone */
  at: z.string().datetime({ offset: true }).optional(),
})
export type AppNotice = z.infer<typeof AppNotice>

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  mode: z.enum(['electron', 'browser']),
  versions: z.record(z.string(), z.string()),
  /** what the user must know about this start (absent: nothing) */
  notices: z.array(AppNotice).optional(),
})
export type AppInfo = z.infer<typeof AppInfo>

/** a server address (shared/contract/address.ts): host name, IPv4 or [IPv6], optional :port 1–65535; a sentence per refusal */
const host = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const r = checkServerAddress(value)
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.reason })
  })

/** the methods main/services implements itself; a capability's come from its own file, merged below */
export const coreMethods = {
  'app.info': { args: Empty, result: AppInfo },
  'connections.list': { args: Empty, result: z.array(ConnectionState) },
  'connections.add': {
    args: z
      .object({
        address: host,
        username: z.string().trim().min(1, 'User name is required').max(255),
        password: z.string().max(1024),
        rememberPassword: z.boolean(),
        forceXmlRpc: z.boolean().optional(),
        doNotCache: z.boolean().optional(),
      })
      .strict(),
    result: ConnectionState,
  },
  'connections.edit': {
    args: z
      .object({
        id: z.string().min(1),
        address: host.optional(),
        username: z.string().trim().min(1).max(255).optional(),
        password: z.string().max(1024).optional(),
        rememberPassword: z.boolean().optional(),
        forceXmlRpc: z.boolean().optional(),
        doNotCache: z.boolean().optional(),
      })
      .strict(),
    result: ConnectionState,
  },
  'connections.connect': { args: z.object({ id: z.string().min(1), password: z.string().max(1024).optional() }).strict(), result: z.null() },
  'connections.disconnect': { args: Id, result: z.null() },
  'connections.forget': { args: Id, result: z.null() },
  'connections.trust': { args: z.object({ id: z.string().min(1), fingerprint256: z.string().min(1) }).strict(), result: z.null() },
  /** each server of the connection with its pinned certificate and where the pin came from */
  'connections.certificates': { args: Id, result: z.array(HostCertificate) },
  'connections.connectAll': { args: Empty, result: z.null() },
  'connections.disconnectAll': { args: Empty, result: z.null() },
  ...objectMethods,
  'settings.get': { args: Empty, result: UiSettings },
  /** change some preferences; answers the full settings and emits `settings.changed` to every window */
  'settings.update': { args: SettingsPatch, result: UiSettings },
  'keychain.state': { args: Empty, result: KeychainState },
  /** the user accepts storing passwords in an insecure store (Linux without a keyring) */
  'keychain.acceptInsecure': { args: Empty, result: KeychainState },
} as const

export const methods = {
  ...coreMethods,
  ...consoleMethods,
  ...numaMethods,
  ...operationMethods,
  ...cacheMethods,
  ...networkMethods,
  ...storageMethods,
  ...provisionMethods,
  ...migrateMethods,
  ...perfMethods,
  ...transferMethods,
  ...terminalMethods,
  ...xencenterMethods,
  ...driftMethods,
} as const

export const events = {
  ...objectEvents,
  'connection.state': ConnectionState,
  /** a connection was forgotten */
  'connection.removed': z.object({ id: z.string() }),
  'settings.changed': UiSettings,
  'keychain.state': KeychainState,
  /** the native menu asks for an action only the renderer can perform (open a dialog, focus search) */
  'ui.command': UiCommand,
  ...consoleEvents,
  ...numaEvents,
  ...operationEvents,
  ...cacheEvents,
  ...perfEvents,
  ...transferEvents,
  ...migrateEvents,
  ...terminalEvents,
} as const

export type Methods = typeof methods
export type MethodName = keyof Methods
export type MethodArgs<M extends MethodName> = z.input<Methods[M]['args']>
export type MethodResult<M extends MethodName> = z.output<Methods[M]['result']>
export type Events = typeof events
export type EventName = keyof Events
export type EventPayload<E extends EventName> = z.output<Events[E]>

/** An error as it crosses the contract: a code for programs, a sentence for people. */
export const ContractError = z.object({
  code: z.string(),
  message: z.string(),
  /** XAPI error params when the failure came from XAPI */
  params: z.array(z.string()).optional(),
})
export type ContractError = z.infer<typeof ContractError>

/** What the renderer holds: the same shape behind both doors. */
export interface XenPilotApi {
  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>>
  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void
}

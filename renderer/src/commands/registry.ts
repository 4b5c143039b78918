/**
 * Commands (XenCenter's Command(selection) pattern): one object per action with `canRun` (true or a
 * reason a person can read) and `run`. The context menu, toolbar, menu bar ('ui.command' events)
 * and keyboard shortcuts all go through the same registry, so a later feature adds a command by
 * registering it — the tree and menus do not change.
 */
import type { ConnectionState } from '../../../shared/contract/connection'
import type { XenPilotApi } from '../../../shared/contract'
import type { NodeKind } from '../model/tree/types'
import type { PoolObjects } from '../model/objects'
import type { OperationDialogRequest } from '../model/operation-requests'
import type { TransferDialogRequest } from '../model/transfer'
import type { MigrateRequest } from '../model/migrate'

export interface SelectedItem {
  objId: string
  kind: NodeKind
  label: string
  connectionId?: string
  cls?: string
  ref?: string
  /** the node that stands for a saved connection (pool, stand-alone host, or unconnected address) */
  isConnectionRoot?: boolean
}

export type Selection = readonly SelectedItem[]

export type DialogRequest =
  | { kind: 'add-server' }
  | { kind: 'edit-connection'; connectionId: string; connectAfter?: boolean }
  | { kind: 'trust'; connectionId: string }
  | { kind: 'about' }
  | { kind: 'operation'; request: OperationDialogRequest }
  /** export a VM/snapshot/disk to a file, import one (views/transfer) */
  | { kind: 'transfer'; request: TransferDialogRequest }
  | { kind: 'new-vm'; connectionId?: string; host?: string; template?: string }
  /** VM Properties (views/provision/VmPropertiesDialog.vue) */
  | { kind: 'vm-properties'; connectionId: string; ref: string }
  /** name the template made from a snapshot */
  | { kind: 'template-from-snapshot'; connectionId: string; ref: string }
  /** the Migrate wizard (issue 17): cross-pool / within a pool, or storage motion */
  | { kind: 'migrate'; request: MigrateRequest }

export interface ConfirmRequest {
  title: string
  message: string
  confirmLabel: string
  danger?: boolean
}

/** What commands may touch: the contract, state lookups and UI services. */
export interface CommandContext {
  api: Pick<XenPilotApi, 'call'>
  connection(id: string): ConnectionState | undefined
  /** a record of a connection's object graph */
  record(connectionId: string, cls: string, ref: string): Record<string, unknown> | undefined
  /** a connection's whole object graph, for rules that follow links (storage: an SR's connections and disks); absent in tests that do not need it */
  pool?(connectionId: string): PoolObjects | undefined
  confirm(req: ConfirmRequest): Promise<boolean>
  openDialog(req: DialogRequest): void
  copyText(text: string): Promise<void>
  notify(message: string, tone?: 'info' | 'error'): void
}

export type CanRun = true | string

export interface Command {
  id: string
  label: string
  /** menu section; commands are grouped and separated by it */
  group: string
  /** shown in menus for this selection at all (enabled or not) */
  appliesTo(sel: Selection): boolean
  canRun(sel: Selection, ctx: CommandContext): CanRun
  run(sel: Selection, ctx: CommandContext): Promise<void> | void
  /** for a multi-selection, what it acts on and what it skips, shown after the label ('3 VMs (2 are already halted, skipped)'); null when there is nothing to add */
  detail?(sel: Selection, ctx: CommandContext): string | null
  /** e.g. 'Ctrl+Shift+C', 'Delete', 'F5' */
  shortcut?: string
  /** the toolbar shows it (moved into the toolbar's More ▾ menu when the window is too narrow) */
  toolbar?: boolean
  /** shown in the toolbar in place of this command id while it can run (Resume for Suspend) */
  toolbarSwap?: string
  /** not offered at all for this selection (e.g. Migrate in a pool of one server) */
  hidden?(sel: Selection, ctx: CommandContext): boolean
  /** only in the toolbar's More ▾ menu (e.g. Connect All: browser mode has no File menu) */
  toolbarMenu?: boolean
  /** needs no selection (File menu: Add Server, Connect All…); never in the context menu */
  global?: boolean
}

export interface KeyLike {
  key: string
  ctrlKey: boolean
  shiftKey: boolean
  altKey: boolean
  metaKey: boolean
}

export function matchesShortcut(shortcut: string, e: KeyLike): boolean {
  const parts = shortcut.split('+')
  const key = parts.pop() ?? ''
  const want = new Set(parts.map((p) => p.toLowerCase()))
  const ctrl = e.ctrlKey || e.metaKey
  if (want.has('ctrl') !== ctrl || want.has('shift') !== e.shiftKey || want.has('alt') !== e.altKey) return false
  return e.key.toLowerCase() === key.toLowerCase()
}

export class CommandRegistry {
  private readonly commands = new Map<string, Command>()

  register(...cmds: Command[]): void {
    for (const c of cmds) {
      if (this.commands.has(c.id)) throw new Error(`command ${c.id} is registered twice`)
      this.commands.set(c.id, c)
    }
  }
  get(id: string): Command | undefined {
    return this.commands.get(id)
  }
  all(): Command[] {
    return [...this.commands.values()]
  }
  /** commands relevant to a selection, in registration order, grouped */
  forSelection(sel: Selection): Command[] {
    return this.all().filter((c) => !c.global && c.appliesTo(sel))
  }
  /** with a selection, the first command for the shortcut that applies to it (Delete: forget a server, or delete a VM) */
  forShortcut(e: KeyLike, sel?: Selection): Command | undefined {
    let first: Command | undefined
    for (const c of this.commands.values()) {
      if (!c.shortcut || !matchesShortcut(c.shortcut, e)) continue
      if (!sel || c.global || c.appliesTo(sel)) return c
      first ??= c
    }
    return first
  }
  /** run a command if it can run; returns the reason when it cannot */
  async execute(id: string, sel: Selection, ctx: CommandContext): Promise<CanRun> {
    const c = this.commands.get(id)
    if (!c) return `Unknown command ${id}`
    if (!c.global && !c.appliesTo(sel)) return `${c.label} does not apply to the selection`
    const ok = c.canRun(sel, ctx)
    if (ok !== true) return ok
    await c.run(sel, ctx)
    return true
  }
}

/** a command's label for a selection: 'Shut Down' or, for several objects, 'Shut Down 3 VMs (2 are already halted, skipped)' */
export function commandLabel(c: Command, sel: Selection, ctx: CommandContext): string {
  const d = sel.length > 1 ? c.detail?.(sel, ctx) : null
  return d ? `${c.label} ${d}` : c.label
}

/** a command as a menu or the multi-selection pane offers it for a selection */
export interface CommandOffer {
  id: string
  label: string
  group: string
  shortcut: string | undefined
  /** why it cannot run now; null when it can */
  reason: string | null
  /** for several objects: what it acts on and skips ('3 VMs (2 are already halted, skipped)') */
  detail: string | null
}

export function offerOf(c: Command, sel: Selection, ctx: CommandContext): CommandOffer {
  const r = c.canRun(sel, ctx)
  const detail = r === true && sel.length > 1 ? (c.detail?.(sel, ctx) ?? null) : null
  return { id: c.id, label: c.label, group: c.group, shortcut: c.shortcut, reason: r === true ? null : r, detail }
}

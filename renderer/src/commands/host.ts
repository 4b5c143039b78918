/**
 * Host commands: enter/exit maintenance mode (disable + evacuate), reboot, shut down — each with
 * confirmation, canRun from shared/operations/vm.ts (`canRunHost`).
 */
import { HOST_OPERATIONS, canRunHost, type HostOperationId, type HostRecord } from '../../../shared/operations/vm'
import { errorMessage } from '../api/errors'
import { summariseResults } from '../model/results'
import type { CanRun, Command, CommandContext, SelectedItem, Selection } from './registry'
import { offlineReason } from './vm'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strMap = (v: unknown): Record<string, string> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {}
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) out[k] = String(x)
  return out
}

/** a graph record read as a host record, with the fields canRunHost reads made safe */
export function asHostRecord(rec: Record<string, unknown>): HostRecord {
  const host = {
    ...rec,
    name_label: str(rec.name_label),
    hostname: str(rec.hostname),
    enabled: rec.enabled !== false,
    allowed_operations: Array.isArray(rec.allowed_operations) ? rec.allowed_operations.filter((x): x is string => typeof x === 'string') : [],
    current_operations: strMap(rec.current_operations),
    other_config: strMap(rec.other_config),
  }
  return host as unknown as HostRecord
}

const hostItems = (sel: Selection): SelectedItem[] => sel.filter((s) => s.cls === 'host' && s.kind === 'host' && s.connectionId !== undefined && s.ref !== undefined)

/** guest VMs (not the control domain) XAPI lists as resident on the host */
export function liveVmsOn(ctx: CommandContext, connectionId: string, host: Record<string, unknown>): number {
  const refs = Array.isArray(host.resident_VMs) ? host.resident_VMs.filter((x): x is string => typeof x === 'string') : []
  let n = 0
  for (const ref of refs) {
    const vm = ctx.record(connectionId, 'VM', ref)
    if (vm && vm.is_control_domain !== true && vm.power_state !== 'Halted') n++
  }
  return n
}

interface HostCandidate {
  connectionId: string
  ref: string
  name: string
  reason: CanRun
}

function hostCandidates(id: HostOperationId, sel: Selection, ctx: CommandContext): HostCandidate[] {
  const spec = HOST_OPERATIONS[id]
  return hostItems(sel).map((item) => {
    const connectionId = item.connectionId ?? ''
    const ref = item.ref ?? ''
    const raw = ctx.record(connectionId, 'host', ref)
    const name = str(raw?.name_label) || item.label
    const offline = offlineReason(ctx, connectionId)
    const reason: CanRun = offline ?? (raw ? canRunHost(spec, asHostRecord(raw), liveVmsOn(ctx, connectionId, raw)) : `${name} is not loaded yet`)
    return { connectionId, ref, name, reason }
  })
}

const TEXT: Record<HostOperationId, (n: string) => string> = {
  enter_maintenance: (n) => `${n} will be disabled and its running VMs migrated to other servers of the pool. New VMs will not start there until you exit maintenance mode.`,
  exit_maintenance: (n) => `${n} will accept VMs again.`,
  reboot: (n) => `${n} will be disabled and rebooted. It is unavailable until it comes back.`,
  shutdown: (n) => `${n} will be disabled and powered off. Someone will need to power it on again (or use its out-of-band management).`,
}

function hostCommand(id: string, op: HostOperationId): Command {
  const spec = HOST_OPERATIONS[op]
  return {
    id,
    label: spec.label,
    group: 'host',
    appliesTo: (sel) => sel.length > 0 && hostItems(sel).length === sel.length,
    canRun: (sel, ctx) => {
      const list = hostCandidates(op, sel, ctx)
      if (list.some((c) => c.reason === true)) return true
      const r = list[0]?.reason
      return typeof r === 'string' ? r : 'Select a server'
    },
    run: async (sel, ctx) => {
      const all = hostCandidates(op, sel, ctx)
      const ok = all.filter((c) => c.reason === true)
      if (ok.length === 0) return
      const label = spec.label.replace(/…$/, '')
      const who = ok.length <= 3 ? ok.map((c) => c.name).join(', ') : `${ok.length} servers`
      if (spec.confirm) {
        const yes = await ctx.confirm({ title: `${label}: ${who}?`, message: TEXT[op](who), confirmLabel: label, danger: op === 'reboot' || op === 'shutdown' })
        if (!yes) return
      }
      let results
      try {
        results = await ctx.api.call('host.run', { targets: ok.map((c) => ({ connectionId: c.connectionId, ref: c.ref })), op })
      } catch (err) {
        results = ok.map((c) => ({ connectionId: c.connectionId, ref: c.ref, ok: false, error: { code: 'CLIENT_ERROR', message: errorMessage(err), params: [] } }))
      }
      const names = new Map(all.map((c) => [`${c.connectionId}|${c.ref}`, c.name]))
      const skipped = all.filter((c) => c.reason !== true).map((c) => ({ connectionId: c.connectionId, ref: c.ref, reason: typeof c.reason === 'string' ? c.reason : '' }))
      const summary = summariseResults(label, results, skipped, (c, r) => names.get(`${c}|${r}`) ?? r)
      if (summary.failed + summary.skipped > 0) ctx.openDialog({ kind: 'operation', request: { kind: 'results', title: summary.title, rows: summary.rows } })
      else ctx.notify(summary.title)
    },
  }
}

export const hostCommands: Command[] = [
  hostCommand('host.enterMaintenance', 'enter_maintenance'),
  hostCommand('host.exitMaintenance', 'exit_maintenance'),
  hostCommand('host.reboot', 'reboot'),
  hostCommand('host.shutdown', 'shutdown'),
]

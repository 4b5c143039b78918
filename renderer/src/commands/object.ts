/** Commands on any XAPI object. */
import type { Command } from './registry'

export const copyUuidCommand: Command = {
  id: 'object.copyUuid',
  label: 'Copy UUID',
  group: 'clipboard',
  shortcut: 'Ctrl+Shift+C',
  appliesTo: (sel) => sel.length > 0 && sel.every((s) => s.ref !== undefined && s.cls !== undefined),
  canRun: (sel, ctx) => {
    for (const s of sel) {
      const rec = s.connectionId && s.cls && s.ref ? ctx.record(s.connectionId, s.cls, s.ref) : undefined
      if (!rec) return `${s.label} is not loaded`
      if (typeof rec.uuid !== 'string' || rec.uuid === '') return `${s.label} has no UUID`
    }
    return true
  },
  run: async (sel, ctx) => {
    const uuids: string[] = []
    for (const s of sel) {
      const rec = s.connectionId && s.cls && s.ref ? ctx.record(s.connectionId, s.cls, s.ref) : undefined
      if (rec && typeof rec.uuid === 'string') uuids.push(rec.uuid)
    }
    await ctx.copyText(uuids.join('\n'))
    ctx.notify(uuids.length === 1 ? 'UUID copied' : `${uuids.length} UUIDs copied`)
  },
}

export const objectCommands: Command[] = [copyUuidCommand]

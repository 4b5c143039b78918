import { describe, expect, it } from 'vitest'
import { createRegistry, type CommandContext, type DialogRequest, type SelectedItem } from '../../../renderer/src/commands'
import type { ConnectionState } from '../../../shared/contract/connection'

function ctxWith(states: Pick<ConnectionState, 'id' | 'label' | 'status'>[]) {
  const dialogs: DialogRequest[] = []
  const byId = new Map(states.map((s) => [s.id, s as ConnectionState]))
  const ctx: CommandContext = {
    api: { call: (async () => null) as CommandContext['api']['call'] },
    connection: (id) => byId.get(id),
    record: () => undefined,
    confirm: async () => true,
    openDialog: (req) => dialogs.push(req),
    copyText: async () => undefined,
    notify: () => undefined,
  }
  return { ctx, dialogs }
}

describe('New VM… (issue 14)', () => {
  const registry = createRegistry()
  const cmd = registry.get('vm.new')
  if (!cmd) throw new Error('no vm.new')
  const host: SelectedItem = { objId: 'c1|OpaqueRef:h1', kind: 'host', label: 'h1', connectionId: 'c1', cls: 'host', ref: 'OpaqueRef:h1' }

  it('is Ctrl+N (Add Server is not), in the toolbar, and in the context menu of a pool or server', () => {
    expect(registry.forShortcut({ key: 'n', ctrlKey: true, shiftKey: false, altKey: false, metaKey: false }, [])?.id).toBe('vm.new')
    expect(registry.get('app.addServer')?.shortcut).toBeUndefined()
    expect(cmd.toolbar).toBe(true)
    expect(registry.forSelection([host]).map((c) => c.id)).toContain('vm.new')
  })

  it('opens the wizard on the selected server’s pool with that server as home; refuses an offline pool with the reason', async () => {
    const { ctx, dialogs } = ctxWith([{ id: 'c1', label: 'tiny', status: 'connected' }])
    expect(cmd.canRun([host], ctx)).toBe(true)
    await registry.execute('vm.new', [host], ctx)
    expect(dialogs).toEqual([{ kind: 'new-vm', connectionId: 'c1', host: 'OpaqueRef:h1' }])
    const off = ctxWith([{ id: 'c1', label: 'tiny', status: 'disconnected' }])
    expect(cmd.canRun([host], off.ctx)).toBe('tiny is not connected: connect to make a VM there')
    // with nothing selected the wizard offers the connected pools
    expect(cmd.canRun([], off.ctx)).toBe(true)
  })
})

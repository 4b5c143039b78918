import { describe, expect, it } from 'vitest'
import { appCommands } from '../../../renderer/src/commands/app'
import { connectionCommands } from '../../../renderer/src/commands/connection'
import { objectCommands } from '../../../renderer/src/commands/object'
import { CommandRegistry, type CommandContext, type ConfirmRequest, type DialogRequest, type SelectedItem } from '../../../renderer/src/commands/registry'
import type { ConnectionState } from '../../../shared/contract/connection'
import { connectionState } from './fleet'

/** the commands this issue defines (other features register theirs in the app's registry) */
function createRegistry(): CommandRegistry {
  const r = new CommandRegistry()
  r.register(...appCommands, ...connectionCommands, ...objectCommands)
  return r
}

function fakeContext(states: ConnectionState[], answer = true) {
  const calls: { method: string; args: unknown }[] = []
  const dialogs: DialogRequest[] = []
  const confirms: ConfirmRequest[] = []
  const copied: string[] = []
  const notes: string[] = []
  const byId = new Map(states.map((s) => [s.id, s]))
  const ctx: CommandContext = {
    api: {
      call: (async (method: string, args: unknown) => {
        calls.push({ method, args })
        return null
      }) as CommandContext['api']['call'],
    },
    connection: (id) => byId.get(id),
    record: (_c, cls, ref) => (cls === 'VM' && ref === 'OpaqueRef:vm' ? { uuid: 'a-uuid' } : cls === 'VM' && ref === 'OpaqueRef:nouuid' ? {} : undefined),
    confirm: async (req) => {
      confirms.push(req)
      return answer
    },
    openDialog: (req) => dialogs.push(req),
    copyText: async (t) => {
      copied.push(t)
    },
    notify: (m) => notes.push(m),
  }
  return { ctx, calls, dialogs, confirms, copied, notes }
}

const root = (id: string, label = id): SelectedItem => ({ objId: `conn:${id}`, kind: 'pool', label, connectionId: id, isConnectionRoot: true, cls: 'pool', ref: `OpaqueRef:${id}-pool` })
const vm = (ref = 'OpaqueRef:vm'): SelectedItem => ({ objId: `c1|${ref}`, kind: 'VM', label: 'web-1', connectionId: 'c1', cls: 'VM', ref })

describe('connection commands', () => {
  const registry = createRegistry()
  const cmd = (id: string) => {
    const c = registry.get(id)
    if (!c) throw new Error(`no ${id}`)
    return c
  }

  it('connect says why it cannot run', () => {
    const { ctx } = fakeContext([
      connectionState('on'),
      connectionState('off', { status: 'disconnected' }),
      connectionState('trust', { status: 'awaiting-trust' }),
      connectionState('changed', { status: 'cert-changed' }),
    ])
    expect(cmd('connection.connect').canRun([root('on')], ctx)).toBe('Already connected')
    expect(cmd('connection.connect').canRun([root('off')], ctx)).toBe(true)
    expect(cmd('connection.connect').canRun([root('trust')], ctx)).toBe('Waiting for you to review the server certificate')
    expect(cmd('connection.connect').canRun([root('changed')], ctx)).toMatch(/certificate changed/)
    expect(cmd('connection.connect').canRun([root('off'), root('on')], ctx)).toBe('on: Already connected')
  })

  it('disconnect, retry and review certificate depend on the state', () => {
    const { ctx } = fakeContext([connectionState('on'), connectionState('off', { status: 'disconnected' }), connectionState('bad', { status: 'failed' }), connectionState('t', { status: 'awaiting-trust' })])
    expect(cmd('connection.disconnect').canRun([root('on')], ctx)).toBe(true)
    expect(cmd('connection.disconnect').canRun([root('off')], ctx)).toBe('Not connected')
    expect(cmd('connection.retry').canRun([root('bad')], ctx)).toBe(true)
    expect(cmd('connection.retry').canRun([root('on')], ctx)).toBe('Only a connection that failed or is waiting to try again can be retried')
    expect(cmd('connection.reviewCertificate').canRun([root('t')], ctx)).toBe(true)
    expect(cmd('connection.reviewCertificate').canRun([root('on')], ctx)).toBe('No certificate is waiting for review')
  })

  it('a forgotten connection is no longer a valid target', () => {
    const { ctx } = fakeContext([])
    expect(cmd('connection.disconnect').canRun([root('gone', 'old-pool')], ctx)).toBe('old-pool is no longer a saved connection')
  })

  it('connection commands apply only to connection nodes; edit needs exactly one', () => {
    const { ctx } = fakeContext([connectionState('a'), connectionState('b')])
    expect(cmd('connection.connect').appliesTo([vm()])).toBe(false)
    expect(cmd('connection.edit').canRun([root('a'), root('b')], ctx)).toBe('Select one connection to edit')
    expect(registry.forSelection([vm()]).map((c) => c.id)).toEqual(['object.copyUuid'])
  })

  it('forget asks first and calls connections.forget only when confirmed', async () => {
    const yes = fakeContext([connectionState('a', { label: 'alpha' })], true)
    expect(await registry.execute('connection.forget', [root('a', 'alpha')], yes.ctx)).toBe(true)
    expect(yes.confirms[0]?.title).toBe('Forget alpha?')
    expect(yes.calls).toEqual([{ method: 'connections.forget', args: { id: 'a' } }])
    const no = fakeContext([connectionState('a')], false)
    await registry.execute('connection.forget', [root('a')], no.ctx)
    expect(no.calls).toEqual([])
  })

  it('connect without a saved password asks for it instead of calling main', async () => {
    const f = fakeContext([connectionState('a', { status: 'disconnected', hasPassword: false })])
    await registry.execute('connection.connect', [root('a')], f.ctx)
    expect(f.calls).toEqual([])
    expect(f.dialogs).toEqual([{ kind: 'edit-connection', connectionId: 'a', connectAfter: true }])
  })

  it('execute refuses with the reason and does not run', async () => {
    const f = fakeContext([connectionState('a')])
    expect(await registry.execute('connection.connect', [root('a')], f.ctx)).toBe('Already connected')
    expect(f.calls).toEqual([])
  })
})

describe('copy UUID', () => {
  const registry = createRegistry()
  it('copies the uuids of the selection and explains when there is none', async () => {
    const f = fakeContext([])
    const c = registry.get('object.copyUuid')
    expect(c?.canRun([vm('OpaqueRef:nouuid')], f.ctx)).toBe('web-1 has no UUID')
    expect(c?.canRun([vm('OpaqueRef:missing')], f.ctx)).toBe('web-1 is not loaded')
    expect(await registry.execute('object.copyUuid', [vm()], f.ctx)).toBe(true)
    expect(f.copied).toEqual(['a-uuid'])
  })
  it('is bound to Ctrl+Shift+C', () => {
    expect(registry.forShortcut({ key: 'C', ctrlKey: true, shiftKey: true, altKey: false, metaKey: false })?.id).toBe('object.copyUuid')
    expect(registry.forShortcut({ key: 'c', ctrlKey: true, shiftKey: false, altKey: false, metaKey: false })).toBeUndefined()
  })
  it('a later feature adds commands without touching the tree; duplicates are refused', () => {
    const r = createRegistry()
    r.register({ id: 'vm.start', label: 'Start', group: 'vm', appliesTo: (s) => s.every((i) => i.kind === 'VM'), canRun: () => true, run: () => undefined })
    expect(r.forSelection([vm()]).map((c) => c.id)).toEqual(['object.copyUuid', 'vm.start'])
    expect(() => r.register({ id: 'vm.start', label: 'x', group: 'vm', appliesTo: () => true, canRun: () => true, run: () => undefined })).toThrow(/twice/)
  })
})

/**
 * The preload against a fake `electron`: it exposes exactly `xenpilot = { call, on }`, unwraps
 * main's envelope into a result or a rejected ContractError object (code intact), and delivers
 * events to the callbacks registered for them until they unsubscribe.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'

const fake = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  invokes: [] as unknown[][],
  reply: undefined as unknown,
  eventListener: undefined as undefined | ((e: unknown, event: unknown, payload: unknown) => void),
}))

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => void fake.exposed.set(key, api) },
  ipcRenderer: {
    invoke: async (...args: unknown[]) => {
      fake.invokes.push(args)
      return fake.reply
    },
    on: (channel: string, cb: (e: unknown, event: unknown, payload: unknown) => void) => {
      if (channel === 'xenpilot:event') fake.eventListener = cb
    },
  },
}))

interface Api {
  call(method: string, args: unknown): Promise<unknown>
  on(event: string, cb: (p: unknown) => void): () => void
}

let api: Api
beforeAll(async () => {
  await import('../../../main/app/preload')
  api = fake.exposed.get('xenpilot') as Api
})

describe('the preload', () => {
  it('exposes exactly xenpilot = { call, on } and nothing else', () => {
    expect([...fake.exposed.keys()]).toEqual(['xenpilot'])
    expect(Object.keys(api).sort()).toEqual(['call', 'on'])
  })

  it('sends a call on the invoke channel and resolves with the result', async () => {
    fake.reply = { ok: true, result: { name: 'XenPilot' } }
    await expect(api.call('app.info', {})).resolves.toEqual({ name: 'XenPilot' })
    expect(fake.invokes.at(-1)).toEqual(['xenpilot:call', 'app.info', {}])
  })

  it('rejects with the ContractError as a plain object, so its code survives the context bridge', async () => {
    fake.reply = { ok: false, error: { code: 'invalid-args', message: 'connections.add was called with invalid arguments — address: Server is required.' } }
    const err = await api.call('connections.add', {}).catch((e: unknown) => e)
    expect(err).toEqual({ code: 'invalid-args', message: 'connections.add was called with invalid arguments — address: Server is required.' })
    expect(err).not.toBeInstanceOf(Error)
  })

  it('rejects a malformed answer from main instead of passing it on', async () => {
    fake.reply = 'surprise'
    await expect(api.call('app.info', {})).rejects.toMatchObject({ code: 'internal' })
  })

  it('delivers events to their subscribers until they unsubscribe; a failing subscriber does not stop the others', () => {
    const got: unknown[] = []
    const off = api.on('connection.state', (p) => got.push(p))
    api.on('connection.state', () => {
      throw new Error('subscriber bug')
    })
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    fake.eventListener?.({}, 'connection.state', { id: 'a' })
    fake.eventListener?.({}, 'pool.diff', { connectionId: 'a' })
    fake.eventListener?.({}, 42, {})
    off()
    fake.eventListener?.({}, 'connection.state', { id: 'b' })
    expect(got).toEqual([{ id: 'a' }])
    expect(errors).toHaveBeenCalled()
    errors.mockRestore()
  })

  it('refuses calls without a method name and subscriptions without a callback', async () => {
    await expect(api.call(42 as unknown as string, {})).rejects.toMatchObject({ code: 'bad-message' })
    expect(() => api.on('x', 'not a function' as unknown as () => void)).toThrow()
  })
})

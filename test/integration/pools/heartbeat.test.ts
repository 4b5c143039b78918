/**
 * A connected pool's heartbeat (host.get_servertime on the rpc session) finds a master that stopped
 * answering. At idle the pool's event.from answers every eventTimeoutS anyway, which says as much:
 * a heartbeat is asked only after a full interval without any answer (issue 20: what each of 200
 * idle pools costs).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { XapiClient } from '../../../main/xapi/client'
import { connectTrusted, makeManager, tinyPoolForTests } from './helpers'

const tiny = tinyPoolForTests()
afterEach(() => {
  vi.restoreAllMocks()
})

/** host.get_servertime calls made while `ms` pass, once connected */
async function beatsDuring(opts: { heartbeatMs: number; eventTimeoutS: number }, ms: number): Promise<number> {
  const h = makeManager(opts)
  try {
    await connectTrusted(h, tiny())
    let beats = 0
    const call = XapiClient.prototype.call
    vi.spyOn(XapiClient.prototype, 'call').mockImplementation(function (this: XapiClient, ...args: Parameters<XapiClient['call']>) {
      if (args[0] === 'host.get_servertime') beats++
      return call.apply(this, args)
    })
    await new Promise((r) => setTimeout(r, ms))
    return beats
  } finally {
    await h.close()
  }
}

describe('heartbeat', () => {
  it('asks nothing while event.from answers more often than a beat', async () => {
    // event.from answers every ≈1 s with nothing new; a beat would be every 3 s
    expect(await beatsDuring({ heartbeatMs: 3000, eventTimeoutS: 1 }, 7000)).toBe(0)
  }, 30_000)

  it('beats when event.from has been quiet for a whole interval', async () => {
    // event.from answers every ≈4 s; between two answers a beat is due every 0.5 s of quiet
    expect(await beatsDuring({ heartbeatMs: 500, eventTimeoutS: 4 }, 4000)).toBeGreaterThanOrEqual(3)
  }, 30_000)
})

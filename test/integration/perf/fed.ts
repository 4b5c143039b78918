/** What the perf integration tests share: ticking a collector until its hosts are fed and first sight is done. */
import type { RrdCollector } from '../../../main/perf/collector'

/**
 * Ticks until `hosts` hosts have been fed (the first feeds are spread over a few seconds) and first
 * sight has filled the past; with a `clock` (the collector's own), a second passes between ticks.
 */
export async function fed(c: RrdCollector, opts: { hosts?: number; clock?: { t: number } } = {}): Promise<void> {
  const hosts = opts.hosts ?? 2
  for (let i = 0; i < 100; i++) {
    if (opts.clock) opts.clock.t += 1000
    c.tick()
    await c.idle()
    const sight = c.firstSightStatus()
    if (c.status().length === hosts && c.status().every((s) => s.lastEnd !== undefined) && sight.queued === 0 && sight.running === 0) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`hosts not fed: ${JSON.stringify(c.status())}; first sight ${JSON.stringify(c.firstSightStatus())}`)
}

/** Where memory goes: host and NUMA node accounting, the host a running VM lands on, and its nodes. */
import { roundPages, type BuildContext, type HostState } from './context'
import type { VmSpec } from './plan'

/** takes `bytes` from the host and spreads them over `nodes` (the last node takes the rest) */
export function takeMemory(h: HostState, bytes: number, nodes: number[]): Record<string, number> {
  const per: Record<string, number> = {}
  let left = bytes
  nodes.forEach((n, i) => {
    const share = i === nodes.length - 1 ? left : roundPages(bytes / nodes.length)
    per[String(n)] = share
    h.nodeFree[n] = (h.nodeFree[n] ?? 0) - share
    left -= share
  })
  h.freeBytes -= bytes
  return per
}

export function pickHost(b: BuildContext, spec: VmSpec, bytes: number): HostState | undefined {
  const fill = b.plan.maxFill ?? 0.8
  const fits = (h: HostState): boolean => h.freeBytes - bytes >= h.totalBytes * (1 - fill)
  const preferred = spec.host !== undefined ? b.hosts[spec.host % b.hosts.length] : undefined
  if (preferred && fits(preferred)) return preferred
  let best: HostState | undefined
  for (const h of b.hosts) if (fits(h) && (!best || h.freeBytes > best.freeBytes)) best = h
  return best
}

/** xenopsd best_effort in miniature: one node when it fits, else the fewest nodes with most free. */
export function placeNuma(h: HostState, bytes: number, masked: boolean): Record<string, number> {
  const nodes = h.nodeFree.map((free, n) => ({ n, free })).sort((a, b) => b.free - a.free || a.n - b.n)
  if (masked) return takeMemory(h, bytes, h.nodeFree.map((_, n) => n))
  const first = nodes[0]
  if (first && first.free >= bytes) return takeMemory(h, bytes, [first.n])
  const chosen: number[] = []
  let sum = 0
  for (const { n, free } of nodes) {
    chosen.push(n)
    sum += Math.max(0, free)
    if (sum >= bytes) break
  }
  return takeMemory(h, bytes, chosen.sort((a, b) => a - b))
}

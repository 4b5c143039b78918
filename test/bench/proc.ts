/** Process memory readings for benchmarks (Linux /proc): RSS of a process and its descendants. */
import { readdirSync, readFileSync } from 'node:fs'

export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m?.[1] ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** every process below `root` with its command line */
export function descendants(root: number): { pid: number; cmd: string }[] {
  const children = new Map<number, number[]>()
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(e))
      children.set(ppid, list)
    } catch {
      // gone meanwhile
    }
  }
  const out: { pid: number; cmd: string }[] = []
  const walk = (pid: number): void => {
    for (const c of children.get(pid) ?? []) {
      let cmd = ''
      try {
        cmd = readFileSync(`/proc/${c}/cmdline`, 'utf8').replace(/\0/g, ' ')
      } catch {
        // gone meanwhile
      }
      out.push({ pid: c, cmd })
      walk(c)
    }
  }
  walk(root)
  return out
}

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

/** CPU time (user + system, ms) of each thread of this process (or `pid`) by thread name (Linux /proc; {} elsewhere) */
export function threadCpuMs(pid?: number): Record<string, number> {
  const proc = pid === undefined ? 'self' : String(pid)
  const mainTid = String(pid ?? process.pid)
  const out: Record<string, number> = {}
  const tick = 10 // USER_HZ is 100 on Linux
  let tasks: string[] = []
  try {
    tasks = readdirSync(`/proc/${proc}/task`)
  } catch {
    return out
  }
  for (const t of tasks) {
    try {
      const stat = readFileSync(`/proc/${proc}/task/${t}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '#')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ms = (Number(f[11]) + Number(f[12])) * tick
      const key = t === mainTid ? 'main' : name
      out[key] = (out[key] ?? 0) + ms
    } catch {
      // the thread ended meanwhile
    }
  }
  return out
}

/** b − a per thread name, zero entries left out */
export function threadCpuDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const k of Object.keys(b)) {
    const d = (b[k] ?? 0) - (a[k] ?? 0)
    if (d > 0) out[k] = d
  }
  return out
}

/** CPU time a process used so far (user + system), in seconds (Linux /proc: clock ticks of 1/100 s) */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command's closing parenthesis
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return 0
  }
}

/**
 * Simulator speed (`npm run bench`): bench-10k VM.get_all_records over XML-RPC and JSON-RPC
 * (goal < 1 s each, until the client has the last byte), and event.from throughput (goal ≥ 50,000
 * events/s). The client is a separate process, so the simulator's own CPU time per request can be
 * reported next to the wall time (this machine is shared: wall time moves with the load, which is
 * printed with each section).
 *  - warmup: once a pool listens, the simulator encodes every record for both protocols in the
 *    background; its wall and CPU time are the cost of a cold encoding of the whole pool.
 *  - get_all_records.<proto>.first / best of 3: after the warm-up, as a client connecting to a
 *    running simulator sees it.
 *  - event_from.burst: 56k changes, then one event.from delivers them (snapshots encoded fresh).
 *  - event_from.live: changes made in batches on the pool database at up to 60,000/s while the
 *    client follows; the generator's own CPU time is measured apart, so server_cpu (events per
 *    CPU-second of the simulator) says whether the simulator could keep up on a free core.
 * Prints `BENCH {...}` lines; baseline = the goal, ratio = value / goal.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildFleet } from '../sim/fleet'
import { poolStateOf, startSimulator } from '../sim'
import type { SimHostHandle } from '../sim/model'

function bench(name: string, value: number, unit: string, goal?: number): void {
  const line: Record<string, unknown> = { name, value: Math.round(value * 100) / 100, unit }
  if (goal !== undefined) {
    line['baseline'] = goal
    line['ratio'] = Math.round((value / goal) * 1000) / 1000
  }
  console.log(`BENCH ${JSON.stringify(line)}`)
}

// The client: POST a body, read the whole answer, report time, size and how many events it holds.
const CLIENT = `
const https = require('node:https')
const parentPort = { postMessage: (m) => process.send(m) }
process.on('message', ({ id, url, ca, path, body, keep }) => {
  const u = new URL(url)
  const t0 = performance.now()
  const req = https.request({ host: u.hostname, port: Number(u.port), method: 'POST', path, ca, agent: false }, (res) => {
    const chunks = []
    let bytes = 0
    let events = 0
    let tail = ''
    let carry = Buffer.alloc(0)
    const pattern = Buffer.from('"operation":')
    res.on('data', (c) => {
      bytes += c.length
      // count on the bytes; a match split across chunks is found once (the carry is shorter than the pattern)
      const b = carry.length ? Buffer.concat([carry, c]) : c
      let i = -1
      while ((i = b.indexOf(pattern, i + 1)) >= 0) events++
      carry = Buffer.from(b.subarray(Math.max(0, b.length - (pattern.length - 1))))
      tail = (tail + c.subarray(Math.max(0, c.length - 120)).toString('latin1')).slice(-120)
      if (keep) chunks.push(c)
    })
    res.on('end', () => {
      const m = /"token":"([0-9,]+)"/.exec(tail + '')
      parentPort.postMessage({ id, ms: performance.now() - t0, bytes, events, token: m ? m[1] : '', body: keep ? Buffer.concat(chunks).toString() : '' })
    })
  })
  req.on('error', (e) => parentPort.postMessage({ id, error: String(e) }))
  req.end(body)
})
`

interface Reply {
  ms: number
  bytes: number
  events: number
  /** event.from token found at the end of the body */
  token: string
  body: string
}

class Client {
  private readonly dir = mkdtempSync(join(tmpdir(), 'xenpilot-sim-bench-'))
  private readonly child: ChildProcess
  private next = 0
  private readonly pending = new Map<number, (r: Reply | { error: string }) => void>()
  constructor(private readonly host: SimHostHandle) {
    const script = join(this.dir, 'client.cjs')
    writeFileSync(script, CLIENT)
    this.child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (m: (Reply | { error: string }) & { id: number }) => {
      this.pending.get(m.id)?.(m)
      this.pending.delete(m.id)
    })
  }
  post(path: string, body: string, keep = false): Promise<Reply> {
    const id = this.next++
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => ('error' in r ? reject(new Error(r.error)) : resolve(r)))
      this.child.send({ id, url: this.host.url, ca: this.host.certPem, path, body, keep })
    })
  }
  async json(method: string, params: unknown[]): Promise<unknown> {
    const r = await this.post('/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }), true)
    const parsed = JSON.parse(r.body) as { result?: unknown; error?: unknown }
    if (parsed.error) throw new Error(`${method}: ${JSON.stringify(parsed.error)}`)
    return parsed.result
  }
  eventFrom(session: string, classes: string[], token: string, timeout: number): Promise<Reply & { token: string }> {
    return this.post('/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method: 'event.from', params: [session, classes, token, timeout], id: 1 })).then((r) => ({
      ...r,
      token: r.token || token,
    }))
  }
  close(): void {
    this.child.kill()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** wall time and the simulator process's CPU time of one request */
async function measured(f: () => Promise<Reply>): Promise<{ wall: number; cpu: number; r: Reply }> {
  const c0 = process.cpuUsage()
  const r = await f()
  const c = process.cpuUsage(c0)
  return { wall: r.ms, cpu: (c.user + c.system) / 1000, r }
}

const xml = (method: string, params: string[]): string =>
  `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param><value>${p}</value></param>`).join('')}</params></methodCall>`

async function main(): Promise<void> {
  let t0 = performance.now()
  const fleet = buildFleet('bench-10k', { opDurationMs: 0 })
  bench('sim.bench10k.build_fleet', performance.now() - t0, 'ms')
  t0 = performance.now()
  const sim = await startSimulator({ fleet })
  bench('sim.bench10k.start', performance.now() - t0, 'ms')
  const pool = sim.pools[0]
  const master = pool?.hosts.find((h) => h.url === pool.masterUrl)
  const state = pool ? poolStateOf(pool) : undefined
  if (!pool || !master || !state) throw new Error('bench-10k pool not running')
  const client = new Client(master)
  try {
    const session = String(await client.json('session.login_with_password', [pool.username, pool.password]))
    console.log(`# ${pool.objects.get('VM')?.size ?? 0} VMs; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)

    // the simulator encodes every record for both protocols in the background once it listens;
    // a client that connects later (the normal case) finds the fragments cached
    const warmCpu0 = process.cpuUsage()
    const warmT0 = performance.now()
    await state.warmCaches()
    const warmCpu = process.cpuUsage(warmCpu0)
    bench('sim.bench10k.warmup', performance.now() - warmT0, 'ms')
    bench('sim.bench10k.warmup.server_cpu', (warmCpu.user + warmCpu.system) / 1000, 'ms')

    for (const [proto, path, body] of [
      ['xmlrpc', '/', xml('VM.get_all_records', [session])],
      ['jsonrpc', '/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method: 'VM.get_all_records', params: [session], id: 1 })],
    ] as const) {
      // first call of this client (fragments cached by the warm-up), then the best of three more
      const first = await measured(() => client.post(path, body))
      bench(`sim.bench10k.get_all_records.${proto}.first`, first.wall, 'ms', 1000)
      bench(`sim.bench10k.get_all_records.${proto}.first.server_cpu`, first.cpu, 'ms')
      bench(`sim.bench10k.get_all_records.${proto}.size`, first.r.bytes / 1e6, 'MB')
      const warm: { wall: number; cpu: number }[] = []
      for (let i = 0; i < 3; i++) warm.push(await measured(() => client.post(path, body)))
      warm.sort((a, b) => a.wall - b.wall)
      bench(`sim.bench10k.get_all_records.${proto}`, warm[0]?.wall ?? NaN, 'ms', 1000)
      bench(`sim.bench10k.get_all_records.${proto}.server_cpu`, Math.min(...warm.map((w) => w.cpu)), 'ms', 1000)
    }

    bench('sim.bench10k.rss_after_get_all_records', process.memoryUsage().rss / 1e6, 'MB')

    // burst: every VM_metrics, VBD, VIF and VDI changed, then one event.from delivers them all
    const classes = ['VM_metrics', 'VBD', 'VIF', 'VDI']
    let token = (await client.eventFrom(session, classes, '', 0)).token
    let changes = 0
    for (const cls of classes) {
      for (const ref of [...state.db.table(cls).keys()]) {
        state.db.update(cls, ref, { other_config: { bench: String(changes++) } })
      }
    }
    const c0 = process.cpuUsage()
    const burst = await client.eventFrom(session, classes, token, 5)
    const burstCpu = process.cpuUsage(c0)
    token = burst.token
    bench('sim.event_from.burst', burst.events / (burst.ms / 1000), 'events/s', 50_000)
    bench('sim.event_from.burst.server_cpu', burst.events / ((burstCpu.user + burstCpu.system) / 1e6), 'events/cpu-s', 50_000)
    console.log(`# burst: ${burst.events} events (${(burst.bytes / 1e6).toFixed(1)} MB) in ${burst.ms.toFixed(0)} ms after ${changes} changes; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)

    // live: the simulator keeps changing objects while the client (another process) follows with
    // event.from. Changes are made in batches straight on the pool database, and the time spent
    // making them is measured apart, so the figure is what the simulator serves, not what this
    // generator manages to produce on a shared machine.
    const objects = classes.flatMap((cls) => [...state.db.table(cls).keys()].map((ref) => [cls, ref] as const))
    // changes arrive at a steady 60,000/s (above the goal), spread over 56k distinct objects so
    // coalescing does not hide any: the question is whether event.from keeps up
    const RATE = 60_000
    let stop = false
    let produced = 0
    let producerCpu = 0
    const producer = (async () => {
      let i = 0
      let last = performance.now()
      while (!stop) {
        // at most 100 ms worth per tick: a stalled loop must not turn into a catch-up avalanche
        const now = performance.now()
        const n = Math.floor((Math.min(now - last, 100) / 1000) * RATE)
        last = now
        const c = process.cpuUsage()
        for (let k = 0; k < n; k++, produced++) {
          const [cls, ref] = objects[i++ % objects.length] ?? ['VM_metrics', '']
          state.db.update(cls, ref, { other_config: { bench: String(i) } })
        }
        const d = process.cpuUsage(c)
        producerCpu += (d.user + d.system) / 1000
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    let received = 0
    let bytes = 0
    const live0 = process.cpuUsage()
    t0 = performance.now()
    while (performance.now() - t0 < 5000) {
      const b = await client.eventFrom(session, classes, token, 1)
      token = b.token
      received += b.events
      bytes += b.bytes
    }
    const liveMs = performance.now() - t0
    stop = true
    await producer
    const liveCpu = process.cpuUsage(live0)
    const serverCpu = (liveCpu.user + liveCpu.system) / 1000 - producerCpu
    bench('sim.event_from.live', received / (liveMs / 1000), 'events/s', 50_000)
    bench('sim.event_from.live.server_cpu', received / (serverCpu / 1000), 'events/cpu-s', 50_000)
    bench('sim.event_from.live.server_cpu_share', serverCpu / liveMs, 'cpu-s/s')
    bench('sim.event_from.live.produced', produced / (liveMs / 1000), 'changes/s')
    bench('sim.event_from.live.producer_cpu_share', producerCpu / liveMs, 'cpu-s/s')
    console.log(
      `# live: ${received} events (${(bytes / 1e6).toFixed(1)} MB) received, ${produced} changes made (target ${RATE}/s) in ${liveMs.toFixed(0)} ms; server ${serverCpu.toFixed(0)} ms CPU, generator ${producerCpu.toFixed(0)} ms CPU; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    )
  } finally {
    client.close()
    await sim.stop()
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})

/**
 * `npm run sim -- --fleet demo [--port N] [--ssh-port N] [--op-ms N] [--seed N] [--state-dir DIR (default: a per-fleet dir under the OS temp dir, kept)]
 *                 [--fault KIND[:ARG][@METHOD][#POOL]]… [--vnc VM_NAME=HOST:PORT]…`
 *
 * First stdout line: one JSON object describing the fleet (URLs, credentials, fingerprints).
 * Then log lines. Commands on stdin (one per line): fail-master POOL · restart-toolstack POOL ·
 * rotate-cert ADDRESS · rotate-hostkey ADDRESS · expire-sessions POOL · fault SPEC · clear-faults · quit.
 * Ctrl-C / SIGTERM stop it cleanly.
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { buildFleet, type BuildFleetOptions } from './fleet'
import { setTransferRate, startSimulator } from './index'
import type { FleetName, SimControl, SimFault } from './model'

const FLEETS: readonly FleetName[] = ['tiny', 'demo', 'bench-10k', 'many-pools', 'huge']

export interface FaultSpec {
  fault: SimFault
  pool?: string
}

/** KIND[:ARG][@METHOD][#POOL], e.g. delay:500@VM.get_all_records#Lab, huge-response:300000000, deep-value:12000@VM.get_all_records */
export function parseFaultSpec(spec: string): FaultSpec {
  const m = /^([a-z0-9-]+)(?::([0-9]+))?(?:@([A-Za-z0-9_.]+))?(?:#(.+))?$/.exec(spec.trim())
  if (!m || !m[1]) throw new Error(`bad --fault ${JSON.stringify(spec)}: expected KIND[:ARG][@METHOD][#POOL]`)
  const [, kind, arg, method, pool] = m
  const n = arg === undefined ? undefined : Number(arg)
  let fault: SimFault
  switch (kind) {
    case 'delay':
      fault = { kind, ms: n ?? 1000 }
      break
    case 'huge-response':
      fault = { kind, bytes: n ?? 300 * 1024 * 1024 }
      break
    case 'trickle':
      fault = { kind, bytesPerSecond: n ?? 100 }
      break
    case 'deep-value':
      fault = { kind, levels: n ?? 12_000 }
      break
    case 'drop-mid-response':
    case 'truncated-xml':
    case 'html-502':
    case 'http-500':
    case 'invalid-utf8':
      fault = { kind }
      break
    default:
      throw new Error(`unknown fault kind ${JSON.stringify(kind)} (delay, drop-mid-response, truncated-xml, html-502, http-500, invalid-utf8, huge-response, trickle, deep-value)`)
  }
  if (method) fault.method = method
  return pool ? { fault, pool } : { fault }
}

interface CliOptions {
  fleet: FleetName
  port?: number
  sshPort?: number
  opMs?: number
  seed?: number
  /** `huge` only: the share of its 200 pools (--scale 0.25 → 50 pools) */
  scale?: number
  stateDir?: string
  /** bytes per second of every export and import (--transfer-rate) */
  transferRate?: number
  faults: FaultSpec[]
  vnc: NonNullable<BuildFleetOptions['externalConsoles']>
}

export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { fleet: 'demo', faults: [], vnc: {} }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ''
    const [flag, inline] = a.includes('=') && a.startsWith('--') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
    const value = (): string => {
      const v = inline ?? argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    const int = (): number => {
      const v = value()
      const n = Number(v)
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, got ${JSON.stringify(v)}`)
      return n
    }
    switch (flag) {
      case '--fleet': {
        const f = value()
        if (!(FLEETS as readonly string[]).includes(f)) throw new Error(`unknown fleet ${JSON.stringify(f)} (${FLEETS.join(', ')})`)
        o.fleet = f as FleetName
        break
      }
      case '--port':
        o.port = int()
        break
      case '--ssh-port':
        o.sshPort = int()
        break
      case '--op-ms':
        o.opMs = int()
        break
      case '--seed':
        o.seed = int()
        break
      case '--scale': {
        const v = value()
        const n = Number(v)
        if (!(n > 0 && n <= 1)) throw new Error(`--scale needs a number more than 0 and at most 1, got ${JSON.stringify(v)}`)
        o.scale = n
        break
      }
      case '--state-dir':
        o.stateDir = value()
        break
      case '--transfer-rate':
        o.transferRate = int()
        break
      case '--fault':
        o.faults.push(parseFaultSpec(value()))
        break
      case '--vnc': {
        const v = value()
        const m = /^(.+)=([^=:]+):(\d+)$/.exec(v)
        if (!m || !m[1] || !m[2]) throw new Error(`bad --vnc ${JSON.stringify(v)}: expected VM_NAME=HOST:PORT`)
        o.vnc[m[1]] = { host: m[2], port: Number(m[3]) }
        break
      }
      case '--help':
      case '-h':
        process.stdout.write(`${usage()}\n`)
        process.exit(0)
        break
      default:
        throw new Error(`unknown argument ${JSON.stringify(a)}\n${usage()}`)
    }
  }
  return o
}

function usage(): string {
  return 'usage: npm run sim -- --fleet tiny|demo|bench-10k|many-pools|huge [--scale 0<S≤1 (huge: share of its 200 pools)] [--port N] [--ssh-port N] [--op-ms N] [--seed N] [--state-dir DIR] [--transfer-rate BYTES_PER_S] [--fault KIND[:ARG][@METHOD][#POOL]]... [--vnc VM_NAME=HOST:PORT]...'
}

export function describeFleet(sim: SimControl): string {
  return JSON.stringify({
    fleet: sim.fleet.name,
    pools: sim.pools.map((p) => ({
      name: p.name,
      xapiRelease: p.xapiRelease,
      jsonRpc: p.jsonRpc,
      masterUrl: p.masterUrl,
      memberUrls: p.memberUrls,
      username: p.username,
      password: p.password,
      hosts: p.hosts.map((h) => ({ name: h.name, address: h.address, url: h.url, fingerprint256: h.fingerprint256, sshFingerprint: h.sshFingerprint })),
    })),
    sshPort: sim.sshPort,
  })
}

async function command(sim: SimControl, line: string, log: (s: string) => void): Promise<boolean> {
  const [cmd = '', ...rest] = line.trim().split(/\s+/)
  const arg = rest.join(' ')
  const pool = () => sim.pool(arg)
  switch (cmd) {
    case '':
      return true
    case 'fail-master':
      log(`new master: ${await pool().failMaster()}`)
      return true
    case 'restart-toolstack':
      await pool().restartToolstack()
      return true
    case 'expire-sessions':
      pool().expireAllSessions()
      log(`${arg}: sessions expired`)
      return true
    case 'rotate-cert': {
      const p = sim.pools.find((x) => x.hosts.some((h) => h.address === arg))
      if (!p) throw new Error(`no host at ${arg}`)
      log(`${arg}: ${await p.rotateCertificate(arg)}`)
      return true
    }
    case 'rotate-hostkey': {
      const p = sim.pools.find((x) => x.hosts.some((h) => h.address === arg))
      if (!p) throw new Error(`no host at ${arg}`)
      log(`${arg}: SSH host key ${p.rotateHostKey(arg)}`)
      return true
    }
    case 'fault': {
      const f = parseFaultSpec(arg)
      for (const p of f.pool ? [sim.pool(f.pool)] : sim.pools) p.injectFault(f.fault)
      log(`fault ${JSON.stringify(f.fault)} on ${f.pool ?? 'every pool'}`)
      return true
    }
    case 'clear-faults':
      for (const p of sim.pools) p.clearFaults()
      log('faults cleared')
      return true
    case 'quit':
    case 'exit':
      return false
    default:
      log(`unknown command ${JSON.stringify(cmd)} (fail-master POOL, restart-toolstack POOL, rotate-cert ADDRESS, rotate-hostkey ADDRESS, expire-sessions POOL, fault SPEC, clear-faults, quit)`)
      return true
  }
}

async function main(): Promise<void> {
  let opts: CliOptions
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(2)
  }
  const log = (s: string): void => {
    process.stdout.write(`${new Date().toISOString()} ${s}\n`)
  }
  const fleetOpts: BuildFleetOptions = { externalConsoles: opts.vnc }
  if (opts.seed !== undefined) fleetOpts.seed = opts.seed
  if (opts.opMs !== undefined) fleetOpts.opDurationMs = opts.opMs
  if (opts.scale !== undefined) {
    if (opts.fleet !== 'huge') {
      process.stderr.write(`--scale only applies to the huge fleet, not ${opts.fleet}\n`)
      process.exit(2)
    }
    fleetOpts.scale = opts.scale
  }
  const fleet = buildFleet(opts.fleet, fleetOpts)
  // certificates persist per fleet between runs, so a client that trusted a host once keeps
  // trusting it (and a big fleet starts without making 100 key pairs again)
  const startOpts: Parameters<typeof startSimulator>[0] = { fleet, log, stateDir: opts.stateDir ?? join(tmpdir(), 'xenpilot-sim-state', opts.fleet) }
  if (opts.port !== undefined) startOpts.port = opts.port
  if (opts.sshPort !== undefined) startOpts.sshPort = opts.sshPort
  // the JSON line comes first: startup logs wait for it
  const early: string[] = []
  let sink = (s: string): void => {
    early.push(s)
  }
  startOpts.log = (s) => sink(s)
  const sim = await startSimulator(startOpts)
  for (const f of opts.faults) for (const p of f.pool ? [sim.pool(f.pool)] : sim.pools) p.injectFault(f.fault)
  // exports and imports at a watchable pace (0: as fast as possible)
  if (opts.transferRate) for (const p of sim.pools) setTransferRate(p, opts.transferRate)
  process.stdout.write(`${describeFleet(sim)}\n`)
  sink = log
  for (const l of early) log(l)
  for (const f of opts.faults) log(`fault ${JSON.stringify(f.fault)} on ${f.pool ?? 'every pool'}`)
  let stopping = false
  const stop = async (why: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log(`stopping (${why})`)
    await sim.stop()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
  {
    const rl = createInterface({ input: process.stdin })
    rl.on('line', (line) => {
      command(sim, line, log)
        .then((keep) => {
          if (!keep) void stop('quit')
        })
        .catch((e: unknown) => log(`error: ${e instanceof Error ? e.message : String(e)}`))
    })
  }
}

const invokedDirectly = process.argv[1] !== undefined && /cli\.(ts|js|mjs)$/.test(process.argv[1])
if (invokedDirectly) {
  main().catch((e: unknown) => {
    process.stderr.write(`simulator failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exit(1)
  })
}

/**
 * The XAPI simulator: every host of every pool of a fleet listens with HTTPS on its own loopback
 * address and the fleet's one shared port, with its own self-signed certificate (EC P-256,
 * SAN IP:<address>, cached in stateDir).
 *
 *   const sim = await startSimulator({ fleet: buildFleet('demo') })
 *   const p = sim.pool('Lab'); p.masterUrl; p.hosts[0].fingerprint256; await sim.stop()
 *
 * Per host: XML-RPC on POST to any path, JSON-RPC on POST /jsonrpc (legacy releases: that path
 * falls to the XML-RPC handler, as on real old hosts), CONNECT /console and GET /console with a
 * WebSocket upgrade, GET /rrd_updates. Members answer HOST_IS_SLAVE [master address].
 *
 * SimPoolHandle.call(method, params) calls in-process as pool admin: `params` WITHOUT the session
 * (it is added), XAPI value model in and out (event.from gives {events, valid_ref_counts, token}),
 * failures thrown as SimXapiError. poolStateOf(handle) exposes the live PoolState for benchmarks.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimXapiError, type SimControl, type SimFault, type SimHostHandle, type SimPoolHandle, type SimValue, type StartSimulatorOptions } from './model'
import { hostCertificate, hostCertificates } from './server/certs'
import { dispatch } from './server/dispatch'
import { batchToValue } from './server/events'
import { FaultSet } from './server/faults'
import { HostServer } from './server/http'
import { linkFleet } from './server/migrate'
import { PoolState } from './server/pool'
import { closeDisks } from './server/disks'
import { setTransferRate as setPoolTransferRate } from './server/transfer-http'
import { SimSshServer } from './ssh/server'

export { SimXapiError } from './model'
export type { SimControl, SimPoolHandle, SimHostHandle, SimFault, StartSimulatorOptions } from './model'

interface HostRuntime {
  handle: SimHostHandle
  server: HostServer
  ssh: SimSshServer
}

class PoolRuntime implements SimPoolHandle {
  readonly name: string
  readonly username: string
  readonly password: string
  readonly jsonRpc: boolean
  readonly xapiRelease: string
  readonly faults = new FaultSet()
  readonly runtimes: HostRuntime[] = []

  constructor(
    readonly state: PoolState,
    public port: number,
    private readonly stateDir: string,
  ) {
    this.name = state.spec.name
    this.username = state.spec.username
    this.password = state.spec.password
    this.jsonRpc = state.spec.jsonRpc
    this.xapiRelease = state.spec.xapiRelease
  }

  get uuid(): string {
    return String(this.state.poolRecord['uuid'])
  }
  get ref(): string {
    return this.state.poolRef
  }
  get objects() {
    return this.state.db.tables
  }
  get hosts(): SimHostHandle[] {
    return this.runtimes.map((r) => r.handle)
  }
  private urlOf(address: string): string {
    return `https://${address}:${this.port}`
  }
  get masterUrl(): string {
    return this.urlOf(this.state.masterAddress)
  }
  get memberUrls(): string[] {
    const master = this.state.masterRef
    return this.runtimes.filter((r) => r.handle.ref !== master).map((r) => r.handle.url)
  }

  async call(method: string, params: SimValue[]): Promise<SimValue> {
    const base = method.startsWith('Async.') ? method.slice(6) : method
    const m = this.state.schema.methods.get(base)
    const full = m?.hasSession ? [this.state.adminSession, ...params] : params
    const r = await dispatch(this.state, { hostRef: this.state.masterRef }, method, full)
    switch (r.kind) {
      case 'error':
        throw new SimXapiError(r.description)
      case 'bare':
        return r.items
      case 'batch':
        return batchToValue(this.state.db, r.batch)
      case 'value':
        return r.value
    }
  }

  async failMaster(): Promise<string> {
    const old = this.state.masterRef
    const next = this.runtimes.find((r) => r.handle.ref !== old && r.server.isListening)
    if (!next) throw new Error(`pool ${this.name} has no member to promote`)
    const oldRt = this.runtimes.find((r) => r.handle.ref === old)
    if (oldRt) await oldRt.server.close()
    this.state.db.update('pool', this.state.poolRef, { master: next.handle.ref })
    const metrics = this.state.db.get('host', old)?.['metrics']
    if (typeof metrics === 'string') this.state.db.updateIfExists('host_metrics', metrics, { live: false })
    this.state.log(`${this.name}: master ${oldRt?.handle.address ?? old} failed; ${next.handle.address} promoted`)
    return next.handle.address
  }

  async restartToolstack(): Promise<void> {
    this.state.restartToolstack()
    this.state.log(`${this.name}: toolstack restarted (sessions, tokens and tasks invalidated)`)
  }

  async rotateCertificate(hostAddress: string): Promise<string> {
    const rt = this.runtimes.find((r) => r.handle.address === hostAddress)
    if (!rt) throw new Error(`pool ${this.name} has no host at ${hostAddress}`)
    const cert = await hostCertificate(this.stateDir, hostAddress, true)
    rt.server.setCertificate(cert)
    this.state.certificates.set(rt.handle.ref, cert.certPem)
    rt.handle.certPem = cert.certPem
    rt.handle.fingerprint256 = cert.fingerprint256
    this.state.log(`${hostAddress}: certificate rotated, now ${cert.fingerprint256}`)
    return cert.fingerprint256
  }

  expireAllSessions(): void {
    this.state.expireAllSessions()
  }

  rotateHostKey(hostAddress: string): string {
    const rt = this.runtimes.find((r) => r.handle.address === hostAddress)
    if (!rt) throw new Error(`pool ${this.name} has no host at ${hostAddress}`)
    rt.handle.sshFingerprint = rt.ssh.rotateKey()
    rt.handle.sshPublicKey = rt.ssh.publicKeyLine
    this.state.log(`${hostAddress}: SSH host key rotated, now ${rt.handle.sshFingerprint}`)
    return rt.handle.sshFingerprint
  }

  authorizeSshKey(publicKey: string): void {
    for (const r of this.runtimes) r.ssh.authorize(publicKey)
  }

  setClockSkew(hostAddress: string, ms: number): void {
    const spec = this.state.spec.hosts.find((h) => h.address === hostAddress)
    if (!spec) throw new Error(`pool ${this.name} has no host at ${hostAddress}`)
    spec.clockSkewMs = ms
    this.state.log(`${hostAddress}: clock set ${ms} ms from the real time`)
  }

  injectFault(fault: SimFault, opts?: { once?: boolean; hostAddress?: string }): void {
    this.faults.add(fault, opts)
  }

  clearFaults(): void {
    this.faults.clear()
  }
}

/** pace the pool's exports and imports (bytes per second, 0 = unpaced): the demo slows them so progress shows */
export function setTransferRate(handle: SimPoolHandle, bytesPerSecond: number): void {
  const state = poolStateOf(handle)
  if (state) setPoolTransferRate(state, bytesPerSecond)
}

/** the live state behind a pool handle (benchmarks and the simulator's own tests drive it directly) */
export function poolStateOf(handle: SimPoolHandle): PoolState | undefined {
  return handle instanceof PoolRuntime ? handle.state : undefined
}

export async function startSimulator(opts: StartSimulatorOptions): Promise<SimControl> {
  const log = opts.log ?? (() => {})
  const ownDir = opts.stateDir === undefined
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'xenpilot-sim-')))
  const fleet = opts.fleet
  const addresses = fleet.pools.flatMap((p) => p.hosts.map((h) => h.address))
  const dup = addresses.find((a, i) => addresses.indexOf(a) !== i)
  if (dup) throw new Error(`fleet ${fleet.name}: address ${dup} is used by two hosts`)
  const certs = await hostCertificates(stateDir, addresses)

  const pools: PoolRuntime[] = []
  for (const spec of fleet.pools) {
    const state = new PoolState(spec, fleet.opDurationMs, log)
    const rt = new PoolRuntime(state, 0, stateDir)
    for (const h of spec.hosts) {
      const cert = certs.get(h.address)
      if (!cert) throw new Error(`no certificate for ${h.address}`)
      const rec = state.db.get('host', h.ref)
      const handle: SimHostHandle = {
        ref: h.ref,
        uuid: String(rec?.['uuid'] ?? ''),
        name: String(rec?.['name_label'] ?? h.address),
        address: h.address,
        url: '',
        fingerprint256: cert.fingerprint256,
        certPem: cert.certPem,
        sshFingerprint: '',
        sshPublicKey: '',
      }
      const ssh = new SimSshServer(state, h, stateDir)
      handle.sshFingerprint = ssh.fingerprint
      handle.sshPublicKey = ssh.publicKeyLine
      rt.runtimes.push({ handle, server: new HostServer(state, h, cert, rt.faults), ssh })
      state.certificates.set(h.ref, cert.certPem)
    }
    state.onRestart = () => {
      for (const r of rt.runtimes) r.server.dropConnections()
    }
    pools.push(rt)
  }
  const all = pools.flatMap((p) => p.runtimes)
  // cross-pool migration: a pool finds the destination of a migrate_receive dest map
  linkFleet(pools.map((p) => p.state))

  const closeAll = async (): Promise<void> => {
    for (const p of pools) p.state.restartSignal.abort()
    await Promise.all(all.filter((r) => r.server.isListening).map((r) => r.server.close()))
    await Promise.all(all.filter((r) => r.ssh.isListening).map((r) => r.ssh.close()))
  }

  let port = opts.port ?? 0
  for (let attempt = 0; ; attempt++) {
    try {
      const first = all[0]
      if (!first) break
      port = await first.server.listen(port)
      await Promise.all(all.slice(1).map((r) => r.server.listen(port)))
      break
    } catch (e) {
      await closeAll()
      const inUse = e instanceof Error && 'code' in e && (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
      if (!inUse || opts.port !== undefined || attempt >= 5) {
        if (ownDir) await rm(stateDir, { recursive: true, force: true })
        throw e
      }
      port = 0
    }
  }
  // every host's sshd on one more shared port (a fixed --ssh-port, or the first free one)
  let sshPort = opts.sshPort ?? 0
  const firstSsh = all[0]
  if (firstSsh) {
    try {
      sshPort = await firstSsh.ssh.listen(sshPort)
      await Promise.all(all.slice(1).map((r) => r.ssh.listen(sshPort)))
    } catch (e) {
      await closeAll()
      if (ownDir) await rm(stateDir, { recursive: true, force: true })
      throw e
    }
  }
  for (const p of pools) {
    p.port = port
    for (const r of p.runtimes) r.handle.url = `https://${r.handle.address}:${port}`
  }
  log(`simulator: fleet ${fleet.name}, ${pools.length} pools, ${all.length} hosts on port ${port} (sshd on ${sshPort})`)

  let stopped = false
  return {
    fleet,
    pools,
    pool(name: string): SimPoolHandle {
      const p = pools.find((x) => x.name === name)
      if (!p) throw new Error(`no pool named ${JSON.stringify(name)} in fleet ${fleet.name} (pools: ${pools.map((x) => x.name).join(', ')})`)
      return p
    },
    sshPort,
    async stop(): Promise<void> {
      if (stopped) return
      stopped = true
      await closeAll()
      await Promise.all(pools.map((p) => closeDisks(p.state)))
      if (ownDir) await rm(stateDir, { recursive: true, force: true })
      log('simulator: stopped')
    },
  }
}

/**
 * Boundary types of the XAPI simulator. Records are kept in XAPI's own value model, close to the
 * wire, and encoded type-directed from the datamodel (shared/xapi/datamodel.generated.ts):
 *   int, float -> number · bool -> boolean · datetime -> string 'YYYYMMDDThh:mm:ssZ'
 *   refs -> 'OpaqueRef:<uuid>' (null ref 'OpaqueRef:NULL') · enums, strings, uuids -> string
 *   sets -> arrays · maps -> plain objects with string keys (int keys stringified)
 */
export type SimValue = string | number | boolean | SimValue[] | { [key: string]: SimValue }
export type SimRecord = Record<string, SimValue>

/** One XAPI class table: ref -> record. Class names as the API spells them ('VM', 'host'). */
export type SimTable = Map<string, SimRecord>

export interface SimNumaTopology {
  /** e.g. 'adjacent' (siblings 2i, 2i+1) or 'split' (siblings i, i + n/2) */
  siblingNumbering: 'adjacent' | 'split'
  sockets: number
  nodes: number
  coresPerSocket: number
  threadsPerCore: number
  /** MiB per node as `xl info -n` memsize; node 0 includes the MMIO hole */
  nodeMemMiB: number[]
  /** node distance matrix, diagonal 10 */
  distances: number[][]
}

export interface SimHostSpec {
  ref: string
  /** loopback address the host listens on (127.x.y.z); also host.address */
  address: string
  numa: SimNumaTopology
  /** the host's network cards; PIF.scan introduces those that have no PIF (matched by MAC) */
  nics?: SimNic[]
  /** how far the host's clock is ahead of the real time (ms; negative: behind): host.get_servertime answers with it */
  clockSkewMs?: number
}

/** A network card of a simulated host, as networkd and the PIF_metrics monitor report it. */
export interface SimNic {
  device: string
  mac: string
  carrier: boolean
  speedMbit: number
  vendorId: string
  vendorName: string
  deviceId: string
  deviceName: string
  pciBusPath: string
}

export interface SimPoolSpec {
  name: string
  /** XAPI release emulated, a name from shared/xapi RELEASES (e.g. 'falcon' = XenServer 7.2, '25.33.0') */
  xapiRelease: string
  /** legacy hosts have no /jsonrpc */
  jsonRpc: boolean
  username: string
  password: string
  /** first is the master */
  hosts: SimHostSpec[]
  /** every object of the pool, by class */
  objects: Map<string, SimTable>
}

export interface SimFleet {
  name: string
  seed: number
  /** duration of lifecycle operations (ms); demo ~1000 with progress, tests ~0 */
  opDurationMs: number
  pools: SimPoolSpec[]
}

// ---------------------------------------------------------------------------------------------
// Running simulator handle: test/sim/index.ts `startSimulator(opts): Promise<SimControl>`.

export type FleetName = 'tiny' | 'demo' | 'bench-10k' | 'many-pools' | 'huge'

export interface StartSimulatorOptions {
  fleet: SimFleet
  /** one TCP port shared by every host of the fleet (each host has its own loopback address); 0 = pick a free one */
  port?: number
  /** one TCP port for every host's simulated sshd (test/sim/ssh); 0 / unset = pick a free one */
  sshPort?: number
  /** directory for generated certificates/keys; default a temp dir removed on stop() */
  stateDir?: string
  log?: (line: string) => void
}

export type SimFault =
  | { kind: 'delay'; ms: number; method?: string }
  | { kind: 'drop-mid-response'; method?: string }
  | { kind: 'truncated-xml'; method?: string }
  | { kind: 'html-502'; method?: string }
  | { kind: 'http-500'; method?: string }
  | { kind: 'invalid-utf8'; method?: string }
  | { kind: 'huge-response'; bytes: number; method?: string }
  /** the real answer, headers at once and the body at `bytesPerSecond` (a pool behind a failing link) */
  | { kind: 'trickle'; bytesPerSecond: number; method?: string }
  /**
   * a hostile pool: the real answer, with a value nested `levels` deep (arrays in arrays, as XAPI
   * never sends) added to the first other_config map it holds — a VM's in VM.get_all_records, the
   * record of a mod event in event.from; an answer without an other_config goes out unchanged
   */
  | { kind: 'deep-value'; levels: number; method?: string }

export interface SimHostHandle {
  ref: string
  uuid: string
  name: string
  address: string
  /** https://address:port */
  url: string
  /** SHA-256 fingerprint of the host's current certificate, 'AA:BB:…' (Node's cert.fingerprint256 form) */
  fingerprint256: string
  /** PEM of the current certificate */
  certPem: string
  /** the simulated sshd's host key, 'SHA256:…' as ssh-keygen -lf prints it */
  sshFingerprint: string
  /** …and its public key line ('ssh-ed25519 AAAA…') */
  sshPublicKey: string
}

export interface SimPoolHandle {
  name: string
  uuid: string
  ref: string
  username: string
  password: string
  port: number
  jsonRpc: boolean
  xapiRelease: string
  masterUrl: string
  memberUrls: string[]
  hosts: SimHostHandle[]
  /** in-process call as pool admin (no HTTP), XAPI value model in and out; throws SimXapiError */
  call(method: string, params: SimValue[]): Promise<SimValue>
  /** the pool's live tables (read only for callers) */
  objects: Map<string, SimTable>
  /** master stops answering; a member is promoted (pool.master changes); returns the new master's address */
  failMaster(): Promise<string>
  /** tokens and task refs become invalid, sessions are dropped */
  restartToolstack(): Promise<void>
  /** a fresh self-signed certificate for that host; returns the new fingerprint256 */
  rotateCertificate(hostAddress: string): Promise<string>
  expireAllSessions(): void
  /** a fresh SSH host key for that host's sshd; returns its new 'SHA256:…' fingerprint */
  rotateHostKey(hostAddress: string): string
  /** root may log in to every host of the pool with this public key (an OpenSSH public key line) */
  authorizeSshKey(publicKey: string): void
  /** set how far that host's clock is ahead of the real time (ms; negative: behind), as host.get_servertime reports it */
  setClockSkew(hostAddress: string, ms: number): void
  /** faults apply to this pool's hosts until cleared ('once' faults clear themselves after one hit) */
  injectFault(fault: SimFault, opts?: { once?: boolean; hostAddress?: string }): void
  clearFaults(): void
}

export interface SimControl {
  fleet: SimFleet
  pools: SimPoolHandle[]
  pool(name: string): SimPoolHandle
  /** the port every host's simulated sshd listens on (each on its own address) */
  sshPort: number
  stop(): Promise<void>
}

/** A XAPI failure raised inside the simulator: ErrorDescription = [code, ...params]. */
export class SimXapiError extends Error {
  constructor(public readonly description: string[]) {
    super(description.join(' '))
  }
}

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

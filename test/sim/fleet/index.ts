// OWNER: fleets helper. Boundary signature fixed by the lead; implementation replaces this body.
import type { FleetName, SimFleet } from '../model'

export interface BuildFleetOptions {
  seed?: number
  opDurationMs?: number
  /** first two octets of the fleet's loopback addresses, e.g. '127.77' → hosts 127.77.<pool>.<host> */
  addressBase?: string
  /** put a real VNC server (host:port) behind this VM's console (by name_label) */
  externalConsoles?: Record<string, { host: string; port: number }>
}

export function buildFleet(name: FleetName, opts: BuildFleetOptions = {}): SimFleet {
  throw new Error(`buildFleet(${name}, ${JSON.stringify(opts)}): not implemented yet`)
}

// OWNER: NUMA helper. Boundary signature fixed by the lead; implementation replaces this body.
import type { SimHostSpec, SimPoolSpec } from './model'

/** host.call_plugin(host, 'xenpilot_numa', fn, args) as the dom0 plugin in build/ answers it (a JSON string). */
export function numaPluginCall(fn: string, args: Record<string, string>, ctx: { host: SimHostSpec; pool: SimPoolSpec }): string {
  throw new Error(`numa plugin ${fn} ${JSON.stringify(args)} on ${ctx.host.address}: not implemented yet`)
}

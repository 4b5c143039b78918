/**
 * The data-source calls of host and VM (xapi_host.ml / xapi_vm.ml → xcp-rrdd), with XAPI's checks:
 * - VM.get_data_sources / record_data_source / forget_data_source_archives run under the VM
 *   operation `data_source_op`, allowed only while the VM is running: VM_BAD_POWER_STATE
 *   [vm, "running", actual] otherwise. query_data_source allows running and paused.
 * - record_data_source of a name the object has no live source for: rrdd's Datasource_missing,
 *   which xapi passes on as INTERNAL_ERROR.
 * Spread into CUSTOM_HANDLERS (handlers.ts).
 */
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import { dataSources, forgetDataSource, queryDataSource, recordDataSource, type RrdObject } from '../rrd'
import type { Handler } from './generic'
import type { PoolState } from './pool'

const str = (v: SimValue | undefined): string => (typeof v === 'string' ? v : String(v ?? ''))
const nowS = (): number => Math.floor(Date.now() / 1000)

function missing(name: string): SimXapiError {
  return new SimXapiError(['INTERNAL_ERROR', `Rrd_interface.Rrdd_error([S(Datasource_missing), S(${name})])`])
}

function vmObject(pool: PoolState, ref: string, allowed: readonly string[]): RrdObject {
  const rec: SimRecord = pool.db.must('VM', ref)
  const power = str(rec['power_state'])
  if (!allowed.includes(power)) throw new SimXapiError(['VM_BAD_POWER_STATE', ref, allowed.map((p) => p.toLowerCase()).join(', '), power.toLowerCase()])
  return { kind: 'vm', rec }
}

function hostObject(pool: PoolState, ref: string): RrdObject {
  return { kind: 'host', rec: pool.db.must('host', ref) }
}

const records = (pool: PoolState, o: RrdObject): SimValue[] => dataSources(pool.spec, o, nowS()).map((d) => ({ ...d }))

export const RRD_CALL_HANDLERS: Record<string, Handler> = {
  'host.get_data_sources': (pool, [host]) => records(pool, hostObject(pool, str(host))),
  'host.record_data_source': (pool, [host, name]) => {
    if (!recordDataSource(pool.spec, hostObject(pool, str(host)), str(name), nowS())) throw missing(str(name))
    return ''
  },
  'host.query_data_source': (pool, [host, name]) => {
    const v = queryDataSource(pool.spec, hostObject(pool, str(host)), str(name), nowS())
    if (v === undefined) throw missing(str(name))
    return v
  },
  'host.forget_data_source_archives': (pool, [host, name]) => {
    forgetDataSource(pool.spec, hostObject(pool, str(host)), str(name))
    return ''
  },
  'VM.get_data_sources': (pool, [vm]) => records(pool, vmObject(pool, str(vm), ['Running'])),
  'VM.record_data_source': (pool, [vm, name]) => {
    if (!recordDataSource(pool.spec, vmObject(pool, str(vm), ['Running']), str(name), nowS())) throw missing(str(name))
    return ''
  },
  'VM.query_data_source': (pool, [vm, name]) => {
    const v = queryDataSource(pool.spec, vmObject(pool, str(vm), ['Running', 'Paused']), str(name), nowS())
    if (v === undefined) throw missing(str(name))
    return v
  },
  'VM.forget_data_source_archives': (pool, [vm, name]) => {
    forgetDataSource(pool.spec, vmObject(pool, str(vm), ['Running']), str(name))
    return ''
  },
}

/**
 * Hand-written behaviour for the messages that are not plain field access: sessions, events,
 * tasks, messages, host queries and plug-ins, plus the lifecycle tables.
 */
import { ENUMS } from '../../../shared/xapi/datamodel.generated'
import { SimXapiError, type SimValue } from '../model'
import { numaPluginCall } from '../numa-plugin'
import { eventFrom, eventInject } from './events'
import type { Handler } from './generic'
import { addMessage, HOST_LIFECYCLE_HANDLERS, LIFECYCLE_HANDLERS } from './lifecycle'
import { MIGRATE_HANDLERS } from './migrate'
import { NETWORK_HANDLERS } from './network'
import { PROVISION_HANDLERS } from './provision'
import { RRD_CALL_HANDLERS } from './rrd-calls'
import { STORAGE_HANDLERS } from './storage'
import { SSH_HANDLERS } from './ssh-calls'
import { parseXapiDate, xapiDate } from './time'

function str(v: SimValue | undefined): string {
  return typeof v === 'string' ? v : ''
}

const login: Handler = (pool, [uname, pwd, , originator], call) => {
  if (!pool.isMaster(call.hostRef)) throw new SimXapiError(['HOST_IS_SLAVE', pool.masterAddress])
  if (uname !== pool.spec.username || pwd !== pool.spec.password) {
    throw new SimXapiError(['SESSION_AUTHENTICATION_FAILED', str(uname), 'Authentication failure'])
  }
  return pool.openSession(str(uname), call.hostRef, str(originator))
}

function messagesWhere(pool: Parameters<Handler>[0], keep: (rec: Record<string, SimValue>) => boolean): Record<string, SimValue> {
  const out: Record<string, SimValue> = {}
  for (const [ref, rec] of pool.db.table('message')) if (keep(rec)) out[ref] = rec
  return out
}

export const CUSTOM_HANDLERS: Record<string, Handler> = {
  'session.login_with_password': login,
  'session.slave_local_login_with_password': (pool, [uname, pwd], call) => {
    if (uname !== pool.spec.username || pwd !== pool.spec.password) {
      throw new SimXapiError(['SESSION_AUTHENTICATION_FAILED', str(uname), 'Authentication failure'])
    }
    return pool.openSession(str(uname), call.hostRef, '')
  },
  'session.logout': (pool, _args, call) => {
    pool.closeSession(call.session)
    return ''
  },
  'session.local_logout': (pool, _args, call) => {
    pool.closeSession(call.session)
    return ''
  },
  'session.get_all_subject_identifiers': () => [],

  'event.from': (pool, [classes, token, timeout]) =>
    eventFrom(pool.db, Array.isArray(classes) ? classes.map(str) : [], str(token), typeof timeout === 'number' ? timeout : 0, pool.restartSignal.signal),
  'event.inject': (pool, [cls, ref]) => eventInject(pool.db, str(cls), str(ref)),
  'event.get_current_id': (pool) => pool.db.gen,
  'event.register': () => '',
  'event.unregister': () => '',
  'event.next': () => {
    throw new SimXapiError(['SESSION_NOT_REGISTERED', ''])
  },

  'task.create': (pool, [label, description], call) => pool.tasks.create(str(label), pool.masterRef, call.session, true, str(description)).ref,
  'task.cancel': (pool, [task], call) => {
    pool.tasks.cancel(str(task), call.taskRef ?? call.session)
    return ''
  },
  'task.destroy': (pool, [task]) => {
    pool.db.must('task', str(task))
    pool.tasks.running.delete(str(task))
    pool.db.remove('task', str(task))
    return ''
  },

  'message.create': (pool, [name, priority, cls, objUuid, body]) =>
    addMessage(pool, str(name), typeof priority === 'number' ? priority : 5, str(cls), str(objUuid), str(body)),
  'message.get_since': (pool, [since]) => {
    const t = parseXapiDate(str(since))
    return messagesWhere(pool, (m) => parseXapiDate(str(m['timestamp'])) > t)
  },
  'message.get': (pool, [cls, objUuid, since]) => {
    const t = parseXapiDate(str(since))
    return messagesWhere(pool, (m) => m['cls'] === cls && m['obj_uuid'] === objUuid && parseXapiDate(str(m['timestamp'])) > t)
  },
  // xapi_message.ml: destroy_many destroys each in turn; an unknown ref stops it with HANDLE_INVALID
  // [message, ref] (the ones before it are gone, the ones after it stay), as destroy does
  'message.destroy_many': (pool, [refs]) => {
    for (const r of Array.isArray(refs) ? refs : []) {
      pool.db.must('message', str(r))
      pool.db.remove('message', str(r))
    }
    return ''
  },

  // the host's own clock (xapi_host.ml get_servertime: Date.now on that host, forwarded by the master): a host of
  // the fleet can be set ahead or behind (SimHostSpec.clockSkewMs) — the drift report's time skew
  'host.get_servertime': (pool, [host]) => {
    pool.db.must('host', str(host))
    return xapiDate(new Date(Date.now() + (pool.hostSpec(str(host))?.clockSkewMs ?? 0)))
  },
  'host.get_server_localtime': (pool, [host]) => {
    pool.db.must('host', str(host))
    return xapiDate(new Date(Date.now() + (pool.hostSpec(str(host))?.clockSkewMs ?? 0)))
  },
  'host.call_plugin': (pool, [host, plugin, fn, args]) => {
    const hostRef = str(host)
    pool.db.must('host', hostRef)
    if (plugin !== 'xenpilot_numa') throw new SimXapiError(['XENAPI_MISSING_PLUGIN', str(plugin)])
    const spec = pool.hostSpec(hostRef)
    if (!spec) throw new SimXapiError(['HANDLE_INVALID', 'host', hostRef])
    const a: Record<string, string> = {}
    if (args && typeof args === 'object' && !Array.isArray(args)) for (const [k, v] of Object.entries(args)) a[k] = str(v)
    try {
      return numaPluginCall(str(fn), a, {
        host: spec,
        pool: pool.spec,
        bootPolicy: (vmRef, domid) => {
          const b = pool.numaBootPolicy.get(vmRef)
          return b && b.domid === domid ? b.policy : undefined
        },
      })
    } catch (e) {
      if (e instanceof SimXapiError) throw e
      throw new SimXapiError(['XENAPI_PLUGIN_FAILURE', 'exception', '', e instanceof Error ? e.message : String(e)])
    }
  },
  /**
   * xapi_host.ml set_numa_affinity_policy: the host's field, then xenopsd's setting for domains
   * built from now on; running domains keep their placement (remembered in numaBootPolicy).
   */
  'host.set_numa_affinity_policy': (pool, [host, value]) => {
    const hostRef = str(host)
    const rec = pool.db.must('host', hostRef)
    const allowed = ENUMS['host_numa_affinity_policy'] ?? []
    // a value outside the enum fails argument unmarshalling, as the dispatcher's other type errors do
    if (!allowed.includes(str(value))) throw new SimXapiError(['FIELD_TYPE_ERROR', 'value'])
    const before = str(rec['numa_affinity_policy']) || 'default_policy'
    for (const [vmRef, vm] of pool.db.table('VM')) {
      if (vm['resident_on'] !== hostRef || (vm['power_state'] !== 'Running' && vm['power_state'] !== 'Paused')) continue
      const domid = typeof vm['domid'] === 'number' ? vm['domid'] : -1
      const known = pool.numaBootPolicy.get(vmRef)
      if (!known || known.domid !== domid) pool.numaBootPolicy.set(vmRef, { domid, policy: before })
    }
    pool.db.update('host', hostRef, { numa_affinity_policy: str(value) })
    return ''
  },
  'host.list_methods': (pool) => pool.schema.listMethods(),
  'host.get_server_certificate': (pool, [host]) => {
    pool.db.must('host', str(host))
    return pool.certificates.get(str(host)) ?? ''
  },
  'host.restart_agent': (pool, [host]) => {
    pool.db.must('host', str(host))
    // the call returns first; then the toolstack goes away with every session and token
    setTimeout(() => pool.restartToolstack(), 50)
    return ''
  },
  'pool.designate_new_master': (pool, [host]) => {
    const hostRef = str(host)
    pool.db.must('host', hostRef)
    if (hostRef === pool.masterRef) return ''
    setTimeout(() => {
      pool.db.update('pool', pool.poolRef, { master: hostRef })
      pool.restartToolstack()
      pool.log(`${pool.spec.name}: ${pool.hostAddress(hostRef)} designated as the new master`)
    }, 50)
    return ''
  },
  'pool.get_license_state': () => ({ edition: 'xcp-ng', expiry: 'never' }),

  ...LIFECYCLE_HANDLERS,
  ...HOST_LIFECYCLE_HANDLERS,
  ...NETWORK_HANDLERS,
  ...RRD_CALL_HANDLERS,
  ...STORAGE_HANDLERS,
  ...MIGRATE_HANDLERS,
  ...PROVISION_HANDLERS,
  ...SSH_HANDLERS,
}

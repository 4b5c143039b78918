/**
 * Real XML-RPC answers of the simulator (a tiny pool, in process), for the parser tests: event.from
 * first ('' then with the token), records whose names need escaping and hold multi-byte text and
 * a CR, sets, a single record, a SESSION_INVALID failure, and a few small answers.
 */
import { PoolState } from '../../sim/server/pool'
import { handleXmlRpc } from '../../sim/server/rpc'
import { tinyPool } from '../sim/tiny-pool'

export interface SimXmlRpcResponse {
  /** what the answer is, for test messages */
  what: string
  /** the XAPI method that produced it */
  method: string
  xml: string
}

export async function simXmlRpcResponses(): Promise<SimXmlRpcResponse[]> {
  const t = tinyPool()
  const pool = new PoolState(t.spec, 0)
  const site = { hostRef: t.refs.hosts[0] ?? '' }
  const s = (v: string): string => `<value>${v}</value>`
  const call = async (method: string, params: string[]): Promise<string> => {
    const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${p}</param>`).join('')}</params></methodCall>`
    return Buffer.concat((await handleXmlRpc(pool, site, body)).body).toString('utf8')
  }
  const login = await call('session.login_with_password', [s('root'), s('secret')])
  const sess = /<name>Value<\/name><value>(OpaqueRef:[^<]+)<\/value>/.exec(login)?.[1]
  if (!sess) throw new Error(`simulator login failed: ${login}`)
  const all = '<value><array><data><value>*</value></data></array></value>'
  const timeout = '<value><double>1.0</double></value>'
  const first = await call('event.from', [s(sess), all, s(''), timeout])
  const token = /<name>token<\/name><value>([^<]*)<\/value>/.exec(first)?.[1] ?? ''
  // names that need escaping, multi-byte text, a CR
  await call('VM.set_name_label', [s(sess), s(t.refs.halted), s('a &lt;b&gt; &amp; "c" \'d\' é 中文 😀')])
  await call('VM.set_name_description', [s(sess), s(t.refs.halted), s('line 1\nline 2 ]]&gt; &#13; end')])
  const r = (what: string, method: string, xml: string): SimXmlRpcResponse => ({ what, method, xml })
  return [
    r("event.from('')", 'event.from', first),
    r('event.from(token)', 'event.from', await call('event.from', [s(sess), all, s(token), timeout])),
    r('session.login_with_password', 'session.login_with_password', login),
    r('system.listMethods', 'system.listMethods', await call('system.listMethods', [])),
    r('VM.get_all_records', 'VM.get_all_records', await call('VM.get_all_records', [s(sess)])),
    r('host.get_all_records', 'host.get_all_records', await call('host.get_all_records', [s(sess)])),
    r('network.get_all_records', 'network.get_all_records', await call('network.get_all_records', [s(sess)])),
    r('VM.get_all', 'VM.get_all', await call('VM.get_all', [s(sess)])),
    r('VM.get_record', 'VM.get_record', await call('VM.get_record', [s(sess), s(t.refs.halted)])),
    r('VM.get_all_records, SESSION_INVALID failure', 'VM.get_all_records', await call('VM.get_all_records', [s('OpaqueRef:nope')])),
    r('host.get_servertime', 'host.get_servertime', await call('host.get_servertime', [s(sess), s(t.refs.hosts[0] ?? '')])),
  ]
}

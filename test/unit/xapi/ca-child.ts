/**
 * Run by trust-ca.test.ts in a child process started with NODE_EXTRA_CA_CERTS=<test CA>: a host
 * whose certificate that CA signed must connect with no pin and no prompt. Prints one line.
 */
import { HostTrust, PinStore } from '../../../main/xapi/trust'
import { XapiTransport } from '../../../main/xapi/transport'

const [host = '127.0.0.1', port = '0'] = process.argv.slice(2)
const trust = new HostTrust(new PinStore())
new XapiTransport({ host, port: Number(port), trust, mode: 'xml-rpc' })
  .call('system.ping', [])
  .then(
    (v) => console.log(`RESULT ok ${String(v)}`),
    (e: unknown) => console.log(`RESULT ${(e as Error).name} ${(e as Error).message}`),
  )
  .finally(() => trust.destroy())

/**
 * Server addresses (issue 12 item 6): host name, IPv4, [IPv6], each with an optional port 1–65535,
 * and a sentence for every refusal. The same check runs in the Add Server dialog (through the
 * contract's schema) and in main (the contract door and PoolManager).
 */
import { describe, expect, it } from 'vitest'
import { checkServerAddress } from '../../../shared/contract/address'
import { methods } from '../../../shared/contract'
import { parseAddress } from '../../../main/xapi/client'

describe('checkServerAddress', () => {
  it.each([
    ['xcp-ng.example.com', 'xcp-ng.example.com', 443],
    ['host1', 'host1', 443],
    ['host1:8443', 'host1', 8443],
    ['  host1.lab.  ', 'host1.lab.', 443],
    ['192.168.1.10', '192.168.1.10', 443],
    ['10.0.0.1:65535', '10.0.0.1', 65535],
    ['[fe80::1]', 'fe80::1', 443],
    ['[2001:db8::1]:8443', '2001:db8::1', 8443],
    ['[::1]', '::1', 443],
    ['[::ffff:192.0.2.1]:1', '::ffff:192.0.2.1', 1],
    ['[1:2:3:4:5:6:7:8]', '1:2:3:4:5:6:7:8', 443],
  ])('accepts %s', (input, host, port) => {
    expect(checkServerAddress(input)).toEqual({ ok: true, host, port })
  })

  it.each([
    ['', /required/i],
    ['   ', /required/i],
    ['[', /IPv6 address .*closed with “\]”/],
    ['[]', /IPv6 address .*empty/i],
    ['::::', /IPv6 address .*brackets|not a valid IPv6/i],
    ['fe80::1', /brackets/],
    ['[fe80::1', /closed with “\]”/],
    ['[::::]', /not a valid IPv6 address/],
    ['[1:2:3:4:5:6:7:8:9]', /not a valid IPv6 address/],
    ['[fe80::1]x', /after “\]”/],
    ['host:0', /port .*1 to 65535/i],
    ['host:65536', /port .*1 to 65535/i],
    ['host:', /port is missing/i],
    ['host:abc', /port .*number/i],
    [':443', /host name .*missing|before the port/i],
    ['256.1.1.1', /not a valid IPv4 address/],
    ['1.2.3', /not a valid IPv4 address/],
    ['https://host', /without “https:\/\/”/],
    ['host/path', /“\/”/],
    ['-host', /host name/i],
    ['a..b', /host name/i],
    ['ho st', /space/i],
    [`${'a'.repeat(64)}.com`, /63/],
    ['héllo', /host name/i],
  ])('refuses %j with a sentence', (input, reason) => {
    const r = checkServerAddress(input)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.reason).toMatch(reason)
      expect(r.reason).toMatch(/[.]$/) // a sentence
    }
  })

  it('the contract refuses the same addresses with the same sentence (dialog and main agree)', () => {
    const args = (address: string) => ({ address, username: 'root', password: 'x', rememberPassword: false })
    for (const bad of ['[', '::::', 'host:0', '256.1.1.1']) {
      const r = methods['connections.add'].args.safeParse(args(bad))
      expect(r.success, bad).toBe(false)
      if (!r.success) expect(r.error.issues[0]?.message).toBe((checkServerAddress(bad) as { reason: string }).reason)
    }
    expect(methods['connections.add'].args.safeParse(args('[::1]:8443')).success).toBe(true)
    expect(methods['connections.edit'].args.safeParse({ id: 'x', address: '[' }).success).toBe(false)
  })

  it('main never dials a refused address: parseAddress throws the sentence instead of reaching 127.0.0.1:443', () => {
    expect(() => parseAddress('[')).toThrow(/closed with “\]”/)
    expect(() => parseAddress('::::')).toThrow(/IPv6/)
    expect(parseAddress('[::1]:8443')).toEqual({ host: '::1', port: 8443 })
    expect(parseAddress('h:9', 80)).toEqual({ host: 'h', port: 9 })
    expect(parseAddress('h', 80)).toEqual({ host: 'h', port: 80 })
  })
})

/**
 * Malformed requests against both loopback doors (browser mode's http/WebSocket server and the
 * console bridge) get a 400/403 with a plain reason and the door stays up. `//[` as a request
 * target made `new URL()` throw before any check, killing the process; a page on ANY origin could
 * send it (`new WebSocket('ws://127.0.0.1:PORT//[')`), without the token.
 */
import { createServer, request, type Server } from 'node:http'
import { connect } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsoleBridge } from '../../../main/console/bridge'
import { createServices, type Services } from '../../../main/services'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { memorySettingsStore } from '../../../main/services/settings'
import { startWebServer, type WebServer } from '../../../main/web/server'
import { launchChromium } from '../../e2e/harness'
import { FakePools } from '../contract/fake-pools'

/** one raw HTTP/1.1 request; resolves with the status line and body the server answered */
function raw(port: number, lines: string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    let got = ''
    s.on('data', (d: Buffer) => (got += d.toString('utf8')))
    s.on('error', reject)
    s.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0), text: got }))
    s.write(lines.join('\r\n') + '\r\n\r\n')
    setTimeout(() => s.end(), 500)
  })
}

const upgrade = (port: number, target: string, origin?: string): string[] => [
  `GET ${target} HTTP/1.1`,
  `Host: 127.0.0.1:${port}`,
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
  ...(origin ? [`Origin: ${origin}`] : []),
]

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

const TARGETS = ['//[', '//[::1', 'http://[/x', '//%', '/%E0%A4%A', '/api?token=%ZZ', '//', '*', '/\u0000']

describe('hostile request targets', () => {
  let dir: string
  let services: Services
  let server: WebServer
  let bridge: ConsoleBridge
  let bridgePort = 0

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xenpilot-hostile-'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>XenPilot</title>')
    services = createServices({ pools: new FakePools(), settings: memorySettingsStore(), keychain: memoryKeychainStatus(), app: { name: 'XenPilot', version: 't', mode: 'browser', versions: {} } })
    server = await startWebServer({ services, staticDir: dir })
    bridge = new ConsoleBridge({
      source: {
        locate: () => Promise.reject(new Error('no consoles here')),
        connectTls: () => Promise.reject(new Error('no consoles here')),
        refreshSession: () => Promise.resolve(),
      },
      allowedOrigins: [server.origin],
    })
    bridgePort = (await bridge.listen()).port
  })
  afterAll(async () => {
    await bridge.stop()
    await server.close()
    await services.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('the web door answers a malformed WebSocket upgrade with 400 and a reason, and stays up', async () => {
    for (const t of TARGETS) {
      const r = await raw(server.port, upgrade(server.port, t, server.origin))
      expect([400, 403, 404], `${JSON.stringify(t)}: ${r.text}`).toContain(r.status)
      if (t.startsWith('//[') || t.startsWith('http://[')) {
        expect(r.status, t).toBe(400)
        expect(r.text).toMatch(/request target/i)
      }
    }
    expect((await get(server.port, `/?token=${server.token}`)).status).toBe(200)
  })

  it('the web door answers a malformed plain request with 400, and stays up', async () => {
    for (const t of TARGETS) {
      const r = await raw(server.port, [`GET ${t} HTTP/1.1`, `Host: 127.0.0.1:${server.port}`])
      expect([400, 403, 404, 426], `${JSON.stringify(t)}: ${r.text}`).toContain(r.status)
    }
    expect((await raw(server.port, [`GET //[ HTTP/1.1`, `Host: 127.0.0.1:${server.port}`])).status).toBe(400)
    expect((await get(server.port, `/?token=${server.token}`)).status).toBe(200)
  })

  it('the console bridge answers a malformed upgrade with 400 and a reason, and stays up', async () => {
    for (const t of TARGETS) {
      const r = await raw(bridgePort, upgrade(bridgePort, t, server.origin))
      expect([400, 403, 404], `${JSON.stringify(t)}: ${r.text}`).toContain(r.status)
    }
    const r = await raw(bridgePort, upgrade(bridgePort, '//[', server.origin))
    expect(r.status).toBe(400)
    expect(r.text).toMatch(/request target/i)
    // still listening: a well-formed request gets its usual refusal
    expect((await raw(bridgePort, upgrade(bridgePort, '/console/x', server.origin))).status).toBe(403)
  })

  it('the token is needed for every path that serves the page', async () => {
    for (const path of ['/index.html/', '//index.html', '/./index.html', '/%2e/index.html', '/assets/../index.html', '/index.html%2F', '/INDEX.HTML', '/index.html/.', '///']) {
      const r = await get(server.port, path)
      expect(r.status, path).not.toBe(200)
      expect(r.body, path).not.toContain('<title>XenPilot</title>')
    }
    expect((await get(server.port, `/index.html/?token=${server.token}`)).status).not.toBe(200)
  })

  it('a page on another origin cannot kill browser mode with new WebSocket("ws://127.0.0.1:PORT//[")', async () => {
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><title>evil</title>')
    })
    await new Promise<void>((ok) => evil.listen(0, '127.0.0.1', ok))
    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      await page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`)
      const outcome = await page.evaluate(
        ([webPort, consolePort]) =>
          Promise.all(
            [webPort, consolePort].map(
              (p) =>
                new Promise<string>((resolve) => {
                  try {
                    const ws = new WebSocket(`ws://127.0.0.1:${p}//[`)
                    ws.onerror = () => resolve('error')
                    ws.onclose = () => resolve('closed')
                    ws.onopen = () => resolve('open')
                  } catch (e) {
                    resolve(`threw: ${String(e)}`)
                  }
                }),
            ),
          ),
        [server.port, bridgePort],
      )
      expect(outcome.every((o) => o !== 'open')).toBe(true)
    } finally {
      await browser.close()
      await new Promise<void>((ok) => evil.close(() => ok()))
    }
    // both doors still answer
    expect((await get(server.port, `/?token=${server.token}`)).status).toBe(200)
    expect((await raw(bridgePort, upgrade(bridgePort, '/console/x', server.origin))).status).toBe(403)
  })
})

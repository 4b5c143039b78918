/**
 * Browser mode's http side: the page only with the token, a strict CSP on every response, the
 * right content types, and nothing outside the renderer's folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServices, type Services } from '../../../main/services'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { memorySettingsStore } from '../../../main/services/settings'
import { startWebServer, type WebServer } from '../../../main/web/server'
import { FakePools } from '../contract/fake-pools'

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function get(port: number, path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.host ? { Host: opts.host } : {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the browser-mode http server', () => {
  let dir: string
  let outside: string
  let services: Services
  let server: WebServer

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xenpilot-web-'))
    outside = mkdtempSync(join(tmpdir(), 'xenpilot-secret-'))
    writeFileSync(join(outside, 'secret.txt'), 'top secret')
    mkdirSync(join(dir, 'assets'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>XenPilot</title><script type="module" src="./assets/index-abc.js"></script>')
    writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log("hi")')
    writeFileSync(join(dir, 'assets', 'index-abc.css'), 'body{}')
    writeFileSync(join(dir, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
    writeFileSync(join(dir, 'assets', 'font.woff2'), Buffer.from([0x77, 0x4f, 0x46, 0x32]))
    writeFileSync(join(dir, 'assets', 'blob.xyz'), 'x')
    services = createServices({ pools: new FakePools(), settings: memorySettingsStore(), keychain: memoryKeychainStatus(), app: { name: 'XenPilot', version: 't', mode: 'browser', versions: {} } })
    server = await startWebServer({ services, staticDir: dir })
  })
  afterAll(async () => {
    await server.close()
    await services.close()
    rmSync(dir, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  })

  it('listens on 127.0.0.1 and prints a URL carrying a long random token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`)
    expect(server.token).toMatch(/^[0-9a-f]{64}$/)
  })

  it('serves the page with the right token, uncached, as UTF-8 HTML', async () => {
    const r = await get(server.port, `/?token=${server.token}`)
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(r.headers['cache-control']).toBe('no-store')
    expect(r.body).toContain('<title>XenPilot</title>')
    expect((await get(server.port, `/index.html?token=${server.token}`)).status).toBe(200)
  })

  it('refuses the page without the token or with a wrong one (403), saying how to get in', async () => {
    for (const path of ['/', '/index.html', '/?token=', `/?token=${'0'.repeat(64)}`, `/?token=${server.token.slice(1)}`]) {
      const r = await get(server.port, path)
      expect(r.status, path).toBe(403)
      expect(r.body).toContain('npm run web')
      expect(r.body).not.toContain('<title>')
    }
  })

  it('sends the strict Content-Security-Policy on every response, naming its own WebSocket', async () => {
    const expected =
      `default-src 'self'; script-src 'self'; connect-src 'self' ws://127.0.0.1:${server.port}; img-src 'self' data: blob:; ` +
      "style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    for (const path of [`/?token=${server.token}`, '/', '/assets/index-abc.js', '/nope']) {
      const r = await get(server.port, path)
      expect(r.headers['content-security-policy'], path).toBe(expected)
      expect(r.headers['x-content-type-options']).toBe('nosniff')
      expect(r.headers['referrer-policy']).toBe('no-referrer')
    }
  })

  it('serves the renderer’s files with their content types', async () => {
    const cases: [string, string][] = [
      ['/assets/index-abc.js', 'text/javascript; charset=utf-8'],
      ['/assets/index-abc.css', 'text/css; charset=utf-8'],
      ['/assets/logo.svg', 'image/svg+xml'],
      ['/assets/font.woff2', 'font/woff2'],
      ['/assets/blob.xyz', 'application/octet-stream'],
    ]
    for (const [path, type] of cases) {
      const r = await get(server.port, path)
      expect(r.status, path).toBe(200)
      expect(r.headers['content-type'], path).toBe(type)
    }
    expect((await get(server.port, '/assets/index-abc.js')).body).toBe('console.log("hi")')
  })

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await get(server.port, '/assets/index-abc.js', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe(String('console.log("hi")'.length))
    expect(head.body).toBe('')
    const post = await get(server.port, '/assets/index-abc.js', { method: 'POST' })
    expect(post.status).toBe(405)
  })

  it('never serves anything outside the renderer folder', async () => {
    const rel = `../${outside.split('/').pop() ?? ''}/secret.txt`
    for (const path of [`/${rel}`, `/assets/..%2F..%2F${rel.slice(3)}`, '/%2e%2e/%2e%2e/etc/passwd', '/assets/%00x', '/%E0%A4%A']) {
      const r = await get(server.port, path)
      expect([400, 404], path).toContain(r.status)
      expect(r.body).not.toContain('top secret')
    }
    expect((await get(server.port, '/assets')).status).toBe(404)
    expect((await get(server.port, '/missing.js')).status).toBe(404)
  })

  it('answers only to its own Host name (DNS rebinding)', async () => {
    const r = await get(server.port, `/?token=${server.token}`, { host: `rebind.example:${server.port}` })
    expect(r.status).toBe(403)
    expect(r.body).not.toContain('<title>')
  })

  it('says the API is a WebSocket when /api is fetched over plain http', async () => {
    expect((await get(server.port, '/api')).status).toBe(426)
  })
})

describe('the browser-mode http server without a built renderer', () => {
  it('answers the page with 503 and the command that builds it', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'xenpilot-empty-'))
    const services = createServices({ pools: new FakePools(), settings: memorySettingsStore(), keychain: memoryKeychainStatus(), app: { name: 'XenPilot', version: 't', mode: 'browser', versions: {} } })
    const server = await startWebServer({ services, staticDir: empty })
    try {
      const r = await get(server.port, `/?token=${server.token}`)
      expect(r.status).toBe(503)
      expect(r.body).toContain('npm run build:renderer')
    } finally {
      await server.close()
      await services.close()
      rmSync(empty, { recursive: true, force: true })
    }
  })
})

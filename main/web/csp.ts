/**
 * The Content-Security-Policy of the renderer page in browser mode. Scripts only from our own
 * origin (Vite emits no inline script), network only back to our own loopback server.
 */
export function browserModeCsp(port: number, extraConnectSrc: string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `connect-src 'self' ws://127.0.0.1:${port}${extraConnectSrc.map((s) => ` ${s}`).join('')}`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
}

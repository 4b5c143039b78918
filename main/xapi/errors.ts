/**
 * Typed failures of the XAPI client.
 * - XapiError: the host answered with a XAPI failure ([CODE, ...params]); `message` is a sentence
 *   for people built from the generated error catalogue, naming objects when a param is a ref.
 * - TransportError: nothing usable came back (network, TLS, HTTP status, malformed or oversized
 *   body, timeout); `kind` says which.
 * - CertificateTrustError: TLS refused because the host's certificate is unknown or changed; it
 *   carries what the user needs to decide (see ./trust).
 */
import { XAPI_ERRORS } from '../../shared/xapi/errors.generated'
import type { CertificateInfo } from '../../shared/contract/connection'

/** turns a ref into a human name ("VM “web-01”") when the caller knows the object */
export type RefDescriber = (ref: string) => string | undefined

export function firstSentence(doc: string): string {
  const m = /^(.*?[.!?])(\s|$)/.exec(doc)
  return (m?.[1] ?? doc).trim()
}

export function describeXapiFailure(code: string, params: readonly string[], describeRef?: RefDescriber): string {
  const spec = XAPI_ERRORS[code]
  const shown = params.map((p, i) => {
    const name = spec?.[0][i]
    let value = p
    if (/^OpaqueRef:/.test(p)) value = p === 'OpaqueRef:NULL' ? 'none' : (describeRef?.(p) ?? p)
    return name ? `${name}: ${value}` : value
  })
  const detail = shown.length ? ` (${shown.join('; ')})` : ''
  if (!spec) return `The server reported ${code}${detail}.`
  return `${firstSentence(spec[1])}${detail}`.replace(/\.\s*\((.*)\)$/, ' ($1).')
}

export class XapiError extends Error {
  override name = 'XapiError'
  readonly code: string
  readonly params: string[]
  /** the method that failed (for logs; never contains arguments) */
  readonly method: string | undefined

  constructor(code: string, params: readonly string[], opts: { method?: string; describeRef?: RefDescriber } = {}) {
    super(describeXapiFailure(code, params, opts.describeRef))
    this.code = code
    this.params = [...params]
    this.method = opts.method
  }

  /** builds from an ErrorDescription/error_info array, whatever its shape */
  static fromDescription(desc: unknown, opts: { method?: string; describeRef?: RefDescriber } = {}): XapiError {
    const arr = Array.isArray(desc) ? desc.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [String(desc)]
    const [code = 'UNKNOWN_ERROR', ...params] = arr
    return new XapiError(code, params, opts)
  }

  toJSON(): { code: string; params: string[]; message: string } {
    return { code: this.code, params: this.params, message: this.message }
  }
}

export type TransportErrorKind =
  | 'network' // connection refused/reset, DNS, dropped mid-response
  | 'timeout'
  | 'stalled' // the answer started but moves slower than the slow-answer rule allows (transport.ts DEFAULT_STALL)
  | 'tls' // TLS failure other than an unknown/changed certificate
  | 'http-status' // 4xx/5xx or an HTML error page
  | 'bad-response' // malformed XML/JSON, invalid UTF-8, wrong shape
  | 'too-large' // body beyond the configured cap
  | 'too-deep' // a value nested deeper than the parsers take (wire.ts MAX_NESTING)
  | 'aborted' // the caller cancelled (disconnect)
  | 'unsupported' // JSON-RPC not offered by this host (auto-detection falls back)

export class TransportError extends Error {
  override name = 'TransportError'
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    readonly details: { status?: number; code?: string; host?: string; method?: string } = {},
  ) {
    super(message)
  }
}

export class CertificateTrustError extends Error {
  override name = 'CertificateTrustError'
  constructor(
    /** awaiting-trust: never seen; cert-changed: differs from the pinned one */
    readonly outcome: 'awaiting-trust' | 'cert-changed',
    readonly certificate: CertificateInfo,
  ) {
    super(
      outcome === 'awaiting-trust'
        ? `The certificate of ${certificate.host} is not trusted yet (SHA-256 ${certificate.fingerprint256}); confirm it to continue.`
        : `The certificate of ${certificate.host} changed (was ${certificate.previousFingerprint256 ?? '?'}, now ${certificate.fingerprint256}); confirm the new one to continue.`,
    )
  }
}

export function isXapiError(e: unknown, code?: string): e is XapiError {
  return e instanceof XapiError && (code === undefined || e.code === code)
}

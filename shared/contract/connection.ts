import { z } from 'zod'

/** What a user sees of a saved server/pool connection. Never contains a password or session id. */
export const ConnectionStatus = z.enum([
  'disconnected',
  'connecting',
  'awaiting-trust',
  'cert-changed',
  'auth-failed',
  'connected',
  'reconnecting',
  'failed',
  /** a first attempt (never connected this session) could not reach the pool after a few tries; it stopped */
  'unreachable',
  /** no password for this session: XenPilot asks for one (nothing failed) */
  'password-needed',
])
export type ConnectionStatus = z.infer<typeof ConnectionStatus>

/**
 * A status as the end of "<pool> is …", for sentences outside the status badge (a refusal naming
 * the pool). The badge itself (renderer model/connection.ts connectionBadge) says more.
 */
export const STATUS_PHRASE: Record<ConnectionStatus, string> = {
  disconnected: 'disconnected',
  connecting: 'connecting',
  'awaiting-trust': 'waiting for its certificate to be trusted',
  'cert-changed': 'blocked: its certificate changed',
  'auth-failed': 'not logged in: its password was refused',
  connected: 'connected',
  reconnecting: 'reconnecting',
  failed: 'not connected: the last attempt failed',
  unreachable: 'unreachable',
  'password-needed': 'waiting for its password',
}

/** what a certificate says about itself (times ISO) */
const CertificateFields = z.object({
  fingerprint256: z.string(),
  subject: z.string(),
  issuer: z.string(),
  validFrom: z.string(),
  validTo: z.string(),
})

/** a certificate a server presented and XenPilot does not trust yet (the trust dialog) */
export const CertificateInfo = CertificateFields.extend({
  /** set when the certificate changed: what was pinned before */
  previousFingerprint256: z.string().optional(),
  /** the host address that presented it */
  host: z.string(),
})
export type CertificateInfo = z.infer<typeof CertificateInfo>

/** Where a pinned certificate came from, in the pin store (main/xapi/trust.ts PinnedCertificate.source). */
export const PinSource = z.enum([
  /** the user confirmed it in the trust dialog */
  'user',
  /** fetched through the pool's already-trusted master session (host.get_server_certificate) */
  'pool',
  /** seeded by `npm run demo` from the simulator's own report: nobody confirmed it */
  'demo',
])
export type PinSource = z.infer<typeof PinSource>

/** A pinned certificate as shown (main/xapi/trust.ts keeps it with its PEM). */
export const PinSummary = CertificateFields.extend({
  /** ISO time it was pinned */
  pinnedAt: z.string(),
  source: PinSource,
})
export type PinSummary = z.infer<typeof PinSummary>

/** One server of a saved connection and the certificate XenPilot pinned for it (connections.certificates). */
export const HostCertificate = z.object({
  /** address:port the pin is kept under */
  host: z.string(),
  /** the server's name in the pool, when the pool's objects name it */
  name: z.string().optional(),
  /** the host object's ref, when known */
  hostRef: z.string().optional(),
  /** the address XenPilot talks to (the pool master) */
  master: z.boolean(),
  /** absent: no pin (a certificate from an authority the system trusts, or a server not reached yet) */
  pin: PinSummary.optional(),
})
export type HostCertificate = z.infer<typeof HostCertificate>

export const ConnectionState = z.object({
  id: z.string(),
  /** what the user typed: host[:port] */
  address: z.string(),
  username: z.string(),
  /** pool name_label once known, else the address */
  label: z.string(),
  rememberPassword: z.boolean(),
  /** XenPilot has a password to try (remembered, or typed in this session) */
  hasPassword: z.boolean(),
  /** the keychain holds a password the pool accepted (what "Password saved" says) */
  passwordStored: z.boolean().optional(),
  forceXmlRpc: z.boolean(),
  doNotCache: z.boolean(),
  status: ConnectionStatus,
  /** human sentence for failed/auth-failed/unreachable/password-needed/reconnecting, and a failed try while connecting */
  detail: z.string().optional(),
  poolUuid: z.string().optional(),
  masterAddress: z.string().optional(),
  transport: z.enum(['json-rpc', 'xml-rpc']).optional(),
  xapiVersion: z.string().optional(),
  lastEventAt: z.string().optional(),
  /** reconnecting, or connecting after a failed try: attempt number and ISO time of the next try */
  attempt: z.number().optional(),
  nextRetryAt: z.string().optional(),
  /** awaiting-trust / cert-changed */
  certificate: CertificateInfo.optional(),
  /** ISO time of the cached inventory shown while not connected (offline cache) */
  cachedAt: z.string().optional(),
  /** ISO time the connection was last lost (offline since …) */
  offlineSince: z.string().optional(),
  /**
   * connecting / reconnecting: the call of the attempt in flight and how much of its answer came
   * (bytes 0: sent, waiting for the pool to start answering), so a slow pool is seen moving
   */
  progress: z.object({ method: z.string(), bytes: z.number().int().nonnegative(), since: z.string() }).optional(),
})
export type ConnectionState = z.infer<typeof ConnectionState>

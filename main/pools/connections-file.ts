/**
 * `<dataDir>/connections.json`: the saved servers (never a password), kept through the one
 * small-file store (main/storage/small-file.ts): a zod schema on every read, a damaged file set
 * aside and said, writes atomic, and the in-memory list changed only after the disk took it.
 */
import { join } from 'node:path'
import { z } from 'zod'
import type { SmallFileSpec } from '../storage/small-file'
import type { SavedConnection } from './connection'

export const SavedConnectionSchema = z.object({
  id: z.string().min(1),
  address: z.string().min(1),
  username: z.string(),
  rememberPassword: z.boolean().default(false),
  forceXmlRpc: z.boolean().default(false),
  doNotCache: z.boolean().default(false),
  poolUuid: z.string().optional(),
  poolName: z.string().optional(),
  masterAddress: z.string().optional(),
  memberAddresses: z.array(z.string()).default([]),
  xapiVersion: z.string().optional(),
  transport: z.enum(['json-rpc', 'xml-rpc']).optional(),
}) satisfies z.ZodType<SavedConnection, unknown>

export const ConnectionsFile = z.object({
  version: z.literal(1),
  connections: z.array(SavedConnectionSchema),
})
export type ConnectionsFile = z.infer<typeof ConnectionsFile>

export function connectionsFileSpec(dataDir: string): SmallFileSpec<ConnectionsFile> {
  return {
    file: join(dataDir, 'connections.json'),
    what: 'the saved servers',
    version: 1,
    schema: ConnectionsFile,
    empty: () => ({ version: 1, connections: [] }),
  }
}

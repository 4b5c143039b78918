/**
 * Child process of kill9.test.ts: writes numbered batches into the cache as fast as it can until
 * it is killed (or a deadline passes). Every batch rewrites the same N objects tagged with its
 * number, every fourth one as a full reset (the chunked path); after each batch is in the file it
 * prints `committed <n>`. Usage: node --import tsx kill-writer.ts <dataDir> <inline|worker>
 */
import { openInventoryCache } from '../../../main/cache'
import type { ObjectUpsert } from '../../../shared/model/diff'

const [dataDir, modeArg] = process.argv.slice(2)
if (!dataDir || (modeArg !== 'inline' && modeArg !== 'worker')) throw new Error('usage: kill-writer.ts <dataDir> <inline|worker>')
export const OBJECTS_PER_BATCH = 400
const cache = openInventoryCache({ dataDir, mode: modeArg })
const start = cache.load('pool')?.diff.seq ?? 0
const deadline = Date.now() + 60_000
const pad = 'x'.repeat(1500)
for (let b = start + 1; Date.now() < deadline; b++) {
  const upserts: ObjectUpsert[] = []
  for (let i = 0; i < OBJECTS_PER_BATCH; i++) upserts.push({ cls: 'VM', ref: `OpaqueRef:${i}`, record: { uuid: `u${i}`, name_label: `vm ${i}`, batch: b, pad } })
  cache.write({ connectionId: 'pool', seq: b, reset: b % 4 === 0, upserts, removes: [], token: `t${b}` }, { poolName: `batch ${b}`, memberAddresses: [] })
  await cache.flush()
  if (cache.status().state !== 'ok') throw new Error(`cache failed: ${JSON.stringify(cache.status().problems)}`)
  process.stdout.write(`committed ${b}\n`)
}
await cache.close()

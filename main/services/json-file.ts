/**
 * Small JSON documents in the data dir (settings, window bounds, …): read through a zod schema,
 * written atomically (temp file + rename) with mode 0600 so a crash mid-write never leaves half a
 * file and other local users cannot read it.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { z } from 'zod'
import { describeIssues } from './errors'

export type JsonFileRead<T> = { ok: true; value: T } | { ok: false; missing: boolean; problem: string }

export function readJsonFile<S extends z.ZodType>(file: string, schema: S): JsonFileRead<z.output<S>> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
    return { ok: false, missing, problem: missing ? `${file} does not exist` : `${file} could not be read: ${(err as Error).message}` }
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    return { ok: false, missing: false, problem: `${file} is not valid JSON (${(err as Error).message})` }
  }
  const parsed = schema.safeParse(data)
  if (!parsed.success) return { ok: false, missing: false, problem: `${file} has unexpected content — ${describeIssues(parsed.error)}` }
  return { ok: true, value: parsed.data }
}

export function writeJsonFile(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 })
  renameSync(tmp, file)
}

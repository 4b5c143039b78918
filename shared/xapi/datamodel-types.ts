/** Shapes of the compact datamodel emitted by scripts/gen-datamodel.ts. */

/** 'RW' read/write, 'RC' read-only set by constructor, 'RO' read-only runtime. */
export type FieldQualifier = 'RW' | 'RO' | 'RC'

/** [name, XAPI type string, qualifier, default (XAPI literal) or null, since (index in RELEASES), removed (index or -1)] */
export type FieldSpec = readonly [name: string, type: string, qualifier: FieldQualifier, dflt: string | null, since: number, removed: number]

/**
 * [name, params [[name, type]] (session param included when present), result type,
 *  flags ('i' implicit/generated, 'a' has an Async.* form), since, number of trailing params with defaults]
 */
export type MessageSpec = readonly [
  name: string,
  params: readonly (readonly [string, string])[],
  result: string,
  flags: string,
  since: number,
  optionalTail: number,
]

export interface ClassSpec {
  readonly name: string
  readonly since: number
  readonly fields: readonly FieldSpec[]
  readonly messages: readonly MessageSpec[]
}

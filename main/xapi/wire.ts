/** A value as it comes off the wire (XML-RPC or JSON-RPC), before type-directed normalisation. */
export type WireValue = string | number | boolean | null | WireValue[] | { [key: string]: WireValue }

export function isWireStruct(v: unknown): v is { [key: string]: WireValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * The deepest nesting of containers (structs/objects and arrays) a pool answer may have, counted
 * from the response's outermost one: a get_all_records answer nests 4 (the envelope, the ref →
 * record map, a record, a map field such as other_config), event.from 5. Deeper values are refused
 * by both parsers ("nested deeper than … levels"): everything downstream (normaliser, graph, cache
 * rows, the renderer's JSON) may then walk a value recursively without risking the stack.
 */
export const MAX_NESTING = 256

/** the error text both parsers use when a value goes past MAX_NESTING */
export function tooDeepMessage(): string {
  return `a value nested deeper than ${MAX_NESTING} levels (XAPI's records nest 4; refused)`
}

/** a parser's refusal of a value nested deeper than MAX_NESTING (both parsers say tooDeepMessage()) */
export function isTooDeep(e: unknown): boolean {
  return e instanceof Error && e.message.includes(tooDeepMessage())
}

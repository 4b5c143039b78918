/** A value as it comes off the wire (XML-RPC or JSON-RPC), before type-directed normalisation. */
export type WireValue = string | number | boolean | null | WireValue[] | { [key: string]: WireValue }

export function isWireStruct(v: unknown): v is { [key: string]: WireValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

// OWNER: console helper. Console methods/events of the contract (merged into shared/contract/index.ts).
export const consoleMethods = {} as const
export const consoleEvents = {} as const

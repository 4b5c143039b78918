// OWNER: NUMA helper. NUMA methods/events of the contract (merged into shared/contract/index.ts).
export const numaMethods = {} as const
export const numaEvents = {} as const

// The parts of Xen Orchestra's `xen-api` client (plain JS, no types of its own) that the simulator's
// third-party client test uses.
declare module 'xen-api' {
  import { EventEmitter } from 'node:events'

  export interface XapiObject {
    readonly $type: string
    readonly $ref: string
    readonly $id: string
    readonly [field: string]: unknown
  }

  export interface XapiOptions {
    url: string
    auth: { user: string; password: string }
    allowUnauthorized?: boolean
    readOnly?: boolean
    watchEvents?: boolean | string[]
    debounce?: number
    transport?: 'auto' | 'json-rpc' | 'xml-rpc'
  }

  export class Xapi extends EventEmitter {
    constructor(opts: XapiOptions)
    connect(): Promise<void>
    disconnect(): Promise<void>
    call(method: string, ...args: unknown[]): Promise<unknown>
    /** Async.<method>, then waits for the task; resolves with its result */
    callAsync(method: string, ...args: unknown[]): Promise<unknown>
    readonly objects: { readonly all: Record<string, XapiObject> }
    readonly objectsFetched: Promise<void>
    readonly status: string
    getObjectByRef(ref: string, defaultValue?: unknown): XapiObject
    /** GET of an HTTP handler (follows 302s); the body is an undici readable */
    getResource(pathname: string, opts?: { host?: { address?: string }; query?: Record<string, string | number>; task?: boolean }): Promise<{ statusCode: number; body: { text(): Promise<string> } }>
  }
}

/** main/console: the loopback WebSocket ⇄ TLS CONNECT /console bridge. */
export { ConsoleBridge, type ConsoleBridgeOptions, type ConsoleSource, type LocatedConsole } from './bridge'
export { PoolConsoleSource } from './pool-source'
export { ConsoleError } from './errors'
export { sendConsoleConnect, consoleConnectRequest, type ConsoleConnectReply } from './connect'

/** Electron IPC channel names (kept dependency-free: the sandboxed preload bundles only this). */
export const IPC_CALL = 'xenpilot:call'
export const IPC_EVENT = 'xenpilot:event'

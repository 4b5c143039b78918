import { activityCommands } from './activity'
import { appCommands } from './app'
import { cacheCommands } from './cache'
import { connectionCommands } from './connection'
import { hostCommands } from './host'
import { migrateCommands } from './migrate'
import { objectCommands } from './object'
import { CommandRegistry } from './registry'
import { provisionCommands } from './provision'
import { storageCommands } from './storage'
import { transferCommands } from './transfer'
import { editCommands, vmCommands } from './vm'
import { vmSettingsCommands } from './vm-settings'

/** The app's registry. Later features register their commands here (e.g. VM power commands). */
export function createRegistry(): CommandRegistry {
  const r = new CommandRegistry()
  r.register(...appCommands, ...connectionCommands, ...objectCommands, ...vmCommands, ...migrateCommands, ...hostCommands, ...editCommands, ...cacheCommands, ...activityCommands, ...storageCommands, ...transferCommands, ...provisionCommands, ...vmSettingsCommands)
  return r
}

export const commands = createRegistry()
export * from './registry'

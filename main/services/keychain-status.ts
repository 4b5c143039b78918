/**
 * Keychain states that need no negotiation: browser mode's passphrase file or in-memory store.
 * (Electron's safeStorage adapter in main/app negotiates the Linux basic_text case itself.)
 */
import type { KeychainState } from '../../shared/contract'
import type { KeychainStatusSource } from './index'

export function passphraseFileKeychainStatus(file: string): KeychainStatusSource {
  return fixed({
    backend: 'passphrase-file',
    persistent: true,
    status: 'ready',
    detail: `Remembered passwords are encrypted with XENPILOT_PASSPHRASE in ${file}.`,
  })
}

export function memoryKeychainStatus(): KeychainStatusSource {
  return fixed({
    backend: 'memory',
    persistent: false,
    status: 'ready',
    detail: 'Remembered passwords are kept in memory only and are gone when XenPilot stops. Set XENPILOT_PASSPHRASE to keep them in an encrypted file.',
  })
}

function fixed(state: KeychainState): KeychainStatusSource {
  return {
    state: () => ({ ...state }),
    acceptInsecure: async () => ({ ...state }),
  }
}

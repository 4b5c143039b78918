/**
 * Keychain states that need no negotiation: browser mode's passphrase file or in-memory store.
 * (Electron's safeStorage adapter in main/app negotiates the Linux basic_text case itself.)
 *
 * The passphrase file is opened once at start: a passphrase that does not open it is its own
 * state, 'locked' (never "ready"), with the keychain's own sentence.
 */
import type { KeychainState } from '../../shared/contract'
import type { Keychain } from '../pools/keychain'
import type { KeychainStatusSource } from './index'

export function passphraseFileKeychainStatus(file: string, keychain: Pick<Keychain, 'unusable'>): KeychainStatusSource & { ready: Promise<KeychainState> } {
  let state: KeychainState = {
    backend: 'passphrase-file',
    persistent: true,
    status: 'ready',
    detail: `Remembered passwords are encrypted with XENPILOT_PASSPHRASE in ${file}.`,
  }
  const listeners = new Set<(s: KeychainState) => void>()
  const ready = (keychain.unusable?.() ?? Promise.resolve(undefined)).then(
    (problem) => {
      if (problem) {
        state = { ...state, status: 'locked', detail: problem }
        for (const l of listeners) l({ ...state })
      }
      return { ...state }
    },
    () => ({ ...state }),
  )
  return {
    ready,
    state: () => ({ ...state }),
    acceptInsecure: async () => ({ ...state }),
    onState: (cb) => {
      listeners.add(cb)
      return () => listeners.delete(cb)
    },
  }
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

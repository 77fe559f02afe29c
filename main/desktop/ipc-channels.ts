/**
 * The only IPC channels between preload and the main process. Named one per function so the
 * renderer can never reach a generic `invoke`; import-free because preload bundles it.
 */
export const IPC = {
  connection: 'sputnik:connection',
  getAutostart: 'sputnik:get-autostart',
  setAutostart: 'sputnik:set-autostart',
  showLogsFolder: 'sputnik:show-logs-folder',
  appVersion: 'sputnik:app-version',
  quit: 'sputnik:quit',
  coreStatus: 'sputnik:core-status',
  restartCore: 'sputnik:restart-core',
} as const;

export type IpcChannel = (typeof IPC)[keyof typeof IPC];
